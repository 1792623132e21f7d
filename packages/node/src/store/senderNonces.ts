import { sql } from "kysely";
import { writeTx, type Db } from "./db.js";
import { countArg, int64ToDb, intFromDb, uint256ToDb, weiFromDb } from "./codec.js";

/** go-livepeer's cap on distinct nonces per recipientRand (spec §2.4). */
export const DEFAULT_MAX_NONCES_PER_RAND = 600;

/** What `record` did: stored the nonce, or refused it as a replay or as one nonce too many. */
export type NonceRecordResult = "recorded" | "duplicate" | "too_many";

/** The nonces seen for one recipientRand (same shape as the protocol's `SenderNonceEntry`). */
export interface StoredSenderNonces {
  recipientRand: bigint;
  expirationBlock: bigint;
  nonces: bigint[];
}

/**
 * The orchestrator's durable record of sender nonces per recipientRand (spec §2.4). With the HMAC
 * secret persisted in `meta`, ticket params stay valid across a restart; this table is what keeps a
 * replayed ticket (same recipientRand, same nonce) rejected across that restart.
 */
export interface SenderNonceStore {
  /**
   * Records `nonce` for `recipientRand` unless it was seen (→ `"duplicate"`) or the rand already has
   * `maxNonces` nonces (→ `"too_many"`); refusals change nothing. Committed before it resolves.
   * @example if ((await store.senderNonces.record(rand, nonce, expirationBlock)) !== "recorded") reject()
   */
  record(
    recipientRand: bigint,
    nonce: bigint,
    expirationBlock: bigint,
    maxNonces?: number,
  ): Promise<NonceRecordResult>;
  /** Whether a nonce was seen. @example await n.has(rand, 3n) */
  has(recipientRand: bigint, nonce: bigint): Promise<boolean>;
  /**
   * Every entry, to rebuild an in-memory `SenderNonces` at start-up.
   * @example const nonces = new SenderNonces(await store.senderNonces.entries())
   */
  entries(): Promise<StoredSenderNonces[]>;
  /**
   * Forgets every recipientRand whose params expired (`expirationBlock <= block`); returns rows deleted.
   * @example await store.senderNonces.cleanup(latestL1Block)
   */
  cleanup(block: bigint): Promise<number>;
}

/** The SQL implementation of {@link SenderNonceStore}. */
export class SqlSenderNonceStore implements SenderNonceStore {
  constructor(private readonly db: Db) {}

  async record(
    recipientRand: bigint,
    nonce: bigint,
    expirationBlock: bigint,
    maxNonces: number = DEFAULT_MAX_NONCES_PER_RAND,
  ): Promise<NonceRecordResult> {
    const rand = uint256ToDb(recipientRand, "recipientRand");
    const n = int64ToDb(nonce, "nonce");
    const exp = int64ToDb(expirationBlock, "expirationBlock");
    const max = countArg(maxNonces, "maxNonces");
    return writeTx(this.db, async (tx) => {
      // On PostgreSQL, concurrent writers for the same rand queue on an advisory lock so the count
      // check below cannot be raced past the cap; SQLite's BEGIN IMMEDIATE already serializes.
      if (tx.dialect === "postgres") {
        await sql`select pg_advisory_xact_lock(hashtextextended(${rand}, 0))`.execute(tx.kysely);
      }
      const seen = await tx.kysely
        .selectFrom("sender_nonces")
        .select("nonce")
        .where("recipient_rand", "=", rand)
        .where("nonce", "=", n)
        .executeTakeFirst();
      if (seen) return "duplicate";
      const { count } = await tx.kysely
        .selectFrom("sender_nonces")
        .select((eb) => eb.fn.countAll().as("count"))
        .where("recipient_rand", "=", rand)
        .executeTakeFirstOrThrow();
      if (intFromDb(count, "count") >= BigInt(max)) return "too_many";
      const res = await tx.kysely
        .insertInto("sender_nonces")
        .values({ recipient_rand: rand, nonce: n, expiration_block: exp })
        .onConflict((oc) => oc.columns(["recipient_rand", "nonce"]).doNothing())
        .executeTakeFirst();
      return (res.numInsertedOrUpdatedRows ?? 0n) > 0n ? "recorded" : "duplicate";
    });
  }

  async has(recipientRand: bigint, nonce: bigint): Promise<boolean> {
    const row = await this.db.kysely
      .selectFrom("sender_nonces")
      .select("nonce")
      .where("recipient_rand", "=", uint256ToDb(recipientRand, "recipientRand"))
      .where("nonce", "=", int64ToDb(nonce, "nonce"))
      .executeTakeFirst();
    return row !== undefined;
  }

  async entries(): Promise<StoredSenderNonces[]> {
    const rows = await this.db.kysely
      .selectFrom("sender_nonces")
      .selectAll()
      .orderBy("recipient_rand")
      .orderBy("nonce")
      .execute();
    const byRand = new Map<string, StoredSenderNonces>();
    for (const r of rows) {
      let e = byRand.get(r.recipient_rand);
      if (!e) {
        e = {
          recipientRand: weiFromDb(r.recipient_rand, "recipient_rand"),
          expirationBlock: intFromDb(r.expiration_block, "expiration_block"),
          nonces: [],
        };
        byRand.set(r.recipient_rand, e);
      }
      e.nonces.push(intFromDb(r.nonce, "nonce"));
    }
    return [...byRand.values()];
  }

  async cleanup(block: bigint): Promise<number> {
    const res = await this.db.kysely
      .deleteFrom("sender_nonces")
      .where("expiration_block", "<=", int64ToDb(block, "block"))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
