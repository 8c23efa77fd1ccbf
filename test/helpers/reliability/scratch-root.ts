import { mkdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { makeTempDir } from "../session-files.js";

/**
 * A temporary directory for a test file (made before its tests, removed after them), by
 * its real path so child processes and the test name files the same way; `dirFor(name)` is
 * a subdirectory of it, made on first use.
 */
export function scratchRoot(prefix: string): (name: string) => string {
  let tmp: ReturnType<typeof makeTempDir>;
  let root: string;
  beforeAll(() => {
    tmp = makeTempDir(prefix);
    root = realpathSync(tmp.dir);
  });
  afterAll(() => tmp.cleanup());
  return (name) => {
    const d = join(root, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
}
