import { readFileSync } from "node:fs";
import yargs, { type Argv } from "yargs";
import type { CommandSpec } from "./command.js";
import { builderWithSubcommands, commandPath } from "./command-group.js";
import { appendCommand } from "./append.js";
import { indexCommand } from "./catalog.js";
import { contextCommand } from "./context.js";
import { convertCommand } from "./convert.js";
import { infoCommand } from "./info.js";
import { EXIT_OK, reportError, usageError, type CliIO } from "./io.js";
import { lsCommand } from "./ls.js";
import { migrateCommand } from "./migrate.js";
import { recoverCommand } from "./recover.js";
import { rollbackCommand } from "./rollback.js";
import { statsCommand } from "./stats.js";
import { statusCommand } from "./status.js";
import { treeCommand } from "./tree.js";
import { upgradeCommand } from "./upgrade.js";
import { validateCommand } from "./validate.js";
import { verifyCommand } from "./verify.js";
import { exportCommand } from "./export.js";
import { sidecarCommand } from "./sidecar.js";

// `any`: each command has its own argument type, checked inside its own definition.
const COMMANDS: CommandSpec<any>[] = [infoCommand, validateCommand, treeCommand, contextCommand, upgradeCommand, appendCommand];
// The catalog and store commands.
COMMANDS.push(indexCommand, lsCommand, statsCommand, convertCommand);
// The migration commands.
COMMANDS.push(statusCommand, migrateCommand, verifyCommand, rollbackCommand, recoverCommand);
// The V2 sidecar commands.
COMMANDS.push(sidecarCommand, exportCommand);

/** Package version, read from package.json (two levels up from both src/cli and dist/cli). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * yargs drops a lone "-" argument (yargs/yargs-parser#381, yargs/yargs#1312), but "-"
 * means stdin here. It travels through the parser as a token no path can contain.
 */
const STDIN_TOKEN = "\u0000stdin";

function protectDash(argv: readonly string[]): string[] {
  return argv.map((a) => (a === "-" ? STDIN_TOKEN : /^--[^=]+=-$/.test(a) ? a.slice(0, -1) + STDIN_TOKEN : a));
}

function restoreDash(args: Record<string, unknown>): Record<string, unknown> {
  const fix = (v: unknown): unknown => (v === STDIN_TOKEN ? "-" : Array.isArray(v) ? v.map(fix) : v);
  for (const key of Object.keys(args)) args[key] = fix(args[key]);
  return args;
}

/** Thrown from yargs' fail handler so parse errors leave parseAsync as rejections. */
class ParseFailure {
  constructor(readonly message: string) {}
}

/**
 * Run sessfmt with `argv` (without "node" and the script) and return the exit code.
 * Never throws and never exits: every error becomes a line on io.stderr and a code.
 */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  let exitCode = EXIT_OK;
  const hint = `see "sessfmt ${commandPath(COMMANDS, argv)}--help"`;

  const tokens = protectDash(argv);
  let parser: Argv = yargs(tokens)
    .scriptName("sessfmt")
    .usage("$0 <command> [options]\n\nRead, check and migrate pi agent session files (JSONL session trees).")
    .exitProcess(false)
    .strict()
    .version(packageVersion())
    .help()
    .alias("h", "help")
    .wrap(Math.min(100, io.columns ?? 80))
    .demandCommand(1, "no command given")
    .recommendCommands()
    .epilog(
      "Exit codes: 0 success; 1 the command ran and found problems (validate: diagnostics); " +
        "2 bad usage, or a file could not be opened or changed; 3 internal error (a bug). " +
        "Errors are one line, 'sessfmt: <code>: <message>'; set SESSFMT_DEBUG=1 for stack traces.",
    )
    .fail((msg, err) => {
      // yargs reports its own validation problems as `msg`; anything else is a real error.
      if (err && !msg) throw err;
      throw new ParseFailure(msg ?? err?.message ?? "invalid arguments");
    });

  const handlerFor = (spec: CommandSpec<any>) => async (args: Record<string, unknown>) => {
    try {
      exitCode = await spec.run(restoreDash(args) as Parameters<typeof spec.run>[0], io);
    } catch (err) {
      exitCode = reportError(io, err);
    }
  };
  for (const spec of COMMANDS) {
    parser = parser.command(spec.command, spec.describe, builderWithSubcommands(spec, handlerFor), handlerFor(spec));
  }

  try {
    let output = "";
    await parser.parseAsync(tokens, {}, (_err, _args, text) => {
      // Help and version text arrive here instead of going to the console.
      if (text) output = text;
    });
    if (output) io.stdout.write(output.endsWith("\n") ? output : output + "\n");
    return exitCode;
  } catch (err) {
    if (err instanceof ParseFailure) return reportError(io, usageError(err.message), hint);
    return reportError(io, err);
  }
}
