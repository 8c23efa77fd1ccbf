/**
 * Child process for the concurrent store tests:
 *   node --import tsx test/store/helpers/store-appender.ts <jsonl|sqlite> <root> <session id> <count> <tag>
 * Appends <count> custom entries one call at a time under the default parent.
 */
import { JsonlSessionStore, SqliteSessionStore } from "../../../src/store/index.js";

const [kind, root, id, count, tag] = process.argv.slice(2) as [string, string, string, string, string];
const store = kind === "sqlite" ? new SqliteSessionStore({ root, durable: false }) : new JsonlSessionStore({ root, durability: "throughput", lockTimeoutMs: 60_000 });
for (let i = 0; i < Number(count); i++) await store.append(id, [{ type: "custom", customType: "worker", data: { tag, i } }]);
await store.close();
