import { defineConfig } from "vitest/config";

// `npm run soak`: the reliability suites (test/reliability, the same files `npm test`
// runs) at their long counts (SESSFMT_SOAK=1), with a summary of what they did.
export default defineConfig({
  test: {
    include: ["test/reliability/**/*.test.ts"],
    globalSetup: ["test/helpers/reliability/soak-summary.ts"],
    testTimeout: 3_600_000,
    hookTimeout: 600_000,
    pool: "forks",
  },
});
