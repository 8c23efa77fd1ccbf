#!/usr/bin/env node
import { main } from "./program.js";

// A reader that closes the pipe early (`sessfmt tree big.jsonl | head`) is not an error;
// any other failure to write output ends the run with one line, not a crash.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") process.stderr.write(`sessfmt: E_IO: cannot write output: ${err.message}\n`);
  process.exit(err.code === "EPIPE" ? (process.exitCode ?? 0) : 2);
});
process.stderr.on("error", () => process.exit(process.exitCode ?? 2));

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  isTTY: process.stdout.isTTY === true,
  env: process.env,
  columns: process.stdout.columns,
});
