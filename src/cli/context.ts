import type { SessionContext } from "../format/index.js";
import { defineCommand } from "./command.js";
import { EXIT_OK, LineBuffer } from "./io.js";
import { contextFromSidecar, openForCommand, resolveLeaf, withSidecarReadOptions, type SidecarReadArgs } from "./sidecar-source.js";

export const contextCommand = defineCommand({
  command: "context <file>",
  describe: "Print what the model sees at a leaf: {messages, thinkingLevel, model}, as pi's buildSessionContext",
  builder: (y) =>
    withSidecarReadOptions(
      y
        .positional("file", { type: "string", demandOption: true, describe: "Session file (.jsonl)" })
        .option("leaf", { type: "string", describe: "Build the context at this entry (id or unique id prefix) instead of the current leaf" })
        .option("json", { type: "boolean", default: true, describe: "Output is always JSON (accepted for symmetry)" })
        .option("compact", { type: "boolean", default: false, describe: "One line instead of pretty-printed JSON" }),
    )
      .example("$0 context session.jsonl", "Context at the current leaf (the last entry)")
      .example("$0 context session.jsonl --leaf 3f2a --compact | jq '.messages | length'", "At another entry")
      .example("$0 context session.jsonl --from-sidecar --mode active", "Read only the frames on the leaf's path from session.v2/")
      .epilog(
        "With --from-sidecar the output is the JSONL's for a fresh sidecar. Without --mode, or with --mode active, only the frames " +
          "the context is made of are read (through the sidecar's entry table; the whole path when there is none, or when ids " +
          "repeat); --mode full reads every frame, tail:N sees only the last N entries. Exit codes: 0 printed, 2 the file cannot be opened, unknown --leaf, the " +
          "sidecar is missing (E_SIDECAR_MISSING) or not fresh (E_SIDECAR_STALE, unless --allow-stale), or bad usage.",
      ),
  run: async (args, io) => {
    const context = (await fromTable(args)) ?? (await fromSession(args));
    const out = new LineBuffer(io.stdout);
    writeContext(context, args.compact, out);
    out.flush();
    return EXIT_OK;
  },
});

interface ContextArgs extends SidecarReadArgs {
  file: string;
  leaf: string | undefined;
}

/**
 * With --from-sidecar and --mode active (or no --mode: the context is the same whatever is
 * loaded), the context from the frames it is made of; undefined when that cannot be had
 * the JSONL reader's way (see contextFromSidecar).
 */
async function fromTable(args: ContextArgs): Promise<SessionContext | undefined> {
  if (!args.fromSidecar || (args.mode !== undefined && args.mode !== "active")) return undefined;
  return contextFromSidecar(args.file, { allowStale: args.allowStale, ...(args.leaf !== undefined ? { leaf: args.leaf } : {}) });
}

async function fromSession(args: ContextArgs): Promise<SessionContext> {
  const opened = await openForCommand(args.file, args, args.leaf);
  const leafId = args.leaf === undefined ? undefined : (resolveLeaf(opened, args.leaf) as string);
  return opened.session.buildContext(leafId);
}

/**
 * Byte for byte what JSON.stringify(context, null, compact ? 0 : 2) gives, written one
 * message at a time: a long session's context can exceed the longest string V8 can build.
 */
export function writeContext(context: SessionContext, compact: boolean, out: LineBuffer): void {
  const tail = { thinkingLevel: context.thinkingLevel, model: context.model };
  if (compact) {
    out.text('{"messages":[');
    context.messages.forEach((m, i) => out.text((i > 0 ? "," : "") + JSON.stringify(m)));
    out.line(`],${JSON.stringify(tail).slice(1)}`);
    return;
  }
  if (context.messages.length === 0) {
    out.text('{\n  "messages": [],\n');
  } else {
    out.text('{\n  "messages": [\n');
    context.messages.forEach((m, i) => {
      // Strings in JSON text hold no raw newlines, so every "\n" is a line of the layout.
      out.text((i > 0 ? ",\n    " : "    ") + JSON.stringify(m, null, 2).replace(/\n/g, "\n    "));
    });
    out.text("\n  ],\n");
  }
  out.line(JSON.stringify(tail, null, 2).slice(2));
}
