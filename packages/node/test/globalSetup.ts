// vitest globalSetup: one PostgreSQL for the whole test run (see postgres.ts), provided to test
// workers as `inject("livepayPostgres")` and as the LIVEPAY_TEST_PG_URL environment variable; stopped
// and deleted at teardown.
import type { TestProject } from "vitest/node";
import { startTestPostgres } from "./postgres.js";

/** Starts PostgreSQL for the run and returns the teardown. @example globalSetup: ["packages/node/test/globalSetup.ts"] */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const pg = await startTestPostgres();
  project.provide("livepayPostgres", pg.info);
  if (pg.info.url) process.env.LIVEPAY_TEST_PG_URL = pg.info.url;
  return () => pg.stop();
}
