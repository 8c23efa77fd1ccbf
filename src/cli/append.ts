import { SessionWriter, SessfmtError, type NewEntry } from "../format/index.js";
// Not in the public API; the writer's own check, used here so each input line is judged
// (and named in the error) before anything is written.
import { checkNewEntry } from "../format/new-entry.js";
import { defineCommand } from "./command.js";
import { EXIT_OK, LineBuffer, readLines, usageError, type CliIO } from "./io.js";

const DURABILITY = ["strict", "balanced", "throughput"] as const;

export const appendCommand = defineCommand({
  command: "append <file> [input]",
  describe: "Append entries (JSON without id/parentId/timestamp) as a chain under the current tail of the file",
  builder: (y) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "Session file (.jsonl, version 3)" })
      .positional("input", { type: "string", describe: '"-": read entries from stdin, one JSON object per line' })
      .option("entry", { type: "string", array: true, describe: 'An entry as JSON (repeatable); "-" reads stdin' })
      .option("durability", {
        choices: DURABILITY,
        default: "balanced" as (typeof DURABILITY)[number],
        describe: "strict: fsync each append; balanced: fsync before exit; throughput: no fsync",
      })
      .example(`$0 append s.jsonl --entry '{"type":"session_info","name":"Refactor"}'`, "Name a session")
      .example(`printf '%s\\n' '{"type":"custom","customType":"note"}' | $0 append s.jsonl -`, "Entries from stdin")
      .epilog(
        "Each entry becomes the child of the one before it; the first becomes the child of the file's last entry at " +
          "the time the lock is taken, so concurrent appenders build one chain. All input is checked before anything " +
          "is written: on any bad line nothing is appended. Prints the new ids, one per line. " +
          "Exit codes: 0 appended; 2 bad input (with its stdin line), the file cannot be opened, is locked, is not version 3, or bad usage.",
      ),
  run: async (args, io) => {
    const entries = await collectEntries(args.entry ?? [], args.input, io);
    const writer = await SessionWriter.open(args.file, { durability: args.durability, parent: "fileTail" });
    let ids: string[];
    try {
      ids = await writer.appendMany(entries);
    } finally {
      await writer.close();
    }
    const out = new LineBuffer(io.stdout);
    for (const id of ids) out.line(id);
    out.flush();
    return EXIT_OK;
  },
});

/** Parse and check every entry before the file is touched; errors name the input line. */
async function collectEntries(entryArgs: readonly string[], input: string | undefined, io: CliIO): Promise<NewEntry[]> {
  if (input !== undefined && input !== "-") {
    throw usageError(`unexpected argument ${JSON.stringify(input)}: entries come from --entry JSON or "-" (stdin)`);
  }
  const fromStdin = input === "-" || entryArgs.includes("-");
  if (!fromStdin && entryArgs.length === 0) throw usageError('no entries: give --entry JSON, or "-" to read them from stdin');
  const entries: NewEntry[] = [];
  let argNo = 0;
  for (const text of entryArgs) {
    if (text === "-") continue;
    argNo += 1;
    entries.push(toEntry(text, `--entry #${argNo}`));
  }
  if (fromStdin) {
    for await (const { line, text } of readLines(io.stdin)) {
      if (text.trim().length === 0) continue;
      entries.push(toEntry(text, `stdin line ${line}`));
    }
  }
  return entries;
}

function toEntry(text: string, where: string): NewEntry {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SessfmtError("E_INVALID_ENTRY", `${where}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  try {
    checkNewEntry(value as NewEntry);
  } catch (err) {
    if (err instanceof SessfmtError) throw new SessfmtError(err.code, `${where}: ${err.message}`, { cause: err });
    throw err;
  }
  return value as NewEntry;
}
