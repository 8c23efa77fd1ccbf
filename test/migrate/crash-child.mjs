// A process that dies (SIGKILL: no cleanup, no finally) at a chosen point of a migration
// or rollback, run against the built package. Usage:
//   node crash-child.mjs migrate <file> <phase>        killed right before <phase>'s work
//   node crash-child.mjs migrate-progress <file> <p>   killed inside the staging copy, once progress reaches p/1000
//   node crash-child.mjs rollback <file>               killed after the sidecar was renamed aside
import { migrateJsonlToV2, rollbackV2Sidecar } from "../../dist/index.js";

const [op, file, arg] = process.argv.slice(2);
const die = () => process.kill(process.pid, "SIGKILL");

if (op === "migrate") {
  await migrateJsonlToV2(file, { skipInvalid: true, onPhase: (phase) => (phase === arg ? die() : undefined) });
} else if (op === "migrate-progress") {
  await migrateJsonlToV2(file, {
    segmentBytes: 4096,
    onProgress: (done) => {
      if (done >= Number(arg)) die();
    },
  });
} else if (op === "rollback") {
  await rollbackV2Sidecar(file, { onRemoved: die });
} else {
  throw new Error(`unknown operation ${op}`);
}
process.stdout.write("finished without being killed\n");
