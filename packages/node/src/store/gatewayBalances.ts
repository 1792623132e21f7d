import { Rational } from "@livepay/protocol";
import { lockRows, writeTx, type Db } from "./db.js";
import { addressToDb, rationalFromDb, rationalToDb, textToDb, toRational } from "./codec.js";

/**
 * The gateway's credit with each orchestrator, keyed (recipient, sessionId) as go-livepeer does
 * (spec §3.4: the session id is the orchestrator's auth-token session id, new after a refresh), as
 * exact rationals in wei. Not expired silently (livepay's deviation from go-livepeer's 10-minute TTL);
 * `pruneBefore` is for the operator. Each change is one locked read-modify-write, committed before
 * the promise resolves.
 */
export interface GatewayBalances {
  /** The balance (zero if none). @example await store.gatewayBalances.get(recipient, sessionId) */
  get(recipient: string, sessionId: string): Promise<Rational>;
  /** Adds `amount` (>= 0); returns the new balance. @example await b.credit(recipient, sid, newCredit) */
  credit(recipient: string, sessionId: string, amount: Rational | bigint): Promise<Rational>;
  /** Subtracts `amount` (>= 0; may go negative); returns the new balance. @example await b.debit(recipient, sid, fee) */
  debit(recipient: string, sessionId: string, amount: Rational | bigint): Promise<Rational>;
  /**
   * Adds a signed `delta` (spec §3.4's completion credits `existing + newCredit - debit`, which may be
   * negative); returns the new balance.
   * @example await b.adjust(recipient, sid, existing.add(newCredit).sub(fee))
   */
  adjust(recipient: string, sessionId: string, delta: Rational | bigint): Promise<Rational>;
  /**
   * Takes the whole balance out (returns it and leaves zero), go-livepeer's `Balance.Reserve` used
   * while a payment is staged; give it back with `adjust`.
   * @example const existing = await b.reserve(recipient, sid)
   */
  reserve(recipient: string, sessionId: string): Promise<Rational>;
  /** Deletes balances untouched since `beforeMs`; returns how many. @example await b.pruneBefore(t) */
  pruneBefore(beforeMs: number): Promise<number>;
}

/** The SQL implementation of {@link GatewayBalances}. */
export class SqlGatewayBalances implements GatewayBalances {
  constructor(private readonly db: Db) {}

  async get(recipient: string, sessionId: string): Promise<Rational> {
    const row = await this.db.kysely
      .selectFrom("gateway_balances")
      .select(["amount_num", "amount_den"])
      .where("recipient", "=", addressToDb(recipient, "recipient"))
      .where("session_id", "=", textToDb(sessionId, "sessionId", 1024))
      .executeTakeFirst();
    return row ? rationalFromDb(row.amount_num, row.amount_den, "amount") : Rational.ZERO;
  }

  async credit(recipient: string, sessionId: string, amount: Rational | bigint): Promise<Rational> {
    rationalToDb(amount, "amount", true);
    const a = toRational(amount, "amount");
    return this.change(recipient, sessionId, (b) => [b.add(a), b.add(a)]);
  }

  async debit(recipient: string, sessionId: string, amount: Rational | bigint): Promise<Rational> {
    rationalToDb(amount, "amount", true);
    const a = toRational(amount, "amount");
    return this.change(recipient, sessionId, (b) => [b.sub(a), b.sub(a)]);
  }

  async adjust(recipient: string, sessionId: string, delta: Rational | bigint): Promise<Rational> {
    const d = toRational(delta, "delta");
    return this.change(recipient, sessionId, (b) => [b.add(d), b.add(d)]);
  }

  async reserve(recipient: string, sessionId: string): Promise<Rational> {
    return this.change(recipient, sessionId, (b) => [Rational.ZERO, b]);
  }

  async pruneBefore(beforeMs: number): Promise<number> {
    const res = await this.db.kysely
      .deleteFrom("gateway_balances")
      .where("updated_at", "<", beforeMs)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  // `f` maps the current balance to [new balance, value to return].
  private async change(
    recipient: string,
    sessionId: string,
    f: (b: Rational) => [Rational, Rational],
  ): Promise<Rational> {
    const r = addressToDb(recipient, "recipient");
    const s = textToDb(sessionId, "sessionId", 1024);
    return writeTx(this.db, async (tx) => {
      const now = tx.now();
      // Create the row first so that two first-time writers both find it to lock.
      await tx.kysely
        .insertInto("gateway_balances")
        .values({ recipient: r, session_id: s, amount_num: "0", amount_den: "1", updated_at: now })
        .onConflict((oc) => oc.columns(["recipient", "session_id"]).doNothing())
        .execute();
      const row = await lockRows(
        tx,
        tx.kysely
          .selectFrom("gateway_balances")
          .select(["amount_num", "amount_den"])
          .where("recipient", "=", r)
          .where("session_id", "=", s),
      ).executeTakeFirstOrThrow();
      const [next, result] = f(rationalFromDb(row.amount_num, row.amount_den, "amount"));
      const { num, den } = rationalToDb(next, "amount");
      await tx.kysely
        .updateTable("gateway_balances")
        .set({ amount_num: num, amount_den: den, updated_at: now })
        .where("recipient", "=", r)
        .where("session_id", "=", s)
        .execute();
      return result;
    });
  }
}
