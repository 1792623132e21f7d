import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources; one test imports the built package to prove it loads without a loader.
    alias: {
      "@livepay/protocol/client": src("./packages/protocol/src/client/index.ts"),
      "@livepay/protocol": src("./packages/protocol/src/index.ts"),
      "@livepay/contracts": src("./packages/contracts/src/index.ts"),
    },
  },
  test: {
    include: ["packages/*/src/**/*.test.ts", "packages/*/test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: "forks",
    globalSetup: ["packages/node/test/globalSetup.ts"],
  },
});
