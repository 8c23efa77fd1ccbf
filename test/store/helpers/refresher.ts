/**
 * Child process for the concurrent catalog tests:
 *   node --import tsx test/store/helpers/refresher.ts <root> <rounds>
 * Refreshes the root's catalog <rounds> times and prints the last report as JSON.
 */
import { SessionCatalog } from "../../../src/store/index.js";

const [root, rounds] = process.argv.slice(2);
const catalog = await SessionCatalog.open(root as string, { busyTimeoutMs: 30_000 });
let report;
for (let i = 0; i < Number(rounds); i++) report = await catalog.refresh();
catalog.close();
process.stdout.write(JSON.stringify(report));
