import { sql } from "kysely";
import type { Db } from "./db.js";
import { countArg, intFromDb, textToDb } from "./codec.js";
import { StoreError } from "./errors.js";

/** Largest ticket sender nonce (go-livepeer keeps it in a uint32). */
export const MAX_SESSION_NONCE = 0xffffffffn;

/** An inclusive range of nonces reserved for one batch of tickets. */
export interface NonceRange {
  first: bigint;
  last: bigint;
}

/**
 * The gateway's issued nonces per PM session (session id = the ticket params' recipientRandHash,
 * spec §3.1). Nonces are reserved durably BEFORE tickets carrying them are signed and sent, so a
 * crash can only skip nonces, never reuse one (a reused nonce is a replay the orchestrator rejects,
 * and the ticket's value is lost). Skipped nonces are harmless: recipients do not require
 * contiguity (spec §2.4). Unlike go-livepeer's `StartSession`, nothing resets a session to 0.
 *
 * Each reservation is one committed write (an fsync on SQLite); a gateway that sends many tickets per
 * second can reserve a block (e.g. 64) and hand nonces out from memory, losing at most the block's
 * unused rest on a crash.
 */
export interface SessionNonces {
  /**
   * Atomically reserves the next `count` nonces of the session (the first ever is 1) and returns
   * `first..last`. Concurrent callers always get disjoint ranges. Throws `NONCE_EXHAUSTED`, changing
   * nothing, past 2^32-1: start a new session (fresh ticket params).
   * @example const { first, last } = await store.sessionNonces.reserveNonces(params.recipientRandHash, 3)
   */
  reserveNonces(sessionId: string, count: number): Promise<NonceRange>;
  /** The last nonce reserved (0 if none). @example await store.sessionNonces.lastNonce(sessionId) */
  lastNonce(sessionId: string): Promise<bigint>;
  /**
   * Raises the session's last nonce to at least `nonce` (the remote signer's `StartSessionWithNonce`);
   * never lowers it. Returns the resulting last nonce.
   * @example await store.sessionNonces.restoreAtLeast(sessionId, 41n)
   */
  restoreAtLeast(sessionId: string, nonce: bigint): Promise<bigint>;
  /**
   * Forgets sessions untouched since `beforeMs`. Only safe once their ticket params expired (params
   * live ~40 L1 blocks; a day is a comfortable margin). Returns how many.
   * @example await store.sessionNonces.pruneBefore(Date.now() - 86_400_000)
   */
  pruneBefore(beforeMs: number): Promise<number>;
}

function exhausted(sessionId: string, count: number | bigint): StoreError {
  return new StoreError("NONCE_EXHAUSTED", "session nonces exhausted", { sessionId, count: String(count) });
}

/** The SQL implementation of {@link SessionNonces}. */
export class SqlSessionNonces implements SessionNonces {
  constructor(private readonly db: Db) {}

  async reserveNonces(sessionId: string, count: number): Promise<NonceRange> {
    const id = textToDb(sessionId, "sessionId");
    const n = BigInt(countArg(count, "count"));
    if (n > MAX_SESSION_NONCE) throw exhausted(id, n);
    const now = this.db.now();
    // One statement, atomic on both backends: insert the session at `count`, or add `count` to the
    // existing counter unless that passes the uint32 limit (then no row is returned and nothing changes).
    const row = await this.db.kysely
      .insertInto("gateway_sessions")
      .values({ session_id: id, last_nonce: n, created_at: now, updated_at: now })
      .onConflict((oc) =>
        oc
          .column("session_id")
          .doUpdateSet({
            last_nonce: sql`gateway_sessions.last_nonce + cast(${n} as bigint)`,
            updated_at: now,
          })
          .where(
            sql<boolean>`gateway_sessions.last_nonce + cast(${n} as bigint) <= cast(${MAX_SESSION_NONCE} as bigint)`,
          ),
      )
      .returning("last_nonce")
      .executeTakeFirst();
    if (!row) throw exhausted(id, n);
    const last = intFromDb(row.last_nonce, "last_nonce");
    return { first: last - n + 1n, last };
  }

  async lastNonce(sessionId: string): Promise<bigint> {
    const row = await this.db.kysely
      .selectFrom("gateway_sessions")
      .select("last_nonce")
      .where("session_id", "=", textToDb(sessionId, "sessionId"))
      .executeTakeFirst();
    return row ? intFromDb(row.last_nonce, "last_nonce") : 0n;
  }

  async restoreAtLeast(sessionId: string, nonce: bigint): Promise<bigint> {
    const id = textToDb(sessionId, "sessionId");
    if (typeof nonce !== "bigint" || nonce < 0n || nonce > MAX_SESSION_NONCE) {
      throw new StoreError("STORE_INVALID_INPUT", "nonce: must be a uint32 bigint", { value: String(nonce) });
    }
    const now = this.db.now();
    const row = await this.db.kysely
      .insertInto("gateway_sessions")
      .values({ session_id: id, last_nonce: nonce, created_at: now, updated_at: now })
      .onConflict((oc) =>
        oc.column("session_id").doUpdateSet({
          last_nonce: sql`case when gateway_sessions.last_nonce < cast(${nonce} as bigint) then cast(${nonce} as bigint) else gateway_sessions.last_nonce end`,
          updated_at: now,
        }),
      )
      .returning("last_nonce")
      .executeTakeFirstOrThrow();
    return intFromDb(row.last_nonce, "last_nonce");
  }

  async pruneBefore(beforeMs: number): Promise<number> {
    const res = await this.db.kysely
      .deleteFrom("gateway_sessions")
      .where("updated_at", "<", beforeMs)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
