import { basename, dirname, join, resolve, sep } from "node:path";
import { homedir } from "node:os";
import { SessfmtError } from "./errors.js";
import type { SessionDialect } from "./types.js";

/**
 * Session directory name for a working directory.
 * TS agent: strip ONE leading "/" or "\", replace every "/", "\", ":" with "-", wrap in "--".
 * Rust port: strip ALL leading separators, same replacement and wrapping.
 * Both are lossy (distinct cwds can share a directory); never parse a cwd back from it.
 */
export function encodeCwd(cwd: string, dialect: SessionDialect = "ts"): string {
  const stripped = dialect === "rust" ? cwd.replace(/^[/\\]+/, "") : cwd.replace(/^[/\\]/, "");
  return `--${stripped.replace(/[/\\:]/g, "-")}--`;
}

/** The timestamp part of a session file name: ISO time with ":" and "." replaced by "-". */
export function fileTimestamp(iso: string): string {
  return iso.replace(/[:.]/g, "-");
}

/**
 * Session file name. TS: `<ts>_<sessionId>.jsonl`; Rust: `<ts>_<first 8 id chars>.jsonl`.
 * Any character outside [A-Za-z0-9_-] in the id part becomes "_", so a hostile id can
 * never add a path separator or "..".
 */
export function sessionFileName(sessionId: string, isoTimestamp: string, dialect: SessionDialect = "ts"): string {
  const idPart = dialect === "rust" ? sessionId.slice(0, 8) : sessionId;
  return `${fileTimestamp(isoTimestamp)}_${sanitizeFileComponent(idPart)}.jsonl`;
}

/** Replace every character outside [A-Za-z0-9_-] with "_" (and never return "" or dots only). */
export function sanitizeFileComponent(s: string): string {
  const out = s.replace(/[^A-Za-z0-9_-]/g, "_");
  return out.length === 0 ? "_" : out;
}

/** Default sessions root: $PI_CODING_AGENT_DIR/sessions or ~/.pi/agent/sessions. */
export function defaultSessionsRoot(env: NodeJS.ProcessEnv = process.env): string {
  const agentDir = env.PI_CODING_AGENT_DIR;
  if (!agentDir) return join(homedir(), ".pi", "agent", "sessions");
  // pi expands "~" and "~/..." in this variable (config.js expandTildePath); so must we.
  const expanded = agentDir === "~" ? homedir() : agentDir.startsWith("~/") ? homedir() + agentDir.slice(1) : agentDir;
  return join(expanded, "sessions");
}

/** Directory that holds the sessions of `cwd` under a sessions root. */
export function sessionDirFor(sessionsRoot: string, cwd: string, dialect: SessionDialect = "ts"): string {
  return childPath(sessionsRoot, encodeCwd(cwd, dialect));
}

/**
 * Join a single name under a directory and prove the result stays inside it.
 * Throws E_PATH_UNSAFE for names with separators, "..", NUL, or an empty name.
 */
export function childPath(dir: string, name: string): string {
  if (name.length === 0 || name === "." || name === ".." || /[/\\\0]/.test(name)) {
    throw new SessfmtError("E_PATH_UNSAFE", `unsafe file name ${JSON.stringify(name)}`, { file: dir });
  }
  const full = plainDir(dir) ? `${dir}/${name}` : join(dir, name);
  // On POSIX a non-empty name without "/" or NUL that is not "." or ".." always lands
  // directly inside `dir`, so the check above is the proof; the two resolves (interpreted
  // JavaScript, every sidecar file open goes through here) are left for other platforms,
  // whose paths have drive letters and more separators.
  if (sep !== "/" && dirname(resolve(full)) !== resolve(dir)) {
    throw new SessfmtError("E_PATH_UNSAFE", `name ${JSON.stringify(name)} escapes the directory`, { file: dir });
  }
  return full;
}

/**
 * A POSIX directory path that path.join would leave as it is (no empty, "." or ".."
 * component, no trailing "/"), so joining a plain name to it is concatenation. join
 * normalises in interpreted JavaScript, a character at a time: in a process that has just
 * started, an open of a sidecar with 18 segments spent ~0.3 ms joining their paths.
 */
function plainDir(dir: string): boolean {
  if (sep !== "/" || dir.length === 0 || dir.endsWith("/") || dir.includes("//")) return false;
  const d = `/${dir}/`;
  return !d.includes("/./") && !d.includes("/../");
}

/** `<dir>/<stem>.v2` for `<dir>/<stem>.jsonl`: the sidecar root beside a session file. */
export function sidecarPath(sessionFile: string): string {
  const base = basename(sessionFile);
  const stem = base.endsWith(".jsonl") ? base.slice(0, -".jsonl".length) : base;
  return childPath(dirname(sessionFile), `${stem}.v2`);
}

/** True when `p` is `root` or lies inside it (after resolving both). */
export function isInside(root: string, p: string): boolean {
  const r = resolve(root);
  const q = resolve(p);
  return q === r || q.startsWith(r.endsWith(sep) ? r : r + sep);
}
