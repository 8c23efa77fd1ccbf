import { convertSessionFile } from "../store/index.js";
import { defineCommand } from "./command.js";
import { EXIT_OK, LineBuffer } from "./io.js";

export const convertCommand = defineCommand({
  command: "convert <in> <out>",
  describe: "Convert a session file between JSONL and SQLite, losslessly",
  builder: (y) =>
    y
      .positional("in", { type: "string", demandOption: true, describe: "Session file: JSONL or SQLite (told apart by content)" })
      .positional("out", { type: "string", demandOption: true, describe: "New file: .jsonl, or .sqlite / .sqlite3 / .db" })
      .option("json", { type: "boolean", default: false, describe: "Print the result as one JSON object" })
      .example("$0 convert s.jsonl s.sqlite", "JSONL -> SQLite (the Rust port's tables plus the line layout)")
      .example("$0 convert s.sqlite back.jsonl", "SQLite -> JSONL: the same bytes as the original JSONL")
      .epilog(
        "Every line is kept, invalid ones included, so JSONL -> SQLite -> JSONL gives back the same bytes. " +
          "The output is never overwritten. Exit codes: 0 converted; 2 the input cannot be read, the output exists, or bad usage.",
      ),
  run: async (args, io) => {
    const r = await convertSessionFile(args.in, args.out);
    const out = new LineBuffer(io.stdout);
    if (args.json) out.line(JSON.stringify(r));
    else out.line(`${r.input} (${r.from}) -> ${r.output} (${r.to}): session ${r.sessionId}, ${r.entries} entries, ${r.bytes} bytes`);
    out.flush();
    return EXIT_OK;
  },
});
