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
  /** Log an error when a pass finds a deadline this close with charges unclaimed (default 5 blocks). */
  deadlineMarginBlocks?: bigint;
}

/** What made the claimer claim. */
export type ClaimTrigger =
  "explicit" | "exposure" | "round" | "unlock" | "revocation" | "deactivation" | "gas";

/** What one batch did. */
export interface ClaimReport {
  trigger: ClaimTrigger;
  /** The earliest claim deadline (block) known when the batch was sent, if any. */
  deadline?: bigint;
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
  /** Known claim deadlines (block numbers) of payers unlocking and keys being revoked. */
  readonly deadlines = new Map<string, bigint>();
  /** Triggers that can be switched off (tests of the other triggers; an operator's choice). */
  readonly triggers = { exposure: true, gas: true };

  constructor(o: ClaimerOptions) {
    this.o = o;
  }

  /**
   * Starts (or restarts) the periodic triggers (round start, unlock, revocation, deactivation, gas
   * threshold) every `intervalMs` (default: the configured interval); 0 stops them.
   * @example claimer.start(500)
   */
  start(intervalMs?: number): void {
    const ms = intervalMs ?? this.o.pollIntervalMs ?? 2000;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (ms <= 0) return;
    this.timer = setInterval(() => {
      this.check().catch((e: unknown) =>
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
    if (this.triggers.exposure && allocation > 0n && exposure * 2n >= allocation) {
      void this.claimNow("exposure").catch((e: unknown) =>
        this.o.logger.warn({ err: e instanceof Error ? e.message : String(e) }, "exposure claim failed"),
      );
    }
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
  claimNow(trigger: ClaimTrigger = "explicit"): Promise<ClaimReport | undefined> {
    const run = () => this.claimOnce(trigger, this.earliestDeadline());
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private earliestDeadline(): bigint | undefined {
    let d: bigint | undefined;
    for (const v of this.deadlines.values()) if (d === undefined || v < d) d = v;
    return d;
  }

  private async claimOnce(
    trigger: ClaimTrigger,
    deadline: bigint | undefined,
  ): Promise<ClaimReport | undefined> {
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
    const report: ClaimReport = {
      trigger,
      ...(deadline !== undefined ? { deadline } : {}),
      hash,
      gasUsed,
      entries: outcomes.length,
      requested,
      paid,
      outcomes,
    };
    this.reports.push(report);
    this.o.logger.info(
      {
        trigger,
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
   * One pass of the periodic triggers (the timer of `start` calls it; tests call it directly). Claims
   * at once when a payer holding unclaimed charges is unlocking or moved to a new epoch, when a
   * session key that signed them is being revoked (or expires), when this payee left the active set
   * or is leaving it, at a new round when some payer's E > A*, and otherwise when gas ≤ 1 % of the
   * value. A failed claim is retried on the next pass; each deadline (the last block of round
   * withdrawRound − 1, or of revokeRound − 1) is kept in `deadlines`, and a pass within
   * `deadlineMarginBlocks` of one logs an error, so an operator sees a claim at risk.
   * @example const { trigger } = await claimer.check()
   */
  async check(): Promise<{ trigger?: ClaimTrigger; report?: ClaimReport }> {
    const { groups, value } = this.entries();
    if (groups.length === 0) return {};
    const [round, roundLength, block, active] = await Promise.all([
      this.o.broker.currentRound(),
      this.o.broker.roundLength(),
      this.o.broker.blockNumber(),
      this.o.broker.isActive(),
    ]);
    const newRound = this.lastRound !== undefined && round > this.lastRound;
    this.lastRound = round;
    let trigger: ClaimTrigger | undefined;
    if (!active || this.o.payee.isLeaving) trigger = "deactivation";
    for (const g of groups) {
      const info = await this.o.broker.payerInfo(g.payer);
      // Withdrawn (a later epoch): nothing is claimable any more; claiming would only fail.
      if (info.epoch !== g.epoch) continue;
      if (info.withdrawRound !== 0n) {
        this.deadlines.set(`${g.payer}/${g.epoch}`, info.withdrawRound * roundLength - 1n);
        trigger ??= "unlock";
      }
      for (const signer of this.delegatedSigners(g.payer, g.epoch)) {
        const d = await this.o.broker.delegation(g.payer, signer);
        // Revoked: claim now (DESIGN: on any Revoked event); expiring: claim in its last round.
        const end = d.revokeRound !== 0n ? d.revokeRound : d.validUntilRound + 1n;
        if (d.revokeRound !== 0n || end <= round + 1n) {
          // Its vouchers stop being claimable when round `end` starts.
          this.deadlines.set(`${g.payer}/${g.epoch}/${signer}`, end * roundLength - 1n);
          trigger ??= "revocation";
        }
      }
      if (newRound && trigger === undefined) {
        const e = this.o.payee.exposure(g.payer, g.epoch);
        if (e > (await this.o.broker.claimableReserve(g.payer))) trigger = "round";
      }
    }
    for (const [k, deadline] of this.deadlines) {
      if (block + (this.o.deadlineMarginBlocks ?? 5n) >= deadline) {
        this.o.logger.error(
          { key: k, block: String(block), deadline: String(deadline) },
          "claim deadline near",
        );
      }
    }
    if (trigger === undefined && this.triggers.gas) {
      const gas = await this.o.broker.estimateClaimGas(groups);
      const price = await this.o.broker.gasPrice();
      if (gas * price * (this.o.gasValueRatio ?? 100n) <= value) trigger = "gas";
    }
    if (trigger === undefined) return {};
    const report = await this.claimNow(trigger);
    if (report) {
      // Settled: the deadlines of fully claimed payers no longer matter.
      for (const k of [...this.deadlines.keys()]) {
        const [payer, epoch] = k.split("/");
        const left = this.o.store
          .tickets(payer as Hex, BigInt(epoch!))
          .some((t) => t.voucher && t.claimed < t.state.cumulativeCharged);
        if (!left) this.deadlines.delete(k);
      }
    }
    return report ? { trigger, report } : { trigger };
  }

  /** Session keys (not the payer itself) that signed this payer's tickets with unclaimed charges. */
  private delegatedSigners(payer: Hex, epoch: bigint): Hex[] {
    const out = new Set<Hex>();
    for (const t of this.o.store.tickets(payer, epoch)) {
      const s = t.state.signer?.toLowerCase() as Hex | undefined;
      if (s && s !== payer.toLowerCase() && t.claimed < t.state.cumulativeCharged) out.add(s);
    }
    return [...out];
  }
}
