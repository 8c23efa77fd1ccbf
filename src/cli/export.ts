import { exportJsonlFromSidecar } from "../v2/index.js";
import { defineCommand } from "./command.js";
import { EXIT_OK, LineBuffer, usageError, type TextSink } from "./io.js";
import { formatSize } from "./render.js";
import { plural, withMessage } from "./sidecar-render.js";

/** process.stdout takes bytes and reports back-pressure; a test's collector takes what it gets. */
interface ByteSink {
  write(chunk: Uint8Array): unknown;
  once?(event: "drain", listener: () => void): unknown;
}

export const exportCommand = defineCommand({
  command: "export <file>",
  describe: "Write the JSONL back from the V2 sidecar: the JSONL's header line, then every stored entry line, byte for byte",
  builder: (y) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "Session file (.jsonl) whose sidecar (<stem>.v2) to export" })
      .option("from-sidecar", { type: "boolean", default: false, describe: "Read the entries from the V2 sidecar (required: the only source export has)" })
      .option("format", { choices: ["jsonl"] as const, default: "jsonl" as const, describe: "Output format" })
      .option("output", { alias: "o", type: "string", describe: "Write to this new file (created exclusively, never overwritten) instead of stdout" })
      .option("verify", { type: "boolean", default: true, describe: "Check every frame's CRC-32C and payload hash and the chain first (--no-verify skips)" })
      .option("allow-header-change", {
        type: "boolean",
        default: false,
        describe: "Export even though the JSONL's header is not the one the sidecar was built under",
      })
      .option("json", { type: "boolean", default: false, describe: "With -o: print the result (entries, bytes, sha256) as one JSON object" })
      .example("$0 export s.jsonl --from-sidecar --format jsonl > copy.jsonl", "To stdout")
      .example("$0 export s.jsonl --from-sidecar -o recovered.jsonl", "To a new file")
      .example("$0 export s.jsonl --from-sidecar | cmp - s.jsonl", "Same bytes when every line of s.jsonl is an entry ending in \\n")
      .epilog(
        "For a file whose lines are all entries ending in \"\\n\" the output is the original file; otherwise the header and the " +
          "entry lines, each exactly as written, with \"\\n\" line ends. The header comes from the JSONL. A damaged frame stops " +
          "the export and a partial -o file is removed. Exit codes: 0 exported; 2 no --from-sidecar, no sidecar " +
          "(E_SIDECAR_MISSING), damage (E_SIDECAR_CORRUPT), another header (E_SIDECAR_STALE, unless --allow-header-change), " +
          "the -o file exists (E_EXISTS), or bad usage.",
      ),
  run: async (args, io) => {
    if (!args.fromSidecar) throw usageError("export reads the V2 sidecar: pass --from-sidecar");
    if (args.json && args.output === undefined) throw usageError("--json needs -o (without it the export itself goes to stdout)");
    const opts = { verify: args.verify, allowHeaderChange: args.allowHeaderChange };
    let work;
    if (args.output !== undefined) {
      work = withMessage(exportJsonlFromSidecar(args.file, { ...opts, output: args.output }), "E_EXISTS", "the output file exists; export never overwrites a file: choose another -o");
    } else {
      work = exportJsonlFromSidecar(args.file, { ...opts, write: (chunk) => writeBytes(io.stdout, chunk) });
    }
    work = withMessage(work, "E_SIDECAR_MISSING", `no V2 sidecar to export; create one with \`sessfmt sidecar create ${args.file}\``);
    work = withMessage(
      work,
      "E_SIDECAR_STALE",
      `the JSONL's header is not the one the sidecar was built under; \`sessfmt sidecar sync --rebuild ${args.file}\` rebuilds the sidecar, --allow-header-change exports under the current header`,
    );
    const r = await work;
    if (args.output !== undefined) {
      const out = new LineBuffer(io.stdout);
      if (args.json) out.line(JSON.stringify(r));
      else out.line(`exported ${plural(r.entries, "entry", "entries")} to ${r.output ?? args.output}: ${formatSize(r.bytes)}, sha256 ${r.sha256}`);
      out.flush();
    }
    return EXIT_OK;
  },
});

/** Write bytes as they are (no decoding), waiting when the stream asks to. */
async function writeBytes(sink: TextSink, chunk: Buffer): Promise<void> {
  const s = sink as unknown as ByteSink;
  const accepted = s.write(chunk);
  if (accepted === false && typeof s.once === "function") await new Promise<void>((resolve) => s.once?.("drain", resolve));
}
