import { writeTx, type Db } from "./db.js";
import { textToDb } from "./codec.js";
import { StoreError } from "./errors.js";
import { SCHEMA_VERSION_KEY } from "./migrations.js";

/**
 * A small durable key/value table for node state that is not a ledger row: the orchestrator's
 * recipientRand HMAC secret (so ticket params survive restarts), identifiers, the schema version
 * (read-only here: only migrations write it). Values are strings; callers encode.
 */
export interface MetaStore {
  /** The value, or undefined. @example await store.meta.get("orchestrator.secret") */
  get(key: string): Promise<string | undefined>;
  /** Sets (overwrites) a value; committed when it resolves. @example await store.meta.set("k", "v") */
  set(key: string, value: string): Promise<void>;
  /**
   * Stores `value` only if the key is absent and returns the value that is stored, so replicas that
   * start together agree on one generated secret.
   * @example const secret = await store.meta.setIfAbsent("orchestrator.secret", randomHex())
   */
  setIfAbsent(key: string, value: string): Promise<string>;
  /** Deletes a key; true if it existed. @example await store.meta.delete("k") */
  delete(key: string): Promise<boolean>;
}

function writableKey(key: string): string {
  textToDb(key, "key");
  if (key === SCHEMA_VERSION_KEY) {
    throw new StoreError("STORE_INVALID_INPUT", "key: schema_version is managed by migrations", { key });
  }
  return key;
}

/** The SQL implementation of {@link MetaStore}. */
export class SqlMetaStore implements MetaStore {
  constructor(private readonly db: Db) {}

  async get(key: string): Promise<string | undefined> {
    const row = await this.db.kysely
      .selectFrom("meta")
      .select("value")
      .where("key", "=", textToDb(key, "key"))
      .executeTakeFirst();
    return row?.value;
  }

  async set(key: string, value: string): Promise<void> {
    const k = writableKey(key);
    if (typeof value !== "string") throw new StoreError("STORE_INVALID_INPUT", "value: must be a string");
    await this.db.kysely
      .insertInto("meta")
      .values({ key: k, value })
      .onConflict((oc) => oc.column("key").doUpdateSet({ value }))
      .execute();
  }

  async setIfAbsent(key: string, value: string): Promise<string> {
    const k = writableKey(key);
    if (typeof value !== "string") throw new StoreError("STORE_INVALID_INPUT", "value: must be a string");
    return writeTx(this.db, async (tx) => {
      await tx.kysely
        .insertInto("meta")
        .values({ key: k, value })
        .onConflict((oc) => oc.column("key").doNothing())
        .execute();
      const row = await tx.kysely
        .selectFrom("meta")
        .select("value")
        .where("key", "=", k)
        .executeTakeFirstOrThrow();
      return row.value;
    });
  }

  async delete(key: string): Promise<boolean> {
    const res = await this.db.kysely
      .deleteFrom("meta")
      .where("key", "=", writableKey(key))
      .executeTakeFirst();
    return res.numDeletedRows > 0n;
  }
}
