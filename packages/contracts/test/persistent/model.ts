// A TypeScript model of PersistentTicketBroker's rules (PERSISTENT.md), used by the invariant walk
// to predict every call's outcome independently of the contract: statuses, payments, reserve
// allocations, delegation caps and ticket bindings.
import type { Address, Hex } from "viem";

export const MAX96 = 2n ** 96n - 1n;
export const MAX32 = 2n ** 32n - 1n;

/** Claim statuses (VoucherClaimFailed.reason) and the revert strings of `claim`. */
export const Status = {
  OK: 0,
  EPOCH_NOT_CURRENT: 1,
  PAYER_UNLOCKED: 2,
  EXCEEDS_CUMULATIVE: 3,
  NOTHING_TO_CLAIM: 4,
  INVALID_SIGNATURE: 5,
  SIGNER_NOT_AUTHORIZED: 6,
  TICKET_BOUND_TO_OTHER_KEY: 7,
  DELEGATION_OTHER_EPOCH: 8,
  DELEGATION_PAYEE_MISMATCH: 9,
  DELEGATION_EXPIRED: 10,
  DELEGATION_REVOKED: 11,
} as const;

export const REVERT_STRING: Record<number, string> = {
  1: "voucher epoch is not the payer's epoch",
  2: "sender is unlocked",
  3: "newClaimed exceeds cumulativeAmount",
  4: "nothing to claim",
  5: "invalid voucher signature",
  6: "voucher signer is not the payer or a delegated key",
  7: "ticket is bound to another key",
  8: "delegation is from another epoch",
  9: "delegation is for another payee",
  10: "delegation expired",
  11: "delegation revoked",
};

export interface PayerState {
  deposit: bigint;
  reserve: bigint;
  withdrawRound: bigint;
  epoch: bigint;
  keyCount: number;
  claimedForRound: Map<bigint, bigint>;
  claimedByPayee: Map<string, bigint>; // `${round}:${payee}`
}

export interface DelegationState {
  payee: Address;
  cap: bigint; // clamped to 96 bits, as stored
  claimed: bigint;
  validUntilRound: bigint; // clamped to 32 bits, as stored
  epoch: bigint;
  revokeRound: bigint;
  keyId: number;
}

export interface TicketState {
  claimed: bigint;
  keyId: number; // 0 unbound, 1 payer, >= 2 delegation
}

/** What a signed voucher committed to, and how it was (mis)signed. */
export interface VoucherMeta {
  payer: Address;
  payee: Address;
  ticketId: bigint;
  epoch: bigint;
  cumulativeAmount: bigint;
  context: Hex;
  signer: Address;
  /** "fields": a signed field was changed afterwards; "highS": s above half the order. */
  tamper?: "fields" | "highS";
}

export interface ClaimEntry {
  meta: VoucherMeta;
  /** Fields as submitted (may differ from what was signed). */
  ticketId: bigint;
  cumulativeAmount: bigint;
  newClaimed: bigint;
}

export interface Registry {
  active: boolean;
  /** max(poolSize, poolMaxSize) */
  pool: bigint;
}

export interface EntryOutcome {
  status: number;
  paid: bigint;
  requested: bigint;
  fromReserve: bigint;
}

const ZERO = "0x0000000000000000000000000000000000000000" as Address;
const lc = (a: Address) => a.toLowerCase();

export class Model {
  payers = new Map<string, PayerState>();
  delegations = new Map<string, DelegationState>();
  tickets = new Map<string, TicketState>();
  /** Highest cumulative signed per ticket (any signer). */
  highest = new Map<string, bigint>();
  funded = 0n;
  paid = 0n;
  withdrawn = 0n;

  constructor(readonly unlockPeriod: bigint) {}

  payer(a: Address): PayerState {
    let p = this.payers.get(lc(a));
    if (!p) {
      p = {
        deposit: 0n,
        reserve: 0n,
        withdrawRound: 0n,
        epoch: 0n,
        keyCount: 0,
        claimedForRound: new Map(),
        claimedByPayee: new Map(),
      };
      this.payers.set(lc(a), p);
    }
    return p;
  }

  static ticketKey(payer: Address, payee: Address, epoch: bigint, id: bigint) {
    return `${lc(payer)}:${lc(payee)}:${epoch}:${id}`;
  }

  ticket(payer: Address, payee: Address, epoch: bigint, id: bigint): TicketState {
    const k = Model.ticketKey(payer, payee, epoch, id);
    let t = this.tickets.get(k);
    if (!t) {
      t = { claimed: 0n, keyId: 0 };
      this.tickets.set(k, t);
    }
    return t;
  }

  delegation(payer: Address, key: Address): DelegationState | undefined {
    return this.delegations.get(`${lc(payer)}:${lc(key)}`);
  }

  // ------------------------------------------------------------------ payer calls

  fund(payer: Address, sender: Address, deposit: bigint, reserve: bigint) {
    const p = this.payer(payer);
    if (lc(payer) === lc(sender) && p.withdrawRound !== 0n) p.withdrawRound = 0n;
    p.deposit += deposit;
    p.reserve += reserve;
    this.funded += deposit + reserve;
  }

  /** Returns the expected revert string, or undefined (and applies the call). */
  unlock(payer: Address, round: bigint): string | undefined {
    const p = this.payer(payer);
    if (p.deposit === 0n && p.reserve === 0n) return "sender deposit and reserve are zero";
    if (p.withdrawRound !== 0n) return "unlock already initiated";
    p.withdrawRound = round + this.unlockPeriod;
  }

  cancelUnlock(payer: Address): string | undefined {
    const p = this.payer(payer);
    if (p.withdrawRound === 0n) return "no unlock request in progress";
    p.withdrawRound = 0n;
  }

  withdraw(payer: Address, round: bigint): string | bigint {
    const p = this.payer(payer);
    if (p.deposit === 0n && p.reserve === 0n) return "sender deposit and reserve are zero";
    if (p.withdrawRound === 0n) return "no unlock request in progress";
    if (round < p.withdrawRound) return "account is locked";
    const amount = p.deposit + p.reserve;
    this.withdrawn += amount;
    p.deposit = 0n;
    p.reserve = 0n;
    p.withdrawRound = 0n;
    p.epoch += 1n;
    return amount;
  }

  private usable(d: DelegationState, epoch: bigint, round: bigint) {
    return (
      d.keyId !== 0 &&
      d.epoch === epoch &&
      round <= d.validUntilRound &&
      (d.revokeRound === 0n || round < d.revokeRound)
    );
  }

  registerDelegation(
    payer: Address,
    key: Address,
    payee: Address,
    cap: bigint,
    validUntilRound: bigint,
    round: bigint,
  ): string | undefined {
    if (lc(key) === lc(ZERO)) return "delegation key is null address";
    if (lc(key) === lc(payer)) return "delegation key is the payer";
    if (validUntilRound < round) return "delegation validUntilRound has passed";
    const p = this.payer(payer);
    const cap96 = cap > MAX96 ? MAX96 : cap;
    const until32 = validUntilRound > MAX32 ? MAX32 : validUntilRound;
    const k = `${lc(payer)}:${lc(key)}`;
    const d = this.delegations.get(k);
    let keyId: number;
    let claimed = 0n;
    if (!d) {
      keyId = p.keyCount < 2 ? 2 : p.keyCount + 1;
      p.keyCount = keyId;
    } else {
      keyId = d.keyId;
      if (this.usable(d, p.epoch, round)) {
        if (d.revokeRound !== 0n) return "delegation revocation in progress";
        const samePayee = lc(payee) === lc(d.payee) || lc(payee) === lc(ZERO);
        if (!samePayee || cap96 < d.cap || until32 < d.validUntilRound)
          return "live delegation can only be widened";
        claimed = d.claimed;
      }
    }
    this.delegations.set(k, {
      payee,
      cap: cap96,
      claimed,
      validUntilRound: until32,
      epoch: p.epoch,
      revokeRound: 0n,
      keyId,
    });
  }

  revokeDelegation(payer: Address, key: Address, round: bigint): string | undefined {
    const d = this.delegation(payer, key);
    if (!d || d.epoch !== this.payer(payer).epoch) return "no delegation for key";
    if (d.revokeRound !== 0n) return "delegation revocation already initiated";
    d.revokeRound = round + this.unlockPeriod;
  }

  // ------------------------------------------------------------------ claims

  claimableReserve(payer: Address, payee: Address, round: bigint, reg: Registry): bigint {
    if (!reg.active || reg.pool === 0n) return 0n;
    const p = this.payer(payer);
    if (p.reserve === 0n) return 0n;
    const allocation = (p.reserve + (p.claimedForRound.get(round) ?? 0n)) / reg.pool;
    const used = p.claimedByPayee.get(`${round}:${lc(payee)}`) ?? 0n;
    if (allocation <= used) return 0n;
    const left = allocation - used;
    return left < p.reserve ? left : p.reserve;
  }

  /** Status of a payer group before any entry is looked at. */
  groupStatus(payer: Address, epoch: bigint, round: bigint): number {
    const p = this.payer(payer);
    if (epoch !== p.epoch) return Status.EPOCH_NOT_CURRENT;
    if (p.withdrawRound !== 0n && round >= p.withdrawRound) return Status.PAYER_UNLOCKED;
    return Status.OK;
  }

  /**
   * Applies one group of claims (a single `claim` is a group of one whose failure reverts, so the
   * caller must not apply it then: use `dryRun`).
   */
  claimGroup(
    payer: Address,
    epoch: bigint,
    payee: Address,
    entries: ClaimEntry[],
    round: bigint,
    reg: Registry,
  ) {
    const p = this.payer(payer);
    const group = this.groupStatus(payer, epoch, round);
    const outcomes: EntryOutcome[] = [];
    for (const e of entries) {
      outcomes.push(group !== Status.OK ? fail(group) : this.claimOne(payer, epoch, payee, e, round, reg, p));
    }
    return outcomes;
  }

  private claimOne(
    payer: Address,
    epoch: bigint,
    payee: Address,
    e: ClaimEntry,
    round: bigint,
    reg: Registry,
    p: PayerState,
  ): EntryOutcome {
    if (e.newClaimed > e.cumulativeAmount) return fail(Status.EXCEEDS_CUMULATIVE);
    const t = this.ticket(payer, payee, epoch, e.ticketId);
    if (e.newClaimed <= t.claimed) return fail(Status.NOTHING_TO_CLAIM);
    const m = e.meta;
    if (m.tamper === "highS") return fail(Status.INVALID_SIGNATURE);
    const digestMatches =
      !m.tamper &&
      lc(m.payer) === lc(payer) &&
      lc(m.payee) === lc(payee) &&
      m.ticketId === e.ticketId &&
      m.epoch === epoch &&
      m.cumulativeAmount === e.cumulativeAmount;
    // A mismatched digest recovers an unrelated address: neither the payer nor a registered key.
    if (!digestMatches) return fail(Status.SIGNER_NOT_AUTHORIZED);
    let limit = MAX96 - t.claimed;
    let keyId: number;
    let d: DelegationState | undefined;
    if (lc(m.signer) === lc(payer)) {
      if (t.keyId > 1) return fail(Status.TICKET_BOUND_TO_OTHER_KEY);
      keyId = 1;
    } else {
      d = this.delegation(payer, m.signer);
      if (!d) return fail(Status.SIGNER_NOT_AUTHORIZED);
      if (t.keyId !== 0 && t.keyId !== d.keyId) return fail(Status.TICKET_BOUND_TO_OTHER_KEY);
      if (d.epoch !== epoch) return fail(Status.DELEGATION_OTHER_EPOCH);
      if (lc(d.payee) !== lc(ZERO) && lc(d.payee) !== lc(payee))
        return fail(Status.DELEGATION_PAYEE_MISMATCH);
      if (round > d.validUntilRound) return fail(Status.DELEGATION_EXPIRED);
      if (d.revokeRound !== 0n && round >= d.revokeRound) return fail(Status.DELEGATION_REVOKED);
      const capLeft = d.cap - d.claimed;
      if (capLeft < limit) limit = capLeft;
      keyId = d.keyId;
    }
    const requested = e.newClaimed - t.claimed;
    const want = requested < limit ? requested : limit;
    let paid: bigint;
    let fromReserve = 0n;
    if (want <= p.deposit) {
      paid = want;
      p.deposit -= want;
    } else {
      const claimable = this.claimableReserve(payer, payee, round, reg);
      fromReserve = want - p.deposit < claimable ? want - p.deposit : claimable;
      paid = p.deposit + fromReserve;
      p.deposit = 0n;
      if (fromReserve > 0n) {
        p.claimedForRound.set(round, (p.claimedForRound.get(round) ?? 0n) + fromReserve);
        const k = `${round}:${lc(payee)}`;
        p.claimedByPayee.set(k, (p.claimedByPayee.get(k) ?? 0n) + fromReserve);
        p.reserve -= fromReserve;
      }
    }
    t.claimed += paid;
    t.keyId = keyId;
    if (d) d.claimed += paid;
    this.paid += paid;
    return { status: Status.OK, paid, requested, fromReserve };
  }

  /** Runs `fn` on a copy of the state and throws the copy away (for a single claim that reverts). */
  dryRun<T>(fn: (m: Model) => T): T {
    return fn(this.clone());
  }

  clone(): Model {
    const c = new Model(this.unlockPeriod);
    for (const [k, p] of this.payers) {
      c.payers.set(k, {
        ...p,
        claimedForRound: new Map(p.claimedForRound),
        claimedByPayee: new Map(p.claimedByPayee),
      });
    }
    for (const [k, d] of this.delegations) c.delegations.set(k, { ...d });
    for (const [k, t] of this.tickets) c.tickets.set(k, { ...t });
    c.highest = new Map(this.highest);
    c.funded = this.funded;
    c.paid = this.paid;
    c.withdrawn = this.withdrawn;
    return c;
  }
}

function fail(status: number): EntryOutcome {
  return { status, paid: 0n, requested: 0n, fromReserve: 0n };
}
