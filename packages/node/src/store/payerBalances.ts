import type { Hex, Rational } from "@livepay/protocol";
import { lockRows, writeTx, type Db } from "./db.js";
import { addressToDb, numberFromDb, rationalFromDb, rationalToDb, textToDb, toRational } from "./codec.js";

/** An orchestrator's running credit for one payer and manifest (spec §2.7), in exact wei. */
export interface PayerBalance {
  /** Payer (gateway) address, lowercase. */
  sender: Hex;
  /** go-livepeer's manifestID, e.g. `"27_ByteDance/SDXL-Lightning"` for AI requests. */
  manifestId: string;
  /** Credit in wei; negative when the payer owes (debits may exceed credit, as in go-livepeer). */
  amount: Rational;
  /** Price fixed for this payer and manifest, if one was set. */
  fixedPrice: Rational | undefined;
  /** Last change, ms since the epoch. */
  updatedAt: number;
}

/**
 * Orchestrator-side balances keyed by (sender, manifestId). livepay never expires them: go-livepeer
 * forgets a balance after 10–20 idle minutes, silently keeping credit a payer paid for; here a
 * balance lives until the operator prunes it. Every change is one locked read-modify-write
 * transaction, committed before the promise resolves.
 */
export interface PayerBalances {
  /** The balance, or undefined if this payer never paid for this manifest. @example await b.get(sender, mid) */
  get(sender: string, manifestId: string): Promise<PayerBalance | undefined>;
  /** Adds `amount` (>= 0) and returns the new balance. @example await b.credit(sender, mid, ticketEV) */
  credit(sender: string, manifestId: string, amount: Rational | bigint): Promise<Rational>;
  /** Subtracts `amount` (>= 0; may go negative) and returns the new balance. @example await b.debit(sender, mid, fee) */
  debit(sender: string, manifestId: string, amount: Rational | bigint): Promise<Rational>;
  /** Sets or clears (undefined) the fixed price. @example await b.setFixedPrice(sender, mid, Rational.of(1n, 3n)) */
  setFixedPrice(sender: string, manifestId: string, price: Rational | bigint | undefined): Promise<void>;
  /** Every balance of a payer (all payers if omitted), by manifest id. @example await b.list(sender) */
  list(sender?: string): Promise<PayerBalance[]>;
}

type Row = {
  sender: string;
  manifest_id: string;
  amount_num: string;
  amount_den: string;
  fixed_price_num: string | null;
  fixed_price_den: string | null;
  updated_at: unknown;
};

function fromRow(r: Row): PayerBalance {
  return {
    sender: r.sender as Hex,
    manifestId: r.manifest_id,
    amount: rationalFromDb(r.amount_num, r.amount_den, "amount"),
    fixedPrice:
      r.fixed_price_num === null
        ? undefined
        : rationalFromDb(r.fixed_price_num, r.fixed_price_den, "fixed_price"),
    updatedAt: numberFromDb(r.updated_at, "updated_at"),
  };
}

/** The SQL implementation of {@link PayerBalances}. */
export class SqlPayerBalances implements PayerBalances {
  constructor(private readonly db: Db) {}

  async get(sender: string, manifestId: string): Promise<PayerBalance | undefined> {
    const row = await this.db.kysely
      .selectFrom("payer_balances")
      .selectAll()
      .where("sender", "=", addressToDb(sender, "sender"))
      .where("manifest_id", "=", textToDb(manifestId, "manifestId", 1024))
      .executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }

  async credit(sender: string, manifestId: string, amount: Rational | bigint): Promise<Rational> {
    rationalToDb(amount, "amount", true);
    return this.change(sender, manifestId, (b) => b.add(toRational(amount, "amount")));
  }

  async debit(sender: string, manifestId: string, amount: Rational | bigint): Promise<Rational> {
    rationalToDb(amount, "amount", true);
    return this.change(sender, manifestId, (b) => b.sub(toRational(amount, "amount")));
  }

  async setFixedPrice(
    sender: string,
    manifestId: string,
    price: Rational | bigint | undefined,
  ): Promise<void> {
    const p = price === undefined ? undefined : rationalToDb(price, "price", true);
    await this.locked(sender, manifestId, async (tx, key) => {
      await tx.kysely
        .updateTable("payer_balances")
        .set({ fixed_price_num: p?.num ?? null, fixed_price_den: p?.den ?? null, updated_at: tx.now() })
        .where("sender", "=", key.sender)
        .where("manifest_id", "=", key.manifestId)
        .execute();
    });
  }

  async list(sender?: string): Promise<PayerBalance[]> {
    const rows = await this.db.kysely
      .selectFrom("payer_balances")
      .selectAll()
      .$if(sender !== undefined, (q) => q.where("sender", "=", addressToDb(sender!, "sender")))
      .orderBy("sender")
      .orderBy("manifest_id")
      .execute();
    return rows.map(fromRow);
  }

  private async change(sender: string, manifestId: string, f: (b: Rational) => Rational): Promise<Rational> {
    return this.locked(sender, manifestId, async (tx, key, row) => {
      const next = f(rationalFromDb(row.amount_num, row.amount_den, "amount"));
      const { num, den } = rationalToDb(next, "amount");
      await tx.kysely
        .updateTable("payer_balances")
        .set({ amount_num: num, amount_den: den, updated_at: tx.now() })
        .where("sender", "=", key.sender)
        .where("manifest_id", "=", key.manifestId)
        .execute();
      return next;
    });
  }

  // Makes sure the row exists (a concurrent first credit must not fail on the primary key), then
  // locks it for the rest of the transaction.
  private async locked<T>(
    sender: string,
    manifestId: string,
    fn: (tx: Db, key: { sender: string; manifestId: string }, row: Row) => Promise<T>,
  ): Promise<T> {
    const key = {
      sender: addressToDb(sender, "sender"),
      manifestId: textToDb(manifestId, "manifestId", 1024),
    };
    return writeTx(this.db, async (tx) => {
      await tx.kysely
        .insertInto("payer_balances")
        .values({
          sender: key.sender,
          manifest_id: key.manifestId,
          amount_num: "0",
          amount_den: "1",
          fixed_price_num: null,
          fixed_price_den: null,
          updated_at: tx.now(),
        })
        .onConflict((oc) => oc.columns(["sender", "manifest_id"]).doNothing())
        .execute();
      const row = await lockRows(
        tx,
        tx.kysely
          .selectFrom("payer_balances")
          .selectAll()
          .where("sender", "=", key.sender)
          .where("manifest_id", "=", key.manifestId),
      ).executeTakeFirstOrThrow();
      return fn(tx, key, row);
    });
  }
}
