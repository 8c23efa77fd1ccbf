/**
 * The reference implementation, @mariozechner/pi-coding-agent (pinned devDependency).
 * Its package entry re-exports SessionManager and buildSessionContext from
 * dist/core/session-manager.js; loading that module directly gives the same functions
 * without the ~1.5 s it takes to load the whole agent (TUI, providers) per test file.
 */
import { readFileSync } from "node:fs";
import type * as Pi from "@mariozechner/pi-coding-agent";

type Reference = Pick<typeof Pi, "SessionManager" | "buildSessionContext">;

const entry = import.meta.resolve("@mariozechner/pi-coding-agent");
/** The version whose behaviour DESIGN.md section 3 pins (0.73.x). */
export const REFERENCE_VERSION = (JSON.parse(readFileSync(new URL("../package.json", entry), "utf8")) as { version: string }).version;
if (!REFERENCE_VERSION.startsWith("0.73.")) {
  throw new Error(`the differential tests compare with pi-coding-agent 0.73.x; ${REFERENCE_VERSION} is installed`);
}
const reference = (await import(new URL("./core/session-manager.js", entry).href)) as Reference;

export const SessionManager: Reference["SessionManager"] = reference.SessionManager;
export type SessionManager = Pi.SessionManager;
export const buildSessionContext: Reference["buildSessionContext"] = reference.buildSessionContext;
