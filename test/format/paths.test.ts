/**
 * DESIGN 2 (files): session directory and file names, and safe joins.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import fc from "fast-check";
import { getAgentDir, SessionManager } from "@mariozechner/pi-coding-agent";
import { afterAll, describe, expect, it } from "vitest";
import {
  childPath,
  defaultSessionsRoot,
  encodeCwd,
  fileTimestamp,
  isInside,
  sanitizeFileComponent,
  sessionDirFor,
  sessionFileName,
  sidecarPath,
} from "../../src/format/index.js";

const tmpRoot = mkdtempSync(join(tmpdir(), "sessfmt-paths-"));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

/** Run `fn` with PI_CODING_AGENT_DIR set (pi reads it on every call). */
function withAgentDir<T>(value: string, fn: () => T): T {
  const before = process.env.PI_CODING_AGENT_DIR;
  process.env.PI_CODING_AGENT_DIR = value;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.PI_CODING_AGENT_DIR;
    else process.env.PI_CODING_AGENT_DIR = before;
  }
}

describe("encodeCwd: TS strips one leading separator, Rust strips all; both map / \\ : to - and wrap in --", () => {
  it.each([
    ["/home/user/proj", "--home-user-proj--", "--home-user-proj--"],
    ["//server/share", "---server-share--", "--server-share--"],
    ["\\\\server\\share", "---server-share--", "--server-share--"],
    ["C:\\Users\\me", "--C--Users-me--", "--C--Users-me--"],
    ["/a:b/c", "--a-b-c--", "--a-b-c--"],
    ["relative/dir", "--relative-dir--", "--relative-dir--"],
    ["/", "----", "----"],
    ["", "----", "----"],
    ["/\\/x", "----x--", "--x--"],
  ])("%j -> TS %j, Rust %j", (cwd, ts, rust) => {
    expect(encodeCwd(cwd)).toBe(ts);
    expect(encodeCwd(cwd, "ts")).toBe(ts);
    expect(encodeCwd(cwd, "rust")).toBe(rust);
  });

  it("is lossy: different cwds can share a directory", () => {
    expect(encodeCwd("/a-b")).toBe(encodeCwd("/a/b"));
    expect(encodeCwd("/a:b")).toBe(encodeCwd("/a/b"));
  });

  it("the TS variant is the directory pi's SessionManager.create picks for any cwd", () => {
    withAgentDir(join(tmpRoot, "agent"), () => {
      fc.assert(
        fc.property(fc.array(fc.constantFrom("/", "\\", ":", "a", "B", "-", ".", " ", "é"), { maxLength: 12 }), (parts) => {
          const cwd = parts.join("");
          const dir = SessionManager.create(cwd).getSessionDir();
          expect(dir).toBe(join(defaultSessionsRoot(), encodeCwd(cwd, "ts")));
          expect(basename(dir)).toBe(encodeCwd(cwd, "ts"));
        }),
        { numRuns: 60 },
      );
    });
  });

  it("the result never holds a path separator", () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom("ts" as const, "rust" as const), (cwd, dialect) => {
        expect(encodeCwd(cwd, dialect)).not.toMatch(/[/\\]/);
      }),
      { numRuns: 200 },
    );
  });

  it("sessionDirFor joins the encoded cwd under the sessions root", () => {
    expect(sessionDirFor("/root/sessions", "/home/user/proj")).toBe(join("/root/sessions", "--home-user-proj--"));
    expect(sessionDirFor("/root/sessions", "//x", "rust")).toBe(join("/root/sessions", "--x--"));
  });
});

describe("session file names: <timestamp with : and . as ->_<id>.jsonl; Rust keeps 8 id characters", () => {
  const iso = "2025-01-15T09:00:00.123Z";

  it("TS: the whole session id", () => {
    expect(sessionFileName("01946a2e-5c00-7000-8000-000000000a01", iso)).toBe("2025-01-15T09-00-00-123Z_01946a2e-5c00-7000-8000-000000000a01.jsonl");
    expect(sessionFileName("01946a2e-5c00-7000-8000-000000000a01", iso, "ts")).toBe("2025-01-15T09-00-00-123Z_01946a2e-5c00-7000-8000-000000000a01.jsonl");
  });

  it("Rust: the first 8 characters of the id", () => {
    expect(sessionFileName("01946a2e-5c00-7000-8000-000000000a01", iso, "rust")).toBe("2025-01-15T09-00-00-123Z_01946a2e.jsonl");
  });

  it("the timestamp part is what pi writes: every : and . replaced by -", () => {
    expect(fileTimestamp(iso)).toBe(iso.replace(/[:.]/g, "-"));
  });

  it("a hostile id cannot add a separator or .. to the name", () => {
    expect(sessionFileName("../../etc/passwd", iso)).toBe("2025-01-15T09-00-00-123Z_______etc_passwd.jsonl");
    expect(sessionFileName("../../etc/passwd", iso, "rust")).toBe("2025-01-15T09-00-00-123Z_______et.jsonl");
    fc.assert(
      fc.property(fc.string(), fc.constantFrom("ts" as const, "rust" as const), (id, dialect) => {
        const name = sessionFileName(id, iso, dialect);
        expect(name).toMatch(/^[0-9TZ-]+_[A-Za-z0-9_-]+\.jsonl$/);
        expect(childPath(tmpRoot, name)).toBe(join(tmpRoot, name));
      }),
      { numRuns: 200 },
    );
  });

  it("sanitizeFileComponent never returns an empty name", () => {
    expect(sanitizeFileComponent("")).toBe("_");
    expect(sanitizeFileComponent("..")).toBe("__");
    expect(sanitizeFileComponent("a.b/c")).toBe("a_b_c");
  });
});

describe("childPath joins one name under a directory and refuses anything that would leave it", () => {
  it.each(["..", ".", "", "/", "a/b", "a\\b", "../x", "x/..", "nul\0byte", "/etc/passwd"])("refuses %j with E_PATH_UNSAFE naming the directory", (name) => {
    expect(() => childPath("/base", name)).toThrow(expect.objectContaining({ code: "E_PATH_UNSAFE", file: "/base" }));
  });

  it.each(["x.jsonl", "x.v2", "...", "..x", "-", "日本"])("accepts %j", (name) => {
    expect(childPath("/base", name)).toBe(join("/base", name));
  });

  it("anything it accepts is directly inside the directory", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (name) => {
        let p: string;
        try {
          p = childPath("/base/dir", name);
        } catch {
          return;
        }
        expect(resolve(p, "..")).toBe("/base/dir");
        expect(isInside("/base/dir", p)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("gives what path.join gives, for any directory", () => {
    const part = fc.constantFrom("", ".", "..", "a", "bc", "...", ".x", "x.", "é");
    const dir = fc.tuple(fc.boolean(), fc.array(part, { maxLength: 5 }), fc.boolean()).map(([abs, parts, trailing]) => `${abs ? "/" : ""}${parts.join("/")}${trailing ? "/" : ""}`);
    fc.assert(
      fc.property(dir, fc.string({ minLength: 1, maxLength: 6 }), (d, name) => {
        let p: string;
        try {
          p = childPath(d, name);
        } catch {
          return;
        }
        expect(p).toBe(join(d, name));
      }),
      { numRuns: 2000 },
    );
  });

  it("so is anything it accepts under a relative, unnormalised or root directory", () => {
    fc.assert(
      fc.property(fc.constantFrom("", ".", "..", "/", "a", "a/../b", "./a//b/", "../up", "/x/./y/.."), fc.string({ maxLength: 12 }), (dir, name) => {
        let p: string;
        try {
          p = childPath(dir, name);
        } catch {
          return;
        }
        expect(dirname(resolve(p))).toBe(resolve(dir));
        expect(basename(p)).toBe(name);
      }),
      { numRuns: 500 },
    );
  });
});

describe("sidecarPath is <dir>/<stem>.v2 beside <dir>/<stem>.jsonl", () => {
  it.each([
    ["/s/--p--/2025-01-15T09-00-00-000Z_abc.jsonl", "/s/--p--/2025-01-15T09-00-00-000Z_abc.v2"],
    ["/s/session", "/s/session.v2"],
    ["/s/x.jsonl.bak", "/s/x.jsonl.bak.v2"],
    ["relative.jsonl", "relative.v2"],
  ])("%s -> %s", (file, sidecar) => {
    expect(sidecarPath(file)).toBe(sidecar);
  });

  it("a file named only .jsonl has an empty stem: the sidecar is the hidden .v2 in the same directory", () => {
    expect(sidecarPath("/s/.jsonl")).toBe("/s/.v2");
  });
});

describe("defaultSessionsRoot: $PI_CODING_AGENT_DIR/sessions, else ~/.pi/agent/sessions", () => {
  it("uses the environment it is given", () => {
    expect(defaultSessionsRoot({ PI_CODING_AGENT_DIR: "/opt/agent" })).toBe(join("/opt/agent", "sessions"));
    expect(defaultSessionsRoot({})).toBe(join(homedir(), ".pi", "agent", "sessions"));
    expect(defaultSessionsRoot({ PI_CODING_AGENT_DIR: "" })).toBe(join(homedir(), ".pi", "agent", "sessions"));
  });

  it.each(["/opt/agent", "~", "~/agents/pi", "~user/x", "rel/dir"])("PI_CODING_AGENT_DIR=%j gives pi's <agent dir>/sessions (a leading ~ expanded as pi does)", (value) => {
    expect(defaultSessionsRoot({ PI_CODING_AGENT_DIR: value })).toBe(join(withAgentDir(value, getAgentDir), "sessions"));
  });
});

describe("isInside: a path is inside a root after resolving both", () => {
  it.each([
    ["/a", "/a", true],
    ["/a", "/a/b", true],
    ["/a", "/a/b/../c", true],
    ["/a", "/ab", false],
    ["/a", "/a/../b", false],
    ["/a/", "/a/b", true],
  ])("isInside(%j, %j) is %j", (root, p, inside) => {
    expect(isInside(root, p)).toBe(inside);
  });
});
