import type { Selectable } from "kysely";
import { lockRows, writeTx, type Db } from "./db.js";
import { numberFromDb, textToDb } from "./codec.js";
import { StoreError } from "./errors.js";
import type { IdempotencyRecordsTable } from "./schema.js";

/** What the caller should do with a request carrying an `Idempotency-Key`. */
export type IdempotencyBegin =
  /** First time: run the request, then `complete` (or `abandon` if it failed without effects). */
  | { state: "started" }
  /** The same request is still running (or crashed mid-way): answer 409 and let the client retry. */
  | { state: "in_progress" }
  /** Already done: return the stored response unchanged. */
  | { state: "completed"; response: string };

/** One stored idempotency record. */
export interface IdempotencyRecord {
  keyId: string;
  idempotencyKey: string;
  /** Hash of the canonical request the key was first used with. */
  requestHash: string;
  status: "in_progress" | "completed";
  /** The serialized response (the caller's format), once completed. */
  response: string | undefined;
  createdAt: number;
  updatedAt: number;
}

/**
 * `Idempotency-Key` records per API key: (keyId, idempotencyKey) → request hash, status, response.
 * A retried request with the same key gets the stored response; the same key with a different
 * request body is `IDEMPOTENCY_CONFLICT`.
 */
export interface IdempotencyRecords {
  /**
   * Claims the key for a request, or reports it as running or done. Throws `IDEMPOTENCY_CONFLICT`
   * (changing nothing) if the key was used with a different `requestHash`.
   * @example const b = await store.idempotency.begin(key.id, idemKey, sha256(canonicalBody)); if (b.state === "completed") return JSON.parse(b.response)
   */
  begin(keyId: string, idempotencyKey: string, requestHash: string): Promise<IdempotencyBegin>;
  /**
   * Stores the response of a started request; committed before it resolves, so reply after it.
   * Throws `IDEMPOTENCY_NOT_FOUND` without a `begin`; completing twice keeps the first response.
   * @example await store.idempotency.complete(key.id, idemKey, JSON.stringify({ status: 200, body }))
   */
  complete(keyId: string, idempotencyKey: string, response: string): Promise<void>;
  /**
   * Forgets an in-progress record so the client may retry (use when the request failed before any
   * credit was charged). Completed records are kept. Returns whether a record was removed.
   * @example await store.idempotency.abandon(key.id, idemKey)
   */
  abandon(keyId: string, idempotencyKey: string): Promise<boolean>;
  /** The record, if any. @example await store.idempotency.get(key.id, idemKey) */
  get(keyId: string, idempotencyKey: string): Promise<IdempotencyRecord | undefined>;
  /** Deletes records created before `beforeMs` (e.g. older than 24 h); returns how many. @example await store.idempotency.pruneBefore(Date.now() - 86_400_000) */
  pruneBefore(beforeMs: number): Promise<number>;
}

function fromRow(r: Selectable<IdempotencyRecordsTable>): IdempotencyRecord {
  return {
    keyId: r.key_id,
    idempotencyKey: r.idempotency_key,
    requestHash: r.request_hash,
    status: r.status as IdempotencyRecord["status"],
    response: r.response ?? undefined,
    createdAt: numberFromDb(r.created_at, "created_at"),
    updatedAt: numberFromDb(r.updated_at, "updated_at"),
  };
}

/** The SQL implementation of {@link IdempotencyRecords}. */
export class SqlIdempotencyRecords implements IdempotencyRecords {
  constructor(private readonly db: Db) {}

  async begin(keyId: string, idempotencyKey: string, requestHash: string): Promise<IdempotencyBegin> {
    const k = textToDb(keyId, "keyId");
    const ik = textToDb(idempotencyKey, "idempotencyKey");
    const h = textToDb(requestHash, "requestHash");
    return writeTx(this.db, async (tx) => {
      const now = tx.now();
      const ins = await tx.kysely
        .insertInto("idempotency_records")
        .values({
          key_id: k,
          idempotency_key: ik,
          request_hash: h,
          status: "in_progress",
          response: null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.columns(["key_id", "idempotency_key"]).doNothing())
        .executeTakeFirst();
      if ((ins.numInsertedOrUpdatedRows ?? 0n) > 0n) return { state: "started" };
      const row = await tx.kysely
        .selectFrom("idempotency_records")
        .selectAll()
        .where("key_id", "=", k)
        .where("idempotency_key", "=", ik)
        .executeTakeFirstOrThrow();
      if (row.request_hash !== h) {
        throw new StoreError("IDEMPOTENCY_CONFLICT", "idempotency key reused with a different request", {
          keyId: k,
          idempotencyKey: ik,
        });
      }
      return row.status === "completed" && row.response !== null
        ? { state: "completed", response: row.response }
        : { state: "in_progress" };
    });
  }

  async complete(keyId: string, idempotencyKey: string, response: string): Promise<void> {
    const k = textToDb(keyId, "keyId");
    const ik = textToDb(idempotencyKey, "idempotencyKey");
    if (typeof response !== "string")
      throw new StoreError("STORE_INVALID_INPUT", "response: must be a string");
    return writeTx(this.db, async (tx) => {
      const row = await lockRows(
        tx,
        tx.kysely
          .selectFrom("idempotency_records")
          .select("status")
          .where("key_id", "=", k)
          .where("idempotency_key", "=", ik),
      ).executeTakeFirst();
      if (!row) {
        throw new StoreError("IDEMPOTENCY_NOT_FOUND", "no idempotency record to complete", {
          keyId: k,
          idempotencyKey: ik,
        });
      }
      if (row.status === "completed") return;
      await tx.kysely
        .updateTable("idempotency_records")
        .set({ status: "completed", response, updated_at: tx.now() })
        .where("key_id", "=", k)
        .where("idempotency_key", "=", ik)
        .execute();
    });
  }

  async abandon(keyId: string, idempotencyKey: string): Promise<boolean> {
    const res = await this.db.kysely
      .deleteFrom("idempotency_records")
      .where("key_id", "=", textToDb(keyId, "keyId"))
      .where("idempotency_key", "=", textToDb(idempotencyKey, "idempotencyKey"))
      .where("status", "=", "in_progress")
      .executeTakeFirst();
    return res.numDeletedRows > 0n;
  }

  async get(keyId: string, idempotencyKey: string): Promise<IdempotencyRecord | undefined> {
    const row = await this.db.kysely
      .selectFrom("idempotency_records")
      .selectAll()
      .where("key_id", "=", textToDb(keyId, "keyId"))
      .where("idempotency_key", "=", textToDb(idempotencyKey, "idempotencyKey"))
      .executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }

  async pruneBefore(beforeMs: number): Promise<number> {
    const res = await this.db.kysely
      .deleteFrom("idempotency_records")
      .where("created_at", "<", beforeMs)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
