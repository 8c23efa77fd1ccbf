/**
 * Child process for the concurrent-append tests:
 *   node --import tsx test/helpers/appender.ts <file> <count> <tag> <durability> <parent>
 * Appends <count> custom entries one at a time and prints their ids as JSON.
 */
import { SessionWriter, type AutosaveDurabilityMode } from "../../src/index.js";

const [file, count, tag, durability, parent] = process.argv.slice(2);
const writer = await SessionWriter.open(file as string, {
  parent: parent === "leaf" ? "leaf" : "fileTail",
  durability: durability as AutosaveDurabilityMode,
  lockTimeoutMs: 60_000,
});
const ids: string[] = [];
for (let i = 0; i < Number(count); i++) {
  ids.push(await writer.append({ type: "custom", customType: "worker", data: { tag, i } }));
}
await writer.close();
process.stdout.write(JSON.stringify(ids));
