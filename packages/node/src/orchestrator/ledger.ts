// Payer balances at the orchestrator's own price: the pre-work check with in-flight holds, and the
// exact debit after the job.
import { Rational, type Hex } from "@livepay/protocol";
import type { PayerBalances } from "../store/payerBalances.js";
import { OrchestratorError } from "./errors.js";
import type { OrchestratorMetrics } from "./metrics.js";
import { toGwei } from "./paymentReceiver.js";

/** A job's claim on a balance while it runs. */
export interface Hold {
  readonly sender: Hex;
  readonly manifestId: string;
  /** Maximum cost of the job (maximum units × price). */
  readonly amount: Rational;
  /** Wei per unit the job is charged at. */
  readonly price: Rational;
}

/**
 * Admits a job only if the payer's balance, minus the maxima of its jobs still running, covers the
 * job's maximum cost; debits the actual cost afterwards. Holds live in memory: a crash mid-job
 * debits nothing (the payer keeps its credit, the orchestrator loses that one job's work), and the
 * durable balance only ever changes by exact credits and exact debits. One process per store.
 */
export class Ledger {
  private readonly holds = new Map<string, Rational>();
  private readonly released = new WeakSet<Hold>();

  constructor(
    private readonly balances: PayerBalances,
    private readonly metrics: OrchestratorMetrics,
  ) {}

  /** Credit minus holds, in wei. @example await ledger.available(sender, mid) */
  async available(sender: Hex, manifestId: string): Promise<Rational> {
    const b = await this.balances.get(sender, manifestId);
    return (b?.amount ?? Rational.ZERO).sub(this.holds.get(key(sender, manifestId)) ?? Rational.ZERO);
  }

  /**
   * Places a hold of `maxUnits × price` or throws INSUFFICIENT_BALANCE (HTTP 402, details
   * `required` and `balance` as exact wei rationals "num/den").
   * @example const hold = await ledger.hold(sender, mid, bounds.maximum, price)
   */
  async hold(sender: Hex, manifestId: string, maxUnits: bigint, price: Rational): Promise<Hold> {
    const amount = price.mul(maxUnits);
    const available = await this.available(sender, manifestId);
    // No await between the read above and the hold below: concurrent jobs of this payer see it.
    if (available.lt(amount)) {
      throw new OrchestratorError(
        "INSUFFICIENT_BALANCE",
        `insufficient balance: the job may cost up to ${amount.ceil()} wei, the balance covers ${available.floor()} wei`,
        402,
        { required: amount.toString(), balance: available.toString() },
      );
    }
    const k = key(sender, manifestId);
    this.holds.set(k, (this.holds.get(k) ?? Rational.ZERO).add(amount));
    return { sender, manifestId, amount, price };
  }

  /**
   * Debits `units × price` (committed before it resolves) and releases the hold. `units` above the
   * job's maximum are clamped to it (runners already never report more).
   * @example const fee = await ledger.settle(hold, usage.units)
   */
  async settle(hold: Hold, units: bigint): Promise<Rational> {
    let fee = hold.price.mul(units < 0n ? 0n : units);
    if (fee.gt(hold.amount)) fee = hold.amount;
    try {
      if (fee.sign() > 0) {
        await this.balances.debit(hold.sender, hold.manifestId, fee);
        this.metrics.debits.inc();
        this.metrics.debitGwei.inc(toGwei(fee));
      }
    } finally {
      this.release(hold);
    }
    return fee;
  }

  /** Releases a hold without debiting (the job never ran); idempotent. */
  release(hold: Hold): void {
    if (this.released.has(hold)) return;
    this.released.add(hold);
    const k = key(hold.sender, hold.manifestId);
    const left = (this.holds.get(k) ?? Rational.ZERO).sub(hold.amount);
    if (left.sign() <= 0) this.holds.delete(k);
    else this.holds.set(k, left);
  }
}

function key(sender: Hex, manifestId: string): string {
  return `${sender.toLowerCase()}\u0000${manifestId}`;
}
