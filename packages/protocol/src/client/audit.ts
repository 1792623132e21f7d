import type { Hex } from "../bytes/hex.js";
import { LivepayError } from "../errors.js";
import type { Payer } from "./payer.js";

/**
 * Reads the broker's `claimed(payer, payee, epoch, ticketId)` for one of this payer's tickets.
 * Injected so the SDK stays I/O-free and browser-safe (viem, ethers, a JSON-RPC proxy, ...).
 */
export type ClaimedReader = (payee: Hex, epoch: bigint, ticketId: bigint) => Promise<bigint>;

/** One ticket compared with its on-chain claim. Amounts are wei. */
export interface TicketAudit {
  payee: Hex;
  ticketId: bigint;
  epoch: bigint;
  /** On-chain `claimed` of the ticket. */
  claimed: bigint;
  /** cumulativeCharged of the last verified receipt (0 without one). */
  justified: bigint;
  /** The highest cumulative amount the payer signed on the ticket. */
  signed: bigint;
  /** max(0, claimed − justified): what the payee took beyond the receipts. */
  excess: bigint;
  /** excess ≤ signed − justified: the loss stays within what the payer signed (README bound). */
  withinBound: boolean;
  /**
   * A voucher on this ticket still awaits its receipt (in flight or missing): an honest payee may
   * hold a receipt the payer has not seen, so an excess here is not conclusive (resolve it with
   * `payer.fetchReceipt` and audit again).
   */
  unresolved: boolean;
}

/**
 * A payee claimed more on a ticket than the payer's verified receipts justify (`CLAIM_EXCEEDS_RECEIPTS`).
 * Returned by `auditClaims`, not thrown: the money is gone, this is evidence against the payee.
 * @example for (const f of (await auditClaims(payer, read)).findings) console.log(f.code, f.audit.excess)
 */
export class ClaimExceedsReceiptsError extends LivepayError {
  readonly audit: TicketAudit;

  constructor(audit: TicketAudit) {
    super("CLAIM_EXCEEDS_RECEIPTS", "payee claimed more than the verified receipts justify", {
      payee: audit.payee,
      ticketId: String(audit.ticketId),
      epoch: String(audit.epoch),
      claimed: String(audit.claimed),
      justified: String(audit.justified),
      signed: String(audit.signed),
      excess: String(audit.excess),
      withinBound: audit.withinBound,
    });
    this.audit = audit;
  }
}

/** What `auditClaims` found: every ticket, and the conclusive over-claims (their payees are now blocked). */
export interface ClaimAuditResult {
  tickets: TicketAudit[];
  findings: ClaimExceedsReceiptsError[];
}

/**
 * Compares, for every ticket the payer knows, the broker's claimed amount with the last verified
 * receipt. A payee that claimed beyond its receipts (on a ticket with no unresolved voucher) is
 * blocked in the payer's policy, as a receipt charge above the quote is, and reported as a finding.
 * @example await auditClaims(payer, (payee, epoch, id) => client.readContract({ address: broker, abi: PersistentTicketBrokerAbi, functionName: "claimed", args: [payer.address, payee, epoch, id] }))
 */
export async function auditClaims(payer: Payer, read: ClaimedReader): Promise<ClaimAuditResult> {
  const tickets: TicketAudit[] = [];
  const findings: ClaimExceedsReceiptsError[] = [];
  for (const record of await payer.tickets()) {
    const s = record.state;
    // The receipt chain is the evidence; `payer.receipts` lists only the current epoch, where the
    // ticket state (advanced by verified receipts only) holds the same figure for older epochs.
    let justified = s.cumulativeCharged;
    if (s.epoch === payer.epoch) {
      const chain = await payer.receipts(s.payee, s.ticketId);
      justified = chain.length > 0 ? chain[chain.length - 1]!.signed.receipt.cumulativeCharged : 0n;
    }
    const claimed = await read(s.payee, s.epoch, s.ticketId);
    const excess = claimed > justified ? claimed - justified : 0n;
    const audit: TicketAudit = {
      payee: s.payee,
      ticketId: s.ticketId,
      epoch: s.epoch,
      claimed,
      justified,
      signed: s.signedCumulative,
      excess,
      withinBound: excess <= s.signedCumulative - justified,
      unresolved: record.pending !== undefined,
    };
    tickets.push(audit);
    if (excess > 0n && !audit.unresolved) {
      const finding = new ClaimExceedsReceiptsError(audit);
      findings.push(finding);
      await payer.blockPayee(s.payee, finding.code, {
        ticketId: String(s.ticketId),
        epoch: String(s.epoch),
        excess: String(excess),
      });
    }
  }
  return { tickets, findings };
}
