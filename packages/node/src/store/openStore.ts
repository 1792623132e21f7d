import { resolve } from "node:path";
import { Kysely, type Dialect as KyselyDialect } from "kysely";
import { SqlApiKeys, type ApiKeys } from "./apiKeys.js";
import { SqlCreditReservations, type CreditReservations } from "./creditReservations.js";
import { writeTx, type Db, type Dialect } from "./db.js";
import { openPostgres, openSqlite } from "./drivers.js";
import { StoreError } from "./errors.js";
import { SqlGatewayBalances, type GatewayBalances } from "./gatewayBalances.js";
import { SqlIdempotencyRecords, type IdempotencyRecords } from "./idempotency.js";
import { SqlMetaStore, type MetaStore } from "./meta.js";
import { migrate, schemaVersion } from "./migrations.js";
import { SqlPayerBalances, type PayerBalances } from "./payerBalances.js";
import { SqlPayerRecords, type PayerRecords } from "./payerRecords.js";
import type { Schema } from "./schema.js";
import { SqlSenderNonceStore, type SenderNonceStore } from "./senderNonces.js";
import { SqlSessionNonces, type SessionNonces } from "./sessionNonces.js";
import { SqlUsageRecords, type UsageRecords } from "./usage.js";
import { SqlWinningTicketQueue, type WinningTicketQueue } from "./winningTickets.js";

/** Where the store lives. Give exactly one of `url` (PostgreSQL) or `path` (SQLite). */
export interface OpenStoreOptions {
  /** `postgres://…` or `postgresql://…` selects PostgreSQL; `sqlite:PATH` is the same as `path`. */
  url?: string;
  /** SQLite database file (created with its directory if missing); `":memory:"` for throwaway tests. */
  path?: string;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /** Clock in ms since the epoch (default `Date.now`); tests inject one to cross UTC days. */
  now?: () => number;
  /** Apply migrations up to this version only (tests of the migration path); default: all. */
  migrateTo?: number;
}

/**
 * Every repository, small and typed. The orchestrator uses `payerBalances`, `winningTickets`,
 * `senderNonces`, `meta`; the gateway uses `apiKeys`, `reservations`, `idempotency`, `usage`,
 * `sessionNonces`, `gatewayBalances`, `payerRecords` (its persistent-ticket payer's record).
 *
 * Durability contract: every method that writes resolves only after its transaction committed
 * (fsynced on SQLite with synchronous=FULL; flushed by PostgreSQL's synchronous_commit), so a
 * response sent after `await` never depends on a write that a crash could undo. Every method that
 * throws a `StoreError` changed nothing.
 */
export interface StoreRepositories {
  readonly meta: MetaStore;
  readonly payerBalances: PayerBalances;
  readonly winningTickets: WinningTicketQueue;
  readonly senderNonces: SenderNonceStore;
  readonly apiKeys: ApiKeys;
  readonly reservations: CreditReservations;
  readonly idempotency: IdempotencyRecords;
  readonly usage: UsageRecords;
  readonly sessionNonces: SessionNonces;
  readonly gatewayBalances: GatewayBalances;
  readonly payerRecords: PayerRecords;
}

/** An open store. */
export interface Store extends StoreRepositories {
  readonly dialect: Dialect;
  /**
   * Runs several repository calls in one transaction: all commit together, or none does if `fn`
   * throws. Inside `fn` use only `tx` (on SQLite the outer store waits for the transaction to end, so
   * calling it from inside would deadlock). `fn` may be re-run after a PostgreSQL deadlock.
   * @example await store.transaction(async (tx) => { await tx.reservations.commit(r.id, fee); await tx.usage.record(u) })
   */
  transaction<T>(fn: (tx: StoreRepositories) => Promise<T>): Promise<T>;
  /** The applied schema version. @example await store.schemaVersion() // 3 */
  schemaVersion(): Promise<number>;
  /** Closes the database (idempotent). @example await store.close() */
  close(): Promise<void>;
}

function repositories(db: Db): StoreRepositories {
  return {
    meta: new SqlMetaStore(db),
    payerBalances: new SqlPayerBalances(db),
    winningTickets: new SqlWinningTicketQueue(db),
    senderNonces: new SqlSenderNonceStore(db),
    apiKeys: new SqlApiKeys(db),
    reservations: new SqlCreditReservations(db),
    idempotency: new SqlIdempotencyRecords(db),
    usage: new SqlUsageRecords(db),
    sessionNonces: new SqlSessionNonces(db),
    gatewayBalances: new SqlGatewayBalances(db),
    payerRecords: new SqlPayerRecords(db),
  };
}

function selectBackend(options: OpenStoreOptions): { dialect: Dialect; target: string } {
  const { url, path } = options;
  if (url !== undefined && path !== undefined) {
    throw new StoreError("STORE_CONFIG", "give either a database url or a SQLite path, not both");
  }
  if (url !== undefined) {
    if (/^postgres(ql)?:\/\//i.test(url)) return { dialect: "postgres", target: url };
    if (url.startsWith("sqlite:")) {
      const p = url.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
      if (p.length > 0) return { dialect: "sqlite", target: p };
    }
    throw new StoreError("STORE_CONFIG", "unsupported database url (postgres://… or sqlite:PATH)", {
      scheme: url.split(":")[0]?.slice(0, 20),
    });
  }
  if (path !== undefined && path.length > 0) return { dialect: "sqlite", target: path };
  throw new StoreError("STORE_CONFIG", "no database given: set a SQLite path or a postgres:// url");
}

/**
 * Opens the store: SQLite at `path` (the embedded default) or PostgreSQL at `url`, and applies the
 * schema migrations. Throws `STORE_CONFIG` for bad options and `STORE_SCHEMA_TOO_NEW` for a database
 * written by a newer livepay.
 * @example const store = await openStore({ path: "./data/gateway.db" }) // or { url: process.env.DATABASE_URL }
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const { dialect, target } = selectBackend(options);
  if (options.poolSize !== undefined && (!Number.isSafeInteger(options.poolSize) || options.poolSize < 1)) {
    throw new StoreError("STORE_CONFIG", "poolSize must be a positive integer");
  }
  const handle =
    dialect === "sqlite" ? acquireSqlite(target) : ownHandle(openPostgres(target, options.poolSize));
  const db: Db = { kysely: handle.kysely, dialect, inTransaction: false, now: options.now ?? Date.now };
  try {
    await migrate(db, options.migrateTo);
  } catch (e) {
    await handle.release().catch(() => undefined);
    throw e;
  }
  let closed: Promise<void> | undefined;
  return {
    dialect,
    ...repositories(db),
    transaction: (fn) => writeTx(db, (tx) => fn(repositories(tx))),
    schemaVersion: () => schemaVersion(db),
    close: () => (closed ??= handle.release()),
  };
}

interface Handle {
  kysely: Kysely<Schema>;
  release(): Promise<void>;
}

function ownHandle(dialect: KyselyDialect): Handle {
  const kysely = new Kysely<Schema>({ dialect });
  return { kysely, release: () => kysely.destroy() };
}

// One SQLite connection per file per process. better-sqlite3 is synchronous: a second connection in
// the same process waiting for the write lock (busy_timeout) would block the event loop, and with it
// the transaction holding the lock, until the timeout. Sharing one connection lets Kysely's connection
// mutex queue the transactions instead. Other processes on the same file are still serialized by
// SQLite's file lock (BEGIN IMMEDIATE + busy_timeout).
const sqliteHandles = new Map<string, { kysely: Kysely<Schema>; refs: number }>();

function acquireSqlite(path: string): Handle {
  const key = path === ":memory:" ? undefined : resolve(path);
  let shared = key === undefined ? undefined : sqliteHandles.get(key);
  if (!shared) {
    shared = { kysely: new Kysely<Schema>({ dialect: openSqlite(path) }), refs: 0 };
    if (key !== undefined) sqliteHandles.set(key, shared);
  }
  shared.refs++;
  const entry = shared;
  return {
    kysely: entry.kysely,
    release: async () => {
      if (--entry.refs > 0) return;
      if (key !== undefined && sqliteHandles.get(key) === entry) sqliteHandles.delete(key);
      await entry.kysely.destroy();
    },
  };
}
