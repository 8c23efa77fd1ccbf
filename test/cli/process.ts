/**
 * Spawning the built CLI (dist/cli/main.js) as a real process, for the few tests that
 * need exit statuses, pipes and several processes at once.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { PROJECT } from "./harness.js";

export const BIN = join(PROJECT, "dist", "cli", "main.js");

/** Fails loudly when dist/ is missing: `npm test` builds it first; run `npm run build` otherwise. */
export function assertBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" before the end-to-end tests`);
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runBin(args: string[], opts: { stdin?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<ProcessResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? PROJECT,
      env: { PATH: process.env.PATH ?? "", ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
    child.stdin.end(opts.stdin ?? "");
  });
}
