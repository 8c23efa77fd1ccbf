import type { ArgumentsCamelCase, Argv } from "yargs";
import type { CommandSpec } from "./command.js";

/**
 * A command made of subcommands (`sessfmt sidecar info <file>`): yargs runs only the
 * handler of the subcommand it matched, so each subcommand is a CommandSpec of its own and
 * the group itself never runs.
 */
export interface CommandGroup extends CommandSpec<unknown> {
  // `any`: each subcommand has its own argument type, checked inside its own definition.
  subcommands: CommandSpec<any>[];
}

/** True for a group (it has subcommands). */
export function isCommandGroup(spec: CommandSpec<any>): spec is CommandGroup {
  return Array.isArray((spec as Partial<CommandGroup>).subcommands);
}

/** A group: `builder` adds group-wide text (examples, epilog); a subcommand must be named. */
export function defineCommandGroup(group: Omit<CommandGroup, "run">): CommandGroup {
  return {
    ...group,
    // Unreachable: the builder demands a subcommand, and yargs runs only the subcommand's handler.
    run: async () => {
      throw new Error(`${group.command}: no subcommand was run`);
    },
  };
}

/** The command (and subcommand) `argv` names, each followed by a space: "sidecar info ", "tree ", or "". */
export function commandPath(commands: readonly CommandSpec<any>[], argv: readonly string[]): string {
  const nameOf = (c: CommandSpec<any>): string | undefined => c.command.split(" ")[0];
  const spec = commands.find((c) => nameOf(c) === argv[0]);
  if (!spec) return "";
  const sub = isCommandGroup(spec) ? spec.subcommands.find((c) => nameOf(c) === argv[1]) : undefined;
  return sub ? `${argv[0]} ${argv[1]} ` : `${argv[0]} `;
}

/**
 * The yargs builder of `spec`: its own builder, then (for a group) every subcommand with
 * the handler `handlerFor` makes for it, so subcommands run exactly as top-level commands.
 */
export function builderWithSubcommands(spec: CommandSpec<any>, handlerFor: (sub: CommandSpec<any>) => (args: ArgumentsCamelCase<any>) => Promise<void>): (y: Argv) => Argv<any> {
  if (!isCommandGroup(spec)) return spec.builder;
  return (y) => {
    let built: Argv<any> = spec.builder(y);
    for (const sub of spec.subcommands) built = built.command(sub.command, sub.describe, sub.builder, handlerFor(sub));
    return built.demandCommand(1, `name a subcommand: ${spec.subcommands.map((s) => s.command.split(" ")[0]).join(", ")}`);
  };
}
