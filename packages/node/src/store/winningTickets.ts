import { ticketHash, type Hex, type Ticket } from "@livepay/protocol";
import { lockRows, writeTx, type Db } from "./db.js";
import {
  addressToDb,
  countArg,
  hash32ToDb,
  hexToDb,
  int64ToDb,
  intFromDb,
  numberFromDb,
  textToDb,
  uint256ToDb,
  weiFromDb,
} from "./codec.js";
import { StoreError } from "./errors.js";
import type { WinningTicketsTable } from "./schema.js";
import type { Selectable } from "kysely";

/** Everything needed to redeem a winning ticket on chain (spec §2.6). */
export interface WinningTicketInput extends Ticket {
  /** The sender's signature over the ticket hash, exactly as received. */
  sig: Hex;
  /** The secret preimage of `recipientRandHash`, revealed at redemption. */
  recipientRand: bigint;
  /** L1 block at which the ticket params expire; redeem only once the chain reached it. */
  paramsExpirationBlock: bigint;
}

/** `pending` until redeemed, or `failed` after a non-retryable error. */
export type WinningTicketStatus = "pending" | "redeemed" | "failed";

/** A queued winning ticket with its redemption state. */
export interface StoredWinningTicket extends WinningTicketInput {
  /** keccak256 ticket hash (the TicketBroker's `usedTickets` key). */
  hash: Hex;
  /** Insertion order. */
  seq: bigint;
  status: WinningTicketStatus;
  /** Redemption attempts that failed. */
  attempts: number;
  lastError: string | undefined;
  /** Redemption transaction, once redeemed. */
  txHash: Hex | undefined;
  createdAt: number;
  updatedAt: number;
}

/** Which queued tickets may be redeemed now. */
export interface RedeemableQuery {
  /** Latest L1 block: only tickets with `paramsExpirationBlock <= block` (their recipientRand is retired). */
  block: bigint;
  /** Oldest creation round still redeemable on chain (`lastInitializedRound - ticketValidityPeriod`). */
  minRound: bigint;
  /** Only this sender's tickets. */
  sender?: string;
  /** At most this many (default 100). */
  limit?: number;
}

/**
 * The orchestrator's durable queue of winning tickets. `insert` is committed before it resolves, so
 * an orchestrator that answers a request after `insert` never loses a winner to a crash; a restarted
 * orchestrator finds its queue with `listRedeemable`.
 */
export interface WinningTicketQueue {
  /**
   * Queues a winning ticket. Idempotent on the ticket hash (computed here from the fields): a second
   * insert of the same ticket changes nothing and returns `inserted: false`.
   * @example const { hash } = await store.winningTickets.insert({ ...ticket, sig, recipientRand, paramsExpirationBlock })
   */
  insert(ticket: WinningTicketInput): Promise<{ hash: Hex; inserted: boolean }>;
  /** One ticket by hash. @example await q.get(hash) */
  get(hash: string): Promise<StoredWinningTicket | undefined>;
  /**
   * Pending tickets whose params expired by `block` and whose creation round is `>= minRound`, oldest
   * insertion first.
   * @example await q.listRedeemable({ block: 1200n, minRound: round - 2n })
   */
  listRedeemable(query: RedeemableQuery): Promise<StoredWinningTicket[]>;
  /** Every ticket, optionally filtered, oldest first. @example await q.list({ status: "failed" }) */
  list(filter?: {
    status?: WinningTicketStatus;
    sender?: string;
    limit?: number;
  }): Promise<StoredWinningTicket[]>;
  /**
   * Marks a pending (or failed) ticket redeemed by `txHash`. Returns false, changing nothing, when it
   * already was redeemed. Throws `TICKET_NOT_FOUND` for an unknown hash.
   * @example await q.markRedeemed(hash, receipt.transactionHash)
   */
  markRedeemed(hash: string, txHash: string): Promise<boolean>;
  /**
   * Records a failed redemption attempt (attempts + 1, last error). A retryable failure keeps the
   * ticket pending; a non-retryable one moves it to `failed`. Returns false, changing nothing, for a
   * ticket that is not pending. Throws `TICKET_NOT_FOUND` for an unknown hash.
   * @example await q.markFailed(hash, "insufficient sender funds for redeem tx cost", true)
   */
  markFailed(hash: string, error: string, retryable: boolean): Promise<boolean>;
  /**
   * Sum of the face values of this sender's pending tickets, in wei: money the orchestrator expects
   * from the sender's deposit and reserve (spec §2.5's `pending`).
   * @example const pending = await q.pendingFaceValue(sender)
   */
  pendingFaceValue(sender: string): Promise<bigint>;
}

function fromRow(r: Selectable<WinningTicketsTable>): StoredWinningTicket {
  return {
    hash: r.ticket_hash as Hex,
    seq: intFromDb(r.seq, "seq"),
    sender: r.sender as Hex,
    recipient: r.recipient as Hex,
    faceValue: weiFromDb(r.face_value, "face_value"),
    winProb: weiFromDb(r.win_prob, "win_prob"),
    senderNonce: intFromDb(r.sender_nonce, "sender_nonce"),
    recipientRand: weiFromDb(r.recipient_rand, "recipient_rand"),
    recipientRandHash: r.recipient_rand_hash as Hex,
    sig: r.sig as Hex,
    creationRound: intFromDb(r.creation_round, "creation_round"),
    creationRoundBlockHash: r.creation_round_block_hash as Hex,
    paramsExpirationBlock: intFromDb(r.params_expiration_block, "params_expiration_block"),
    status: r.status as WinningTicketStatus,
    attempts: numberFromDb(r.attempts, "attempts"),
    lastError: r.last_error ?? undefined,
    txHash: (r.tx_hash ?? undefined) as Hex | undefined,
    createdAt: numberFromDb(r.created_at, "created_at"),
    updatedAt: numberFromDb(r.updated_at, "updated_at"),
  };
}

function notFound(hash: string): StoreError {
  return new StoreError("TICKET_NOT_FOUND", "winning ticket not found", { hash });
}

/** The SQL implementation of {@link WinningTicketQueue}. */
export class SqlWinningTicketQueue implements WinningTicketQueue {
  constructor(private readonly db: Db) {}

  async insert(t: WinningTicketInput): Promise<{ hash: Hex; inserted: boolean }> {
    const row = {
      sender: addressToDb(t.sender, "sender"),
      recipient: addressToDb(t.recipient, "recipient"),
      face_value: uint256ToDb(t.faceValue, "faceValue"),
      win_prob: uint256ToDb(t.winProb, "winProb"),
      sender_nonce: int64ToDb(t.senderNonce, "senderNonce"),
      recipient_rand: uint256ToDb(t.recipientRand, "recipientRand"),
      recipient_rand_hash: hash32ToDb(t.recipientRandHash, "recipientRandHash"),
      sig: hexToDb(t.sig, "sig"),
      creation_round: int64ToDb(t.creationRound, "creationRound"),
      creation_round_block_hash: hash32ToDb(t.creationRoundBlockHash, "creationRoundBlockHash"),
      params_expiration_block: int64ToDb(t.paramsExpirationBlock, "paramsExpirationBlock"),
    };
    const hash = ticketHash({
      sender: row.sender,
      recipient: row.recipient,
      faceValue: t.faceValue,
      winProb: t.winProb,
      senderNonce: t.senderNonce,
      recipientRandHash: row.recipient_rand_hash,
      creationRound: t.creationRound,
      creationRoundBlockHash: row.creation_round_block_hash,
    });
    const now = this.db.now();
    const res = await this.db.kysely
      .insertInto("winning_tickets")
      .values({
        ...row,
        ticket_hash: hash,
        status: "pending",
        attempts: 0,
        last_error: null,
        tx_hash: null,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column("ticket_hash").doNothing())
      .executeTakeFirst();
    return { hash, inserted: (res.numInsertedOrUpdatedRows ?? 0n) > 0n };
  }

  async get(hash: string): Promise<StoredWinningTicket | undefined> {
    const row = await this.db.kysely
      .selectFrom("winning_tickets")
      .selectAll()
      .where("ticket_hash", "=", hash32ToDb(hash, "hash"))
      .executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }

  async listRedeemable(q: RedeemableQuery): Promise<StoredWinningTicket[]> {
    const rows = await this.db.kysely
      .selectFrom("winning_tickets")
      .selectAll()
      .where("status", "=", "pending")
      .where("params_expiration_block", "<=", int64ToDb(q.block, "block"))
      .where("creation_round", ">=", int64ToDb(q.minRound < 0n ? 0n : q.minRound, "minRound"))
      .$if(q.sender !== undefined, (b) => b.where("sender", "=", addressToDb(q.sender!, "sender")))
      .orderBy("seq")
      .limit(countArg(q.limit ?? 100, "limit"))
      .execute();
    return rows.map(fromRow);
  }

  async list(
    filter: { status?: WinningTicketStatus; sender?: string; limit?: number } = {},
  ): Promise<StoredWinningTicket[]> {
    const rows = await this.db.kysely
      .selectFrom("winning_tickets")
      .selectAll()
      .$if(filter.status !== undefined, (b) => b.where("status", "=", filter.status!))
      .$if(filter.sender !== undefined, (b) => b.where("sender", "=", addressToDb(filter.sender!, "sender")))
      .orderBy("seq")
      .limit(countArg(filter.limit ?? 1000, "limit"))
      .execute();
    return rows.map(fromRow);
  }

  async markRedeemed(hash: string, txHash: string): Promise<boolean> {
    const h = hash32ToDb(hash, "hash");
    const tx = hash32ToDb(txHash, "txHash");
    return writeTx(this.db, async (db) => {
      const row = await lockRows(
        db,
        db.kysely.selectFrom("winning_tickets").select("status").where("ticket_hash", "=", h),
      ).executeTakeFirst();
      if (!row) throw notFound(h);
      if (row.status === "redeemed") return false;
      await db.kysely
        .updateTable("winning_tickets")
        .set({ status: "redeemed", tx_hash: tx, updated_at: db.now() })
        .where("ticket_hash", "=", h)
        .execute();
      return true;
    });
  }

  async markFailed(hash: string, error: string, retryable: boolean): Promise<boolean> {
    const h = hash32ToDb(hash, "hash");
    const message = textToDb(error, "error", 100_000).slice(0, 2000);
    return writeTx(this.db, async (db) => {
      const row = await lockRows(
        db,
        db.kysely.selectFrom("winning_tickets").select(["status", "attempts"]).where("ticket_hash", "=", h),
      ).executeTakeFirst();
      if (!row) throw notFound(h);
      if (row.status !== "pending") return false;
      await db.kysely
        .updateTable("winning_tickets")
        .set({
          status: retryable ? "pending" : "failed",
          attempts: numberFromDb(row.attempts, "attempts") + 1,
          last_error: message,
          updated_at: db.now(),
        })
        .where("ticket_hash", "=", h)
        .execute();
      return true;
    });
  }

  async pendingFaceValue(sender: string): Promise<bigint> {
    // Summed here, not in SQL: face values are TEXT (exact), and SQL SUM over TEXT would go through
    // floating point on SQLite.
    const rows = await this.db.kysely
      .selectFrom("winning_tickets")
      .select("face_value")
      .where("sender", "=", addressToDb(sender, "sender"))
      .where("status", "=", "pending")
      .execute();
    return rows.reduce((sum, r) => sum + weiFromDb(r.face_value, "face_value"), 0n);
  }
}
