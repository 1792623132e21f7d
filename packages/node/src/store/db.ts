// The query handle every repository receives, and the write-transaction helper that makes
// read-modify-write on balances safe under concurrency on both backends.
import { sql, type Kysely } from "kysely";
import type { Schema } from "./schema.js";

/** Which database a store runs on. */
export type Dialect = "sqlite" | "postgres";

/**
 * What a repository runs its queries on: the shared Kysely instance, or the single connection of a
 * transaction in progress (then `inTransaction` is true and nested write transactions join it).
 */
export interface Db {
  readonly kysely: Kysely<Schema>;
  readonly dialect: Dialect;
  readonly inTransaction: boolean;
  /** Milliseconds since the epoch; injectable so tests can cross a UTC day. */
  readonly now: () => number;
}

// PostgreSQL: serialization_failure and deadlock_detected abort the whole transaction before it
// commits, so re-running it is safe. SQLite: SQLITE_BUSY after busy_timeout (another process holds
// the write lock for longer than 5 s).
const RETRYABLE = new Set(["40001", "40P01", "SQLITE_BUSY"]);
const MAX_ATTEMPTS = 5;

function isRetryable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && RETRYABLE.has(code);
}

/**
 * Runs `fn` in one write transaction, or inside the caller's transaction when there already is one.
 * SQLite: `BEGIN IMMEDIATE` takes the database write lock up front, so a read followed by a write
 * cannot be interleaved with another writer (in this process Kysely's single-connection mutex already
 * serializes; the lock covers other processes on the same file). PostgreSQL: READ COMMITTED, and
 * repositories lock the rows they read-modify-write with `SELECT ... FOR UPDATE` (see `lockRows`).
 * Durability: the promise resolves only after COMMIT returned, i.e. after the commit is on disk
 * (SQLite synchronous=FULL, PostgreSQL synchronous_commit=on). `fn` may run again after a deadlock or
 * serialization failure, so it must have no effects outside the database.
 *
 * @example await writeTx(db, async (tx) => { const row = await lockRows(tx, q).executeTakeFirst(); ... })
 */
export async function writeTx<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  if (db.inTransaction) return fn(db);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.kysely.connection().execute(async (conn) => {
        await sql.raw(db.dialect === "sqlite" ? "begin immediate" : "begin").execute(conn);
        try {
          const result = await fn({ kysely: conn, dialect: db.dialect, inTransaction: true, now: db.now });
          await sql.raw("commit").execute(conn);
          return result;
        } catch (e) {
          // Also after a failed COMMIT, so the connection never goes back to the pool inside a transaction.
          await sql
            .raw("rollback")
            .execute(conn)
            .catch(() => undefined);
          throw e;
        }
      });
    } catch (e) {
      if (attempt >= MAX_ATTEMPTS || !isRetryable(e)) throw e;
      await new Promise((r) => setTimeout(r, 2 ** attempt + Math.random() * 10));
    }
  }
}

/**
 * Adds `FOR UPDATE` on PostgreSQL (a row lock held until the transaction ends); on SQLite the
 * `BEGIN IMMEDIATE` of `writeTx` already excludes every other writer, and SQLite has no FOR UPDATE.
 * @example const row = await lockRows(tx, tx.kysely.selectFrom("api_keys").selectAll().where("id", "=", id)).executeTakeFirst()
 */
export function lockRows<QB extends { forUpdate(): QB }>(db: Db, qb: QB): QB {
  return db.dialect === "postgres" ? qb.forUpdate() : qb;
}
