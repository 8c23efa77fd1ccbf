import type { ArgumentsCamelCase, Argv } from "yargs";
import type { CliIO } from "./io.js";

/** One sessfmt command: its yargs definition and what it does. */
export interface CommandSpec<T = unknown> {
  /** yargs command string, e.g. "info <file>". */
  command: string;
  describe: string;
  builder: (y: Argv) => Argv<T>;
  /** Runs the command and returns the exit code; errors thrown are reported by main. */
  run: (args: ArgumentsCamelCase<T>, io: CliIO) => Promise<number>;
}

/** Identity helper so each command's argument type is inferred from its builder. */
export function defineCommand<T>(spec: CommandSpec<T>): CommandSpec<T> {
  return spec;
}
