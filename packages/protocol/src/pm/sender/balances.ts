import { normalizeAddress } from "../../bytes/address.js";
import { InvalidInputError } from "../../errors.js";
import { Rational, maxRational } from "../../money/rational.js";
import { BalanceUpdateError } from "./errors.js";
import { ticketsToStage } from "./ticketsToStage.js";

/**
 * How a staged payment ended (go-livepeer `BalanceUpdateStatus`):
 * - `"staged"`: never sent; the reserved credit goes back;
 * - `"creditSpent"`: sent without a usable answer; the reserved credit and new tickets count as spent;
 * - `"receivedChange"`: the orchestrator took the payment; credit `existing + newCredit - debit`.
 */
export type BalanceUpdateStatus = "staged" | "creditSpent" | "receivedChange";

/** A staged payment: what to send and what was reserved. Complete it exactly once. */
export interface BalanceUpdate {
  readonly key: string;
  /** Tickets to attach to the payment (0: send it ticket-less). */
  readonly numTickets: number;
  /** `numTickets * ev`: the credit those tickets buy. */
  readonly newCredit: Rational;
  /** Credit reserved from the balance (zeroed there while the payment is in flight); may be negative. */
  readonly existing: Rational;
  /** `max(fee, ev)`: what the payment had to cover. */
  readonly minCredit: Rational;
}

export interface BalancesOptions {
  /** Clock in milliseconds for `lastUpdated`; defaults to `Date.now`. */
  now?: () => number;
}

interface Entry {
  amount: Rational;
  lastUpdated: number;
}

/**
 * The gateway's key for a balance: orchestrator recipient address and the auth token's session id
 * (spec §3.4; a refresh that changes the session id starts a new balance).
 * @example balanceKey("0x7099...79C8", authToken.sessionId) // "0x7099...79c8/abc"
 */
export function balanceKey(recipient: string, sessionId: string): string {
  return `${normalizeAddress(recipient)}/${sessionId}`;
}

function amountOf(value: Rational | bigint, field: string): Rational {
  if (typeof value !== "bigint" && !(value instanceof Rational)) {
    throw new InvalidInputError("INVALID_AMOUNT", `${field} must be a bigint or Rational`, { field });
  }
  return Rational.from(value);
}

/**
 * Credit balances in wei as exact rationals, keyed by string (go-livepeer `AddressBalances`).
 * Unlike go-livepeer, entries never expire by themselves: Go silently forgets credit idle for 10–20
 * minutes, which loses money the gateway already paid for. Callers that want a bound on memory call
 * `sweep(olderThan)` or `remove(key)` themselves, knowing what they drop.
 *
 * @example
 * const balances = new Balances();
 * const bal = balances.balance(balanceKey(recipient, sessionId));
 * const update = bal.stageUpdate(fee, ev); // attach update.numTickets tickets
 * bal.completeUpdate(update, "receivedChange", fee);
 */
export class Balances {
  readonly #entries = new Map<string, Entry>();
  readonly #open = new Set<BalanceUpdate>();
  readonly #openPerKey = new Map<string, number>();
  readonly #now: () => number;

  constructor(options: BalancesOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** A handle on one key's balance; it creates nothing until the first write. @example balances.balance(key).credit(5n) */
  balance(key: string): Balance {
    return new Balance(this, key);
  }

  /** The balance, or `undefined` if there is none. @example balances.amount(key)?.toFixed(5) */
  amount(key: string): Rational | undefined {
    return this.#entries.get(key)?.amount;
  }

  /** When the balance last changed (ms), or `undefined`. @example balances.lastUpdated(key) */
  lastUpdated(key: string): number | undefined {
    return this.#entries.get(key)?.lastUpdated;
  }

  /** Adds to a balance. @example balances.credit(key, ev.mul(3n)) */
  credit(key: string, amount: Rational | bigint): void {
    const a = amountOf(amount, "amount");
    this.#set(key, (this.#entries.get(key)?.amount ?? Rational.ZERO).add(a));
  }

  /** Subtracts from a balance; it may go negative. @example balances.debit(key, fee) */
  debit(key: string, amount: Rational | bigint): void {
    const a = amountOf(amount, "amount");
    this.#set(key, (this.#entries.get(key)?.amount ?? Rational.ZERO).sub(a));
  }

  /** Returns the balance and sets it to 0 (go-livepeer `Reserve`). @example const existing = balances.reserve(key) */
  reserve(key: string): Rational {
    const amount = this.#entries.get(key)?.amount ?? Rational.ZERO;
    this.#set(key, Rational.ZERO);
    return amount;
  }

  /** Whether a balance exists. @example balances.has(key) */
  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** Deletes a balance, credit included; returns whether it existed. @example balances.remove(key) */
  remove(key: string): boolean {
    return this.#entries.delete(key);
  }

  /**
   * Deletes the balances last updated before `olderThan` (ms, same clock as `now`), except those with
   * a staged update still open; returns the deleted keys.
   * @example balances.sweep(Date.now() - 10 * 60_000)
   */
  sweep(olderThan: number): string[] {
    const removed: string[] = [];
    for (const [key, entry] of this.#entries) {
      if (entry.lastUpdated < olderThan && !this.#openPerKey.has(key)) {
        this.#entries.delete(key);
        removed.push(key);
      }
    }
    return removed;
  }

  /** Number of balances. */
  get size(): number {
    return this.#entries.size;
  }

  /** The keys of all balances. @example [...balances.keys()] */
  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /**
   * Reserves the balance and works out the tickets a payment of `fee` needs with tickets of EV `ev`
   * (go-livepeer `newBalanceUpdate` + `Balance.StageUpdate`, spec §3.4): `minCredit = max(fee, ev)`,
   * `numTickets = ceil((minCredit - existing) / ev)`, or 0 when `existing >= minCredit` or `ev == 0`.
   * Bad input throws before anything changes.
   * @example balances.stageUpdate(key, fee, sender.ev(sessionId))
   */
  stageUpdate(key: string, fee: Rational | bigint, ev: Rational): BalanceUpdate {
    const f = amountOf(fee, "fee");
    const e = amountOf(ev, "ev");
    if (f.sign() < 0)
      throw new InvalidInputError("INVALID_FEE", "fee must not be negative", { fee: f.toString() });
    const minCredit = maxRational(f, e);
    const current = this.#entries.get(key)?.amount ?? Rational.ZERO;
    const staged = ticketsToStage(current, minCredit, e); // may throw: nothing changed yet
    const existing = this.reserve(key);
    const update: BalanceUpdate = Object.freeze({ key, ...staged, existing, minCredit });
    this.#open.add(update);
    this.#openPerKey.set(key, (this.#openPerKey.get(key) ?? 0) + 1);
    return update;
  }

  /**
   * Ends a staged update (go-livepeer `completeBalanceUpdate`): `"staged"` credits back `existing`,
   * `"creditSpent"` credits nothing, `"receivedChange"` credits `existing + newCredit - debit` (which
   * may be negative). Completing an update twice throws `BalanceUpdateError` and changes nothing.
   * @example balances.completeUpdate(update, "receivedChange", fee)
   */
  completeUpdate(update: BalanceUpdate, status: BalanceUpdateStatus, debit: Rational | bigint = 0n): void {
    if (!this.#open.has(update)) {
      throw new BalanceUpdateError("BALANCE_UPDATE_NOT_OPEN", "balance update is not open", {
        key: update?.key,
      });
    }
    const d = amountOf(debit, "debit");
    let credit: Rational | undefined;
    if (status === "staged") credit = update.existing;
    else if (status === "receivedChange") credit = update.existing.add(update.newCredit).sub(d);
    else if (status !== "creditSpent") {
      throw new InvalidInputError("INVALID_BALANCE_UPDATE_STATUS", "unknown balance update status", {
        status: String(status),
      });
    }
    this.#open.delete(update);
    const left = this.#openPerKey.get(update.key)! - 1;
    if (left === 0) this.#openPerKey.delete(update.key);
    else this.#openPerKey.set(update.key, left);
    if (credit !== undefined) this.credit(update.key, credit);
  }

  #set(key: string, amount: Rational): void {
    this.#entries.set(key, { amount, lastUpdated: this.#now() });
  }
}

/**
 * One key's balance (go-livepeer `core.Balance`): a handle that reads and writes through its
 * `Balances`, so it stays valid after the entry is swept or removed.
 * @example const bal = balances.balance(key); const u = bal.stageUpdate(fee, ev); bal.completeUpdate(u, "staged")
 */
export class Balance {
  readonly balances: Balances;
  readonly key: string;

  constructor(balances: Balances, key: string) {
    this.balances = balances;
    this.key = key;
  }

  /** The current amount, or `undefined`. @example bal.amount() */
  amount(): Rational | undefined {
    return this.balances.amount(this.key);
  }

  /** @example bal.credit(5n) */
  credit(amount: Rational | bigint): void {
    this.balances.credit(this.key, amount);
  }

  /** @example bal.debit(fee) */
  debit(amount: Rational | bigint): void {
    this.balances.debit(this.key, amount);
  }

  /** @example const existing = bal.reserve() */
  reserve(): Rational {
    return this.balances.reserve(this.key);
  }

  /** See `Balances.stageUpdate`. @example const u = bal.stageUpdate(fee, ev) */
  stageUpdate(fee: Rational | bigint, ev: Rational): BalanceUpdate {
    return this.balances.stageUpdate(this.key, fee, ev);
  }

  /** See `Balances.completeUpdate`. @example bal.completeUpdate(u, "receivedChange", fee) */
  completeUpdate(update: BalanceUpdate, status: BalanceUpdateStatus, debit: Rational | bigint = 0n): void {
    if (update?.key !== this.key) {
      throw new BalanceUpdateError("BALANCE_UPDATE_WRONG_KEY", "balance update belongs to another balance", {
        key: this.key,
        updateKey: update?.key,
      });
    }
    this.balances.completeUpdate(update, status, debit);
  }
}
