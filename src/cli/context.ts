import type { SessionContext } from "../format/index.js";
import { defineCommand } from "./command.js";
import { EXIT_OK, LineBuffer } from "./io.js";
import { openForCommand, resolveLeaf, withSidecarReadOptions } from "./sidecar-source.js";

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
        "With --from-sidecar the output is the JSONL's for a fresh sidecar (--mode active reads just the path and gives the same " +
          "context; tail:N sees only the last N entries). Exit codes: 0 printed, 2 the file cannot be opened, unknown --leaf, the " +
          "sidecar is missing (E_SIDECAR_MISSING) or not fresh (E_SIDECAR_STALE, unless --allow-stale), or bad usage.",
      ),
  run: async (args, io) => {
    const opened = await openForCommand(args.file, args, args.leaf);
    const leafId = args.leaf === undefined ? undefined : (resolveLeaf(opened, args.leaf) as string);
    const context = opened.session.buildContext(leafId);
    const out = new LineBuffer(io.stdout);
    writeContext(context, args.compact, out);
    out.flush();
    return EXIT_OK;
  },
});

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
