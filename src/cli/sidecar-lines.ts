import { scanFile, type SessionDiagnostic } from "../format/index.js";
import type { SourceFingerprint } from "../v2/index.js";

/** A payload read from the sidecar, in entrySeq order. */
export interface LoadedPayload {
  entrySeq: number;
  /** The JSONL line's exact bytes. */
  raw: Buffer;
}

/** Where the loaded entries sit in the JSONL, and what the JSONL holds besides them. */
export interface JsonlPlacement {
  /** Physical JSONL line of an entry. */
  lineOf(entrySeq: number): number;
  /** Diagnostics about JSONL lines that are not entries (blank, skipped, a missing last line end). */
  lineDiagnostics: SessionDiagnostic[];
}

export interface PlacementFacts {
  file: string;
  /** Physical line of the JSONL header, and its bytes (without the line end). */
  headerLine: number;
  headerLength: number;
  jsonlSize: number;
  fingerprint: SourceFingerprint | undefined;
  /** Rows in the sidecar. */
  entries: number;
  loaded: readonly LoadedPayload[];
  /** The JSONL is exactly what the sidecar indexed, and every entry is loaded: report its non-entry lines too. */
  reportLines: boolean;
}

function isBlank(bytes: Buffer): boolean {
  for (const c of bytes) if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  return true;
}

/**
 * The sidecar holds entry lines only. When its fingerprint says the indexed prefix is the
 * header on line 1 followed by nothing but entries, entry n is on line n + 1 and nothing
 * needs reading. Otherwise (blank or invalid lines in the JSONL) the JSONL's lines are
 * scanned, without parsing, and each loaded payload is matched to the first later line
 * with the same bytes; the unmatched lines are the JSONL's blank and skipped lines.
 */
export async function placeInJsonl(f: PlacementFacts): Promise<JsonlPlacement> {
  const fp = f.fingerprint;
  const gapless =
    fp !== undefined &&
    f.headerLine === 1 &&
    fp.entryCount === f.entries &&
    fp.lastIndexedLine === 1 + fp.entryCount &&
    (!f.reportLines || fp.lastIndexedOffset === f.jsonlSize);
  if (gapless) {
    const lineDiagnostics: SessionDiagnostic[] = [];
    if (f.reportLines && fp.openTail) {
      // The open last line is the last entry, or the header when there is none.
      const length = f.loaded[f.loaded.length - 1]?.raw.length ?? f.headerLength;
      lineDiagnostics.push({
        code: "truncated_tail",
        line: fp.lastIndexedLine,
        offset: fp.lastIndexedOffset - length,
        message: `last line has no line end; its ${length} bytes parse and were kept`,
      });
    }
    return { lineOf: (seq) => 1 + seq, lineDiagnostics };
  }

  const lines = new Map<number, number>();
  const lineDiagnostics: SessionDiagnostic[] = [];
  let next = 0;
  let last: { line: number; offset: number; length: number; eol: number; entry: boolean } | undefined;
  const end = f.reportLines || !fp ? f.jsonlSize : Math.min(f.jsonlSize, fp.lastIndexedOffset);
  await scanFile(
    f.file,
    (bytes, span) => {
      last = { line: span.line, offset: span.offset, length: span.length, eol: span.eol, entry: false };
      if (span.line === f.headerLine) return;
      const blank = !span.oversize && isBlank(bytes);
      if (span.line < f.headerLine) {
        if (f.reportLines) lineDiagnostics.push({ code: "blank_line", line: span.line, offset: span.offset, message: "blank line before the header" });
        return;
      }
      const want = f.loaded[next];
      if (want && !span.oversize && bytes.equals(want.raw)) {
        lines.set(want.entrySeq, span.line);
        last.entry = true;
        next++;
        return;
      }
      if (!f.reportLines) return;
      if (blank) lineDiagnostics.push({ code: "blank_line", line: span.line, offset: span.offset, message: "blank line" });
      else lineDiagnostics.push({ code: "skipped", line: span.line, offset: span.offset, message: "not an entry (the sidecar holds only the lines that are entries)" });
    },
    { endOffset: end },
  );
  if (f.reportLines && last && last.eol === 0) {
    lineDiagnostics.push({
      code: "truncated_tail",
      line: last.line,
      offset: last.offset,
      message: last.entry ? `last line has no line end; its ${last.length} bytes parse and were kept` : `last line (${last.length} bytes) has no line end and is incomplete; skipped`,
    });
  }
  // An entry the scan did not find (a JSONL changed since it was indexed, read with --allow-stale).
  return { lineOf: (seq) => lines.get(seq) ?? f.headerLine + seq, lineDiagnostics };
}
