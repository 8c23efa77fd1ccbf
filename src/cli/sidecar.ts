import { defineCommandGroup } from "./command-group.js";
import { sidecarCheckpointCommand, sidecarRollbackCommand } from "./sidecar-checkpoint.js";
import { sidecarCreateCommand, sidecarInfoCommand } from "./sidecar-info.js";
import { sidecarRebuildCommand, sidecarSyncCommand } from "./sidecar-repair.js";
import { sidecarValidateCommand } from "./sidecar-validate.js";

/** `sessfmt sidecar <subcommand>`: the V2 sidecar (<stem>.v2/ beside a JSONL session, SPEC.md section 11). */
export const sidecarCommand = defineCommandGroup({
  command: "sidecar",
  describe: "Create, inspect, check, sync, repair, checkpoint and roll back a session's V2 sidecar (<stem>.v2/)",
  subcommands: [
    sidecarInfoCommand,
    sidecarCreateCommand,
    sidecarValidateCommand,
    sidecarSyncCommand,
    sidecarRebuildCommand,
    sidecarCheckpointCommand,
    sidecarRollbackCommand,
  ],
  builder: (y) =>
    y
      .example("$0 sidecar create s.jsonl", "Build s.v2/ from s.jsonl")
      .example("$0 sidecar info s.jsonl", "Entries, segments, head, chain, freshness")
      .example("$0 sidecar sync s.jsonl", "Frame the lines appended to s.jsonl")
      .example("$0 info s.jsonl --from-sidecar", "Read a session through its sidecar")
      .epilog(
        "The JSONL stays the source of truth: a sidecar holds its entry lines, indexed and checksummed, in the layout of the " +
          "pi Rust port's session store, and can always be rebuilt from it. Each subcommand has its own --help.",
      ),
});
