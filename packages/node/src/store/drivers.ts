// Opens the two database drivers behind Kysely. Neither better-sqlite3 nor pg ships TypeScript types
// and @types packages are not dependencies, so they are loaded with `require` and typed here with the
// few members livepay uses. pg is only loaded when a PostgreSQL URL is given.
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { PostgresDialect, SqliteDialect, type PostgresPool, type SqliteDatabase } from "kysely";

const require = createRequire(import.meta.url);

interface BetterSqlite3Database extends SqliteDatabase {
  pragma(source: string, options?: { simple?: boolean }): unknown;
  defaultSafeIntegers(toggle?: boolean): BetterSqlite3Database;
}
type BetterSqlite3Constructor = new (filename: string) => BetterSqlite3Database;

interface PgPool extends PostgresPool {
  on(event: "error", listener: (err: Error) => void): unknown;
}
interface PgModule {
  Pool: new (config: { connectionString: string; max?: number }) => PgPool;
}

/**
 * Opens (creating if needed) a SQLite database file for the store, with the settings that make a
 * committed transaction durable:
 * - `journal_mode=WAL`: a commit appends to the write-ahead log instead of rewriting pages, so
 *   commits are cheap and readers never block the writer;
 * - `synchronous=FULL`: the WAL is fsynced at every commit. In WAL mode the default NORMAL only
 *   fsyncs at checkpoints, so a commit survives a process crash (kill -9: the data is in the OS page
 *   cache) but can be lost on power loss or a kernel crash. FULL makes "the write resolved" mean
 *   "on disk", which is what a money row needs;
 * - `busy_timeout=5000`: another process holding the write lock makes us wait, not fail;
 * - `foreign_keys=ON`; safe integers, so every INTEGER column comes back as an exact bigint.
 *
 * @example const dialect = openSqlite("/var/lib/livepay/gateway.db")
 */
export function openSqlite(path: string): SqliteDialect {
  if (path !== ":memory:" && !path.startsWith("file:")) mkdirSync(dirname(path), { recursive: true });
  const Database = require("better-sqlite3") as BetterSqlite3Constructor;
  const db = new Database(path);
  try {
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    // An in-memory database reports "memory" and cannot use WAL; anything else on a file is refused
    // loudly rather than silently running without the durability we document.
    if (mode !== "wal" && path !== ":memory:")
      throw new Error(`SQLite refused WAL mode (got ${String(mode)})`);
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    db.pragma("foreign_keys = ON");
    db.defaultSafeIntegers(true);
  } catch (e) {
    db.close();
    throw e;
  }
  return new SqliteDialect({ database: db });
}

/**
 * A PostgreSQL dialect over a `pg` connection pool. The server's default `synchronous_commit=on`
 * is what makes a resolved write durable: do not turn it off for a livepay database.
 * @example const dialect = openPostgres("postgres://livepay@db/livepay", 10)
 */
export function openPostgres(url: string, poolSize = 10): PostgresDialect {
  const pg = require("pg") as PgModule;
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client's connection dropping (server restart, network) emits 'error' on the pool; without
  // a listener Node would crash the process. The pool discards that client and reconnects on demand.
  pool.on("error", () => undefined);
  return new PostgresDialect({ pool });
}
