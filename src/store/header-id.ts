import { open } from "node:fs/promises";
import { HEADER_PROBE_BYTES } from "../format/index.js";

/**
 * The id in a JSONL file's session header, or undefined when the file does not start
 * with one (as the reader: leading blank lines and a UTF-8 BOM are allowed). Reads at
 * most HEADER_PROBE_BYTES: enough for every header pi or the Rust port writes.
 */
export async function readJsonlHeaderId(file: string): Promise<string | undefined> {
  let buf: Buffer;
  try {
    const fh = await open(file, "r");
    try {
      buf = Buffer.alloc(HEADER_PROBE_BYTES);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      buf = buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
  const text = buf.toString("utf8").replace(/^\uFEFF/, "");
  for (const line of text.split("\n")) {
    if (line.trim().length === 0) continue;
    try {
      const h = JSON.parse(line) as { type?: unknown; id?: unknown };
      return h !== null && typeof h === "object" && h.type === "session" && typeof h.id === "string" && h.id.length > 0 ? h.id : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
