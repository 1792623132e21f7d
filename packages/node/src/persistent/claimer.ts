// Batched settlement of persistent tickets: one claimBatch for every ticket whose receipts justify
// more than the broker has paid, on the triggers of DESIGN.md (exposure ≥ A* ÷ 2, a round start with
// E > A*, a payer unlocking, gas ≤ 1 % of value), always before the payer's redemption deadline.
import { receiptsSumRoot, toCompactSignature, type Eip712Domain, type Hex } from "@livepay/protocol";
import type { Logger } from "pino";
import type { ClaimEntry, ClaimOutcome, PayeeBroker } from "./broker.js";
import type { PersistentPayee } from "./payee.js";
import type { PersistentStore } from "./store.js";

export interface ClaimerOptions {
  store: PersistentStore;
  broker: PayeeBroker;
  payee: PersistentPayee;
  domain: Eip712Domain;
  logger: Logger;
  /** Background check interval in ms (default 2000; 0 = only explicit and exposure triggers). */
  pollIntervalMs?: number;
  /** Claim when gas × price ≤ value / this (default 100: 1 %). */
  gasValueRatio?: bigint;
}

/** What one batch did. */
export interface ClaimReport {
  hash: Hex;
  gasUsed: bigint;
  entries: number;
  requested: bigint;
  paid: bigint;
  outcomes: ClaimOutcome[];
}

/**
 * The claimer. `claimNow()` settles everything claimable in ONE transaction; the triggers call it.
 * Its record lives in the store (claimed = what was paid), so it resumes after a restart.
 * @example const c = new Claimer({ store, broker, payee, domain, logger }); c.start(); await c.claimNow();
 */
export class Claimer {
  private readonly o: ClaimerOptions;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private lastRound: bigint | undefined;
  /** Batches sent so far (tests and metrics). */
  readonly reports: ClaimReport[] = [];

  constructor(o: ClaimerOptions) {
    this.o = o;
  }

  /** Starts the periodic triggers (round start, unlock deadline, gas threshold). */
  start(): void {
    const ms = this.o.pollIntervalMs ?? 2000;
    if (ms <= 0) return;
    this.timer = setInterval(() => {
      this.poll().catch((e: unknown) =>
        this.o.logger.warn({ err: e instanceof Error ? e.message : String(e) }, "claim check failed"),
      );
    }, ms);
    this.timer.unref();
  }

  /** Waits for the batch in progress; stops the triggers. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.queue.catch(() => undefined);
  }

  /**
   * Exposure trigger, called after every admitted voucher: claim when E ≥ A* ÷ 2.
   * @example claimer.onExposure(payer, epoch, e, allocation)
   */
  onExposure(_payer: Hex, _epoch: bigint, exposure: bigint, allocation: bigint): void {
    if (allocation > 0n && exposure * 2n >= allocation) void this.claimNow().catch(() => undefined);
  }

  /** The entries of a batch: every ticket whose charges exceed what was paid, with its receipts root. */
  private entries(): {
    groups: { payer: Hex; epoch: bigint; vouchers: ClaimEntry[] }[];
    value: bigint;
    quoteIds: Map<string, Hex[]>;
  } {
    const byPayer = new Map<string, { payer: Hex; epoch: bigint; vouchers: ClaimEntry[] }>();
    const quoteIds = new Map<string, Hex[]>();
    let value = 0n;
    for (const t of this.o.store.tickets()) {
      const v = t.voucher;
      if (!v) continue;
      const target =
        t.state.cumulativeCharged < v.cumulativeAmount ? t.state.cumulativeCharged : v.cumulativeAmount;
      if (target <= t.claimed) continue;
      const receipts = this.o.store.unclaimedReceipts(t.state.payer, t.state.epoch, t.state.ticketId);
      const root = receiptsSumRoot(
        this.o.domain,
        receipts.map((r) => r.receipt.receipt),
      );
      const { r, vs } = toCompactSignature(v.signature);
      const key = `${t.state.payer}/${t.state.epoch}`;
      let g = byPayer.get(key);
      if (!g) byPayer.set(key, (g = { payer: t.state.payer, epoch: t.state.epoch, vouchers: [] }));
      g.vouchers.push({
        ticketId: t.state.ticketId,
        cumulativeAmount: v.cumulativeAmount,
        newClaimed: target,
        context: v.context,
        r,
        vs,
        receiptsRoot: root.hash,
      });
      quoteIds.set(
        `${key}/${t.state.ticketId}`,
        receipts.map((x) => x.quoteId),
      );
      value += target - t.claimed;
    }
    return { groups: [...byPayer.values()], value, quoteIds };
  }

  /**
   * Claims everything claimable now in one `claimBatch` (serialized with other claims). Resolves to
   * undefined when there was nothing to claim.
   * @example const report = await claimer.claimNow()
   */
  claimNow(): Promise<ClaimReport | undefined> {
    const run = () => this.claimOnce();
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async claimOnce(): Promise<ClaimReport | undefined> {
    const { groups, value, quoteIds } = this.entries();
    if (groups.length === 0) return undefined;
    const { hash, gasUsed, outcomes } = await this.o.broker.claimBatch(groups);
    let requested = 0n;
    let paid = 0n;
    for (const out of outcomes) {
      const ids = quoteIds.get(`${out.payer}/${out.epoch}/${out.ticketId}`) ?? [];
      if (out.failedReason !== undefined) {
        this.o.logger.warn(
          { payer: out.payer, ticketId: String(out.ticketId), reason: out.failedReason },
          "claim entry failed",
        );
        continue;
      }
      requested += out.requested;
      paid += out.paid;
      // Advance by what was PAID; a shortfall stays claimable with the same voucher.
      this.o.store.recordClaim(out.payer, out.epoch, out.ticketId, out.paid, out.shortfall === 0n, ids);
    }
    const report: ClaimReport = { hash, gasUsed, entries: outcomes.length, requested, paid, outcomes };
    this.reports.push(report);
    this.o.logger.info(
      {
        hash,
        entries: report.entries,
        requested: String(requested),
        paid: String(paid),
        value: String(value),
        gasUsed: String(gasUsed),
      },
      "persistent claim batch",
    );
    return report;
  }

  /**
   * Periodic triggers: a payer unlocking (claim now, before round withdrawRound − 1 ends), a new
   * round with some payer's E > A*, or gas ≤ 1 % of the claimable value.
   */
  private async poll(): Promise<void> {
    const { groups, value } = this.entries();
    if (groups.length === 0) return;
    const round = await this.o.broker.currentRound();
    const newRound = this.lastRound !== undefined && round > this.lastRound;
    this.lastRound = round;
    let urgent = false;
    for (const g of groups) {
      const info = await this.o.broker.payerInfo(g.payer);
      if (info.withdrawRound !== 0n || info.epoch !== g.epoch) urgent = true;
      if (newRound) {
        const e = this.o.payee.exposure(g.payer, g.epoch);
        if (e > (await this.o.broker.claimableReserve(g.payer))) urgent = true;
      }
    }
    if (!urgent) {
      const gas = await this.o.broker.estimateClaimGas(groups);
      const price = await this.o.broker.gasPrice();
      urgent = gas * price * (this.o.gasValueRatio ?? 100n) <= value;
    }
    if (urgent) await this.claimNow();
  }
}
