// Versioned schema migrations, applied at open. The applied version lives in `meta.schema_version`;
// all pending migrations run in one transaction (both SQLite and PostgreSQL have transactional DDL),
// so a crash mid-migration leaves the previous version intact. On PostgreSQL an advisory lock
// serializes gateway replicas that start at the same time; on SQLite BEGIN IMMEDIATE does.
import { sql, type CreateTableBuilder } from "kysely";
import { writeTx, type Db } from "./db.js";
import { StoreError } from "./errors.js";
import { numberFromDb } from "./codec.js";
import { importLegacyPayerRecords } from "./legacyPayerRecords.js";

/** One schema step. Versions are 1, 2, 3, … and never change once released. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: Db): Promise<void>;
}

/** The `meta` key holding the applied schema version. */
export const SCHEMA_VERSION_KEY = "schema_version";

// Arbitrary constant: "livepay" in ASCII, the PostgreSQL advisory lock id of migrations.
const MIGRATION_LOCK_ID = 0x6c69766570617an;

// An insertion-ordered primary key: SQLite's INTEGER PRIMARY KEY AUTOINCREMENT never reuses a value,
// PostgreSQL's identity column is a sequence.
function withSeq<T extends string>(
  db: Db,
  table: CreateTableBuilder<T, never>,
): CreateTableBuilder<T, "seq"> {
  return db.dialect === "sqlite"
    ? table.addColumn("seq", "integer", (c) => c.primaryKey().autoIncrement())
    : table.addColumn("seq", "bigint", (c) => c.primaryKey().generatedByDefaultAsIdentity());
}

/** Every migration, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "orchestrator: payer balances, winning tickets, sender nonces",
    async up(db) {
      const s = db.kysely.schema;
      await s
        .createTable("payer_balances")
        .addColumn("sender", "text", (c) => c.notNull())
        .addColumn("manifest_id", "text", (c) => c.notNull())
        .addColumn("amount_num", "text", (c) => c.notNull())
        .addColumn("amount_den", "text", (c) => c.notNull())
        .addColumn("fixed_price_num", "text")
        .addColumn("fixed_price_den", "text")
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("payer_balances_pk", ["sender", "manifest_id"])
        .execute();

      await withSeq(db, s.createTable("winning_tickets"))
        .addColumn("ticket_hash", "text", (c) => c.notNull().unique())
        .addColumn("sender", "text", (c) => c.notNull())
        .addColumn("recipient", "text", (c) => c.notNull())
        .addColumn("face_value", "text", (c) => c.notNull())
        .addColumn("win_prob", "text", (c) => c.notNull())
        .addColumn("sender_nonce", "bigint", (c) => c.notNull())
        .addColumn("recipient_rand", "text", (c) => c.notNull())
        .addColumn("recipient_rand_hash", "text", (c) => c.notNull())
        .addColumn("sig", "text", (c) => c.notNull())
        .addColumn("creation_round", "bigint", (c) => c.notNull())
        .addColumn("creation_round_block_hash", "text", (c) => c.notNull())
        .addColumn("params_expiration_block", "bigint", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("attempts", "bigint", (c) => c.notNull())
        .addColumn("last_error", "text")
        .addColumn("tx_hash", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await s
        .createIndex("winning_tickets_status_idx")
        .on("winning_tickets")
        .columns(["status", "params_expiration_block"])
        .execute();
      await s
        .createIndex("winning_tickets_sender_idx")
        .on("winning_tickets")
        .columns(["sender", "status"])
        .execute();

      await s
        .createTable("sender_nonces")
        .addColumn("recipient_rand", "text", (c) => c.notNull())
        .addColumn("nonce", "bigint", (c) => c.notNull())
        .addColumn("expiration_block", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("sender_nonces_pk", ["recipient_rand", "nonce"])
        .execute();
      await s
        .createIndex("sender_nonces_expiration_idx")
        .on("sender_nonces")
        .column("expiration_block")
        .execute();
    },
  },
  {
    version: 2,
    name: "gateway: api keys, credit reservations, idempotency, usage, PM sessions and balances",
    async up(db) {
      const s = db.kysely.schema;
      await s
        .createTable("api_keys")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("key_hash", "text", (c) => c.notNull().unique())
        .addColumn("key_prefix", "text", (c) => c.notNull())
        .addColumn("granted_wei", "text", (c) => c.notNull())
        .addColumn("available_wei", "text", (c) => c.notNull())
        .addColumn("reserved_wei", "text", (c) => c.notNull())
        .addColumn("spent_wei", "text", (c) => c.notNull())
        .addColumn("cap_per_request_wei", "text")
        .addColumn("cap_per_day_wei", "text")
        .addColumn("disabled_at", "bigint")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();

      await s
        .createTable("credit_reservations")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("key_id", "text", (c) => c.notNull().references("api_keys.id"))
        .addColumn("amount_wei", "text", (c) => c.notNull())
        .addColumn("committed_wei", "text")
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("idempotency_key", "text")
        .addColumn("day", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("closed_at", "bigint")
        .addUniqueConstraint("credit_reservations_idem_uq", ["key_id", "idempotency_key"])
        .execute();
      await s
        .createIndex("credit_reservations_open_idx")
        .on("credit_reservations")
        .columns(["status", "created_at"])
        .execute();

      await s
        .createTable("key_daily_spend")
        .addColumn("key_id", "text", (c) => c.notNull().references("api_keys.id"))
        .addColumn("day", "text", (c) => c.notNull())
        .addColumn("amount_wei", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("key_daily_spend_pk", ["key_id", "day"])
        .execute();

      await s
        .createTable("idempotency_records")
        .addColumn("key_id", "text", (c) => c.notNull())
        .addColumn("idempotency_key", "text", (c) => c.notNull())
        .addColumn("request_hash", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("response", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("idempotency_records_pk", ["key_id", "idempotency_key"])
        .execute();

      await withSeq(db, s.createTable("usage_records"))
        .addColumn("request_id", "text", (c) => c.notNull().unique())
        .addColumn("key_id", "text", (c) => c.notNull())
        .addColumn("pipeline", "text", (c) => c.notNull())
        .addColumn("model", "text", (c) => c.notNull())
        .addColumn("units", "text", (c) => c.notNull())
        .addColumn("fee_wei", "text", (c) => c.notNull())
        .addColumn("orchestrator", "text")
        .addColumn("tickets_sent", "bigint", (c) => c.notNull())
        .addColumn("ev_sent_num", "text", (c) => c.notNull())
        .addColumn("ev_sent_den", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("day", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await s
        .createIndex("usage_records_key_idx")
        .on("usage_records")
        .columns(["key_id", "created_at"])
        .execute();
      await s.createIndex("usage_records_day_idx").on("usage_records").columns(["day", "key_id"]).execute();

      await s
        .createTable("gateway_sessions")
        .addColumn("session_id", "text", (c) => c.primaryKey())
        .addColumn("last_nonce", "bigint", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();

      await s
        .createTable("gateway_balances")
        .addColumn("recipient", "text", (c) => c.notNull())
        .addColumn("session_id", "text", (c) => c.notNull())
        .addColumn("amount_num", "text", (c) => c.notNull())
        .addColumn("amount_den", "text", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("gateway_balances_pk", ["recipient", "session_id"])
        .execute();
    },
  },
  {
    version: 3,
    name: "gateway: the persistent payer's records in their own table (moved out of meta)",
    async up(db) {
      // Byte (code point) order on both backends, so a prefix is an index range: SQLite's BINARY
      // default already is; PostgreSQL needs the "C" collation (see payerRecords.ts).
      const keyType = db.dialect === "postgres" ? sql`text collate "C"` : "text";
      let table = db.kysely.schema
        .createTable("persistent_payer_records")
        .addColumn("namespace", keyType, (c) => c.notNull())
        .addColumn("key", keyType, (c) => c.notNull())
        .addColumn("value", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("persistent_payer_records_pk", ["namespace", "key"]);
      // Rows clustered by the primary key: a directory listing reads adjacent pages.
      if (db.dialect === "sqlite") table = table.modifyEnd(sql`without rowid`);
      await table.execute();
      await importLegacyPayerRecords(db);
    },
  },
  {
    version: 4,
    name: "usage: the gateway's own fee as its own column (part of fee_wei, never hidden in it)",
    async up(db) {
      await db.kysely.schema
        .alterTable("usage_records")
        .addColumn("gateway_fee_wei", "text", (c) => c.notNull().defaultTo("0"))
        .execute();
    },
  },
];

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

async function readVersion(db: Db): Promise<number> {
  const row = await db.kysely
    .selectFrom("meta")
    .select("value")
    .where("key", "=", SCHEMA_VERSION_KEY)
    .executeTakeFirst();
  if (!row) return 0;
  return numberFromDb(row.value, SCHEMA_VERSION_KEY);
}

/**
 * Applies every migration above the database's version up to `target` (default: all), atomically.
 * Idempotent: a second call changes nothing. Throws `STORE_SCHEMA_TOO_NEW` when the database was
 * migrated by a newer livepay, rather than running old code against an unknown schema.
 * @example const { from, to } = await migrate(db) // { from: 0, to: 2 } on a new database
 */
export async function migrate(
  db: Db,
  target: number = SCHEMA_VERSION,
): Promise<{ from: number; to: number }> {
  if (!Number.isSafeInteger(target) || target < 0 || target > SCHEMA_VERSION) {
    throw new StoreError("STORE_INVALID_INPUT", "target: unknown schema version", { target });
  }
  return writeTx(db, async (tx) => {
    if (tx.dialect === "postgres") {
      await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`.execute(tx.kysely);
    }
    await tx.kysely.schema
      .createTable("meta")
      .ifNotExists()
      .addColumn("key", "text", (c) => c.primaryKey())
      .addColumn("value", "text", (c) => c.notNull())
      .execute();
    const from = await readVersion(tx);
    if (from > SCHEMA_VERSION) {
      throw new StoreError("STORE_SCHEMA_TOO_NEW", "database schema is newer than this livepay", {
        database: from,
        supported: SCHEMA_VERSION,
      });
    }
    for (const m of MIGRATIONS) {
      if (m.version > from && m.version <= target) await m.up(tx);
    }
    const to = Math.max(from, target);
    if (to !== from) {
      await tx.kysely
        .insertInto("meta")
        .values({ key: SCHEMA_VERSION_KEY, value: String(to) })
        .onConflict((oc) => oc.column("key").doUpdateSet({ value: String(to) }))
        .execute();
    }
    return { from, to };
  });
}

/**
 * The schema version recorded in the database (0 before the first migration).
 * @example await schemaVersion(db) // 2
 */
export async function schemaVersion(db: Db): Promise<number> {
  return readVersion(db);
}
