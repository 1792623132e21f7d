// Opens throwaway stores on each backend for the store tests: SQLite in a temp file, PostgreSQL in a
// fresh schema of the test cluster (see postgres.ts). Everything opened is closed by `cleanup()`.
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type OpenStoreOptions, type Store } from "../src/store/index.js";
import { freshPostgresUrl, postgresSkipped } from "./postgres.js";

const require = createRequire(import.meta.url);

/** The backends a store test runs on. */
export type Backend = "sqlite" | "postgres";

/** SQLite always; PostgreSQL unless LIVEPAY_SKIP_PG=1 (if it is unavailable, its tests fail). */
export const BACKENDS: Backend[] = postgresSkipped() ? ["sqlite"] : ["sqlite", "postgres"];

/** A database location and the stores opened on it. */
export interface TestDatabase {
  backend: Backend;
  location: { path: string } | { url: string };
  /** Opens (another) store on the same database. */
  open(options?: Omit<OpenStoreOptions, "url" | "path">): Promise<Store>;
  /** Runs one SQL statement straight on the database, behind the store's back (old rows, corruption). */
  exec(statement: string): Promise<void>;
  /** Closes every store opened here and deletes the SQLite temp dir. */
  cleanup(): Promise<void>;
}

/**
 * A new empty database on `backend`.
 * @example const db = await testDatabase("postgres"); const store = await db.open({ now: () => t })
 */
export async function testDatabase(backend: Backend): Promise<TestDatabase> {
  const stores: Store[] = [];
  let dir: string | undefined;
  let location: TestDatabase["location"];
  if (backend === "sqlite") {
    dir = await mkdtemp(join(tmpdir(), "livepay-store-"));
    location = { path: join(dir, "store.db") };
  } else {
    location = { url: await freshPostgresUrl() };
  }
  return {
    backend,
    location,
    async open(options = {}) {
      const store = await openStore({ ...options, ...location });
      stores.push(store);
      return store;
    },
    async exec(statement) {
      if ("path" in location) {
        const Database = require("better-sqlite3") as new (p: string) => {
          exec(s: string): void;
          close(): void;
        };
        const raw = new Database(location.path);
        try {
          raw.exec(statement);
        } finally {
          raw.close();
        }
        return;
      }
      const { Client } = require("pg") as {
        Client: new (c: { connectionString: string }) => {
          connect(): Promise<void>;
          query(s: string): Promise<unknown>;
          end(): Promise<void>;
        };
      };
      const c = new Client({ connectionString: location.url });
      await c.connect();
      try {
        await c.query(statement);
      } finally {
        await c.end();
      }
    },
    async cleanup() {
      await Promise.all(stores.map((s) => s.close()));
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
