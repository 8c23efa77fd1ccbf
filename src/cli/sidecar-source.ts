import { lstat, stat } from "node:fs/promises";
import type { Argv } from "yargs";
import { openSession, openSessionFromBuffer, SessfmtError, Session, type EntryRecord, type SessionContext, type SessionOpenDiagnostics } from "../format/index.js";
import { ioError } from "../format/errors.js";
import { BufferSource } from "../format/source.js";
import { checkFreshness, openSidecar, parseV2OpenMode, sidecarRootFor, type Freshness, type SidecarStore } from "../v2/index.js";
import { readHeaderLine } from "../v2/source-file.js";
import { resolveEntryRef } from "./entry-ref.js";
import { usageError } from "./io.js";
import { placeInJsonl, type LoadedPayload } from "./sidecar-lines.js";

/** The options info, tree and context take to read their entries from the V2 sidecar. */
export interface SidecarReadArgs {
  fromSidecar: boolean;
  mode: string | undefined;
  allowStale: boolean;
}

/** Adds --from-sidecar, --mode and --allow-stale (camel-cased they are SidecarReadArgs). */
export function withSidecarReadOptions<T>(y: Argv<T>) {
  return y
    .option("from-sidecar", {
      type: "boolean",
      default: false,
      describe: "Read the entries from the V2 sidecar (<stem>.v2/) instead of the JSONL; the header still comes from the JSONL",
    })
    .option("mode", {
      type: "string",
      describe: "With --from-sidecar, what to load: full (default), active (the path from the leaf to its root) or tail:N (the last N entries)",
    })
    .option("allow-stale", {
      type: "boolean",
      default: false,
      describe: "With --from-sidecar, read a sidecar that is behind or stale, or whose freshness is unknown, as it is",
    });
}

/** What --from-sidecar read, for commands that say so (partial modes). */
export interface SidecarReadInfo {
  root: string;
  mode: string;
  /** Entries loaded (the whole store in full mode). */
  loaded: number;
  /** Entries in the store. */
  entries: number;
  freshness: Freshness;
}

export interface OpenedForCommand {
  session: Session;
  /** Set when the entries came from the sidecar. */
  sidecar?: SidecarReadInfo;
}

/**
 * The session a command shows: opened from the JSONL, or with --from-sidecar built from the
 * JSONL's header and the sidecar's entries. `leaf` (an id or unique prefix) is the leaf an
 * "active" load walks from.
 */
export async function openForCommand(file: string, args: SidecarReadArgs, leaf?: string): Promise<OpenedForCommand> {
  if (!args.fromSidecar) {
    if (args.mode !== undefined) throw usageError("--mode needs --from-sidecar");
    if (args.allowStale) throw usageError("--allow-stale needs --from-sidecar");
    return { session: await openSession(file) };
  }
  return openFromSidecar(file, { mode: args.mode ?? "full", allowStale: args.allowStale, leaf });
}

/** The leaf a command was given, among the entries the session holds (or its current leaf). */
export function resolveLeaf(opened: OpenedForCommand, ref: string | undefined): string | null {
  if (ref === undefined) return opened.session.leafId;
  try {
    return resolveEntryRef(opened.session, ref);
  } catch (err) {
    const sc = opened.sidecar;
    if (!sc || sc.loaded === sc.entries || !(err instanceof SessfmtError) || err.code !== "E_ENTRY_NOT_FOUND") throw err;
    throw new SessfmtError("E_ENTRY_NOT_FOUND", `${err.message} among the ${sc.loaded} of ${sc.entries} entries --mode ${sc.mode} loaded`, { cause: err });
  }
}

function staleError(file: string, f: Freshness): SessfmtError {
  const read = "or pass --allow-stale to read what the sidecar holds";
  if (f.state === "behind") {
    return new SessfmtError("E_SIDECAR_STALE", `the sidecar is behind the JSONL (${f.newBytes ?? 0} bytes appended after what it indexed); run \`sessfmt sidecar sync ${file}\`, ${read}`, { file });
  }
  const what = f.state === "stale" ? `the sidecar is stale (${f.reason})` : `the sidecar's freshness is unknown (${f.reason})`;
  return new SessfmtError("E_SIDECAR_STALE", `${what}; run \`sessfmt sidecar sync --rebuild ${file}\`, ${read}`, { file });
}

/** An id or unique id prefix among all the store's entries (loaded or not). */
function resolveStoreRef(store: SidecarStore, ref: string): string {
  if (store.rowById(ref)) return ref;
  const matches: string[] = [];
  if (ref.length > 0) {
    for (const r of store.rows) {
      if (r.entryId.startsWith(ref) && !matches.includes(r.entryId)) {
        matches.push(r.entryId);
        if (matches.length > 5) break;
      }
    }
  }
  if (matches.length === 1) return matches[0] as string;
  if (matches.length === 0) throw new SessfmtError("E_ENTRY_NOT_FOUND", `no entry with id or id prefix ${JSON.stringify(ref)} in the sidecar`, { file: store.root });
  const shown = matches.slice(0, 5).map((m) => JSON.stringify(m)).join(", ");
  throw new SessfmtError("E_INVALID_ARGUMENT", `id prefix ${JSON.stringify(ref)} is ambiguous: it matches ${shown}${matches.length > 5 ? ", ..." : ""}`, { file: store.root });
}

/**
 * The JSONL text the mode loads: the header line, then the lines of the entries loaded in
 * entrySeq order (the frames' payloads, byte for byte), read without parsing them.
 */
async function loadLines(store: SidecarStore, mode: string, leaf: string | undefined, header: Buffer): Promise<{ data: Buffer; loaded: LoadedPayload[] }> {
  const parsed = parseV2OpenMode(mode);
  const rows =
    parsed.kind === "active"
      ? await store.activePathRows(leaf === undefined ? undefined : resolveStoreRef(store, leaf))
      : parsed.kind === "tail"
        ? store.rows.slice(Math.max(0, store.rows.length - parsed.count))
        : store.rows;
  const { data, lines } = await store.jsonlOf(rows, header);
  return { data, loaded: lines };
}

/** A parent that is in the store but was not loaded (active/tail) is no defect of the session. */
function dropPartialLoadOrphans(diagnostics: SessionOpenDiagnostics, store: SidecarStore): void {
  const real = (missing: string | undefined): boolean => missing === undefined || !store.rowById(missing);
  const keep = <T>(list: T[], ok: (x: T) => boolean): void => {
    let n = 0;
    for (const x of list) if (ok(x)) list[n++] = x;
    list.length = n;
  };
  keep(diagnostics.items, (d) => d.code !== "orphaned_parent" || real(d.missingParentId));
  keep(diagnostics.orphanedParentLinks, (l) => real(l.missingParentId));
}

/**
 * Build the session from the JSONL's header line and the sidecar's payloads (the JSONL's
 * entry lines, byte for byte), laid out one per line and read by the same reader as the
 * JSONL, so dialect, tree, names, labels and diagnostics come out as the JSONL's would.
 * Line numbers are then put back to the JSONL's, and what the JSONL holds besides its
 * entries (blank or invalid lines, a missing last line end) is added when every entry is
 * loaded. Refuses a sidecar that is not fresh (quick check: size and mtime, else the header
 * and the end of the indexed prefix are hashed) unless `allowStale`.
 */
/** The JSONL's size; E_SIDECAR_MISSING when it has no sidecar. */
async function requireSidecar(file: string): Promise<number> {
  let jsonlSize: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new SessfmtError("E_NOT_A_FILE", "cannot open session: not a regular file", { file });
    jsonlSize = st.size;
  } catch (err) {
    throw ioError(err, file, "cannot open session");
  }
  const root = sidecarRootFor(file);
  try {
    await lstat(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw ioError(err, root, "cannot stat");
    throw new SessfmtError("E_SIDECAR_MISSING", `no V2 sidecar beside the file (${root}); create one with \`sessfmt sidecar create ${file}\``, { file });
  }
  return jsonlSize;
}

/** The sidecar's freshness (quick check); E_SIDECAR_STALE when it is not fresh, unless `allowStale`. */
async function requireFresh(file: string, store: SidecarStore, allowStale: boolean): Promise<Freshness> {
  const freshness = await checkFreshness(file, store.fingerprint, "quick");
  if (freshness.state !== "fresh" && !allowStale) throw staleError(file, freshness);
  return freshness;
}

/**
 * The context at a leaf (an id or unique prefix; default the last entry) from an active
 * open of the sidecar, which through the entry table reads only the frames the context is
 * made of (SPEC 11.21) instead of every frame on the path. Undefined when the store's ids
 * are not unique: the store's context is the JSONL reader's only then, so the caller
 * builds the session from the path's lines instead. The same refusals as openFromSidecar.
 */
export async function contextFromSidecar(file: string, opts: { allowStale: boolean; leaf?: string }): Promise<SessionContext | undefined> {
  await requireSidecar(file);
  // First with nothing loaded (without the entry table an active open reads its whole
  // path): freshness, the ids and the leaf are settled before any frame is read.
  let leaf: string | undefined;
  const probe = await openSidecar(file, { mode: "tail:0" });
  try {
    await requireFresh(file, probe, opts.allowStale);
    if (!probe.idsUnique()) return undefined;
    leaf = opts.leaf === undefined ? undefined : resolveStoreRef(probe, opts.leaf);
  } finally {
    await probe.close();
  }
  // The header is the JSONL's, refused as the reader refuses it (the path used to be read after it).
  const header = await readHeaderLine(file);
  openSessionFromBuffer(Buffer.concat([header.bytes, Buffer.from("\n")]), { name: file });
  const store = await openSidecar(file, { mode: "active", ...(leaf !== undefined ? { leafId: leaf } : {}) });
  try {
    return store.buildContext();
  } finally {
    await store.close();
  }
}

export async function openFromSidecar(file: string, opts: { mode: string; allowStale: boolean; leaf?: string }): Promise<OpenedForCommand> {
  parseV2OpenMode(opts.mode);
  const jsonlSize = await requireSidecar(file);
  // Opened with nothing loaded: the index and the fingerprint, then just the frames the mode names.
  const store = await openSidecar(file, { mode: "tail:0" });
  try {
    const freshness = await requireFresh(file, store, opts.allowStale);
    const header = await readHeaderLine(file);
    const { data, loaded } = await loadLines(store, opts.mode, opts.leaf, header.bytes);
    const full = loaded.length === store.rows.length;

    const built = openSessionFromBuffer(data, { name: file });

    const place = await placeInJsonl({
      file,
      headerLine: header.line,
      headerLength: header.bytes.length,
      jsonlSize,
      fingerprint: store.fingerprint,
      entries: store.rows.length,
      loaded,
      reportLines: full && freshness.state === "fresh",
    });
    // In the built copy the header is line 1 and payload i is line i + 2.
    const jsonlLine = (builtLine: number): number => {
      const p = loaded[builtLine - 2];
      return p ? place.lineOf(p.entrySeq) : header.line;
    };
    for (const r of built.records) r.line = jsonlLine(r.line);
    const diagnostics = built.diagnostics;
    for (const d of diagnostics.items) {
      d.line = jsonlLine(d.line);
      if (d.firstLine !== undefined) d.firstLine = jsonlLine(d.firstLine);
    }
    for (const d of place.lineDiagnostics) diagnostics.add(d);
    if (!full) dropPartialLoadOrphans(diagnostics, store);
    // Stable: diagnostics of one line keep the order the reader gives them. Offsets stay
    // those of the in-memory copy (records are read from it); no command here prints them.
    diagnostics.items.sort((a, b) => a.line - b.line);

    const session = new Session({
      source: new BufferSource(data, file),
      header: built.header,
      headerSpan: { ...built.headerSpan, line: header.line },
      version: built.version,
      dialect: built.dialect,
      records: built.records as EntryRecord[],
      tree: built.tree,
      diagnostics,
      size: jsonlSize,
    });
    return { session, sidecar: { root: store.root, mode: opts.mode, loaded: loaded.length, entries: store.rows.length, freshness } };
  } finally {
    await store.close();
  }
}
