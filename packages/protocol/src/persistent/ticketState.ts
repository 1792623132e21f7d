import { normalizeAddress } from "../bytes/address.js";
import type { Hex } from "../bytes/hex.js";
import { InvalidInputError } from "../errors.js";
import { Rational } from "../money/rational.js";
import { chargeFor, quotePrice } from "./charge.js";
import { ZERO_HASH } from "../pm/constants.js";
import { ReceiptCheckError, VoucherRejectedError } from "./errors.js";
import type { Quote } from "./quote.js";
import type { Receipt } from "./receipt.js";

/**
 * One persistent ticket as either side sees it. Immutable: transitions return a new state.
 * Invariants: `cumulativeCharged = ceil(chargedExact)`, `cumulativeCharged ≤ signedCumulative` once a
 * receipt is applied, `seq` and `lastReceiptHash` are those of the last receipt (0 and zero hash before).
 */
export interface TicketState {
  payer: Hex;
  payee: Hex;
  ticketId: bigint;
  epoch: bigint;
  /** The highest cumulative amount the payer has signed on this ticket. */
  signedCumulative: bigint;
  /** Exact total of units × price over every receipt (wei, rational). */
  chargedExact: Rational;
  /** ceil(chargedExact): what receipts justify, in wei. */
  cumulativeCharged: bigint;
  /** Sequence number of the last receipt (0: none). */
  seq: bigint;
  /** Hash of the last receipt (ZERO_HASH: none). */
  lastReceiptHash: Hex;
  lastReceipt: Receipt | undefined;
  /** The key the ticket is bound to: the signer of its first voucher (the payer or a delegated key). */
  signer: Hex | undefined;
  /** The quote the latest voucher approved and no receipt has answered yet. */
  pendingQuoteHash: Hex | undefined;
}

/** Identifies a ticket: `(payer, payee, epoch, ticketId)`, as the contract keys it. */
export interface TicketKey {
  payer: Hex;
  payee: Hex;
  ticketId: bigint;
  epoch: bigint;
}

/**
 * A fresh ticket: nothing signed, nothing charged.
 * @example openTicket({ payer, payee, ticketId: 0n, epoch: 0n })
 */
export function openTicket(key: TicketKey): TicketState {
  if (key.ticketId < 0n || key.ticketId >> 256n !== 0n || key.epoch < 0n || key.epoch >> 64n !== 0n) {
    throw new InvalidInputError("INVALID_TICKET", "ticketId must fit uint256 and epoch uint64");
  }
  return {
    payer: normalizeAddress(key.payer),
    payee: normalizeAddress(key.payee),
    ticketId: key.ticketId,
    epoch: key.epoch,
    signedCumulative: 0n,
    chargedExact: Rational.ZERO,
    cumulativeCharged: 0n,
    seq: 0n,
    lastReceiptHash: ZERO_HASH,
    lastReceipt: undefined,
    signer: undefined,
    pendingQuoteHash: undefined,
  };
}

/**
 * Credit: what the payer has signed beyond what receipts justify (`signedCumulative − cumulativeCharged`).
 * It is also what a dishonest payee could claim without a receipt: the payer's exposure on this ticket.
 * Credit is never spent without a new voucher (see `acceptVoucher`).
 * @example ticketCredit(state) // 1200n
 */
export function ticketCredit(state: TicketState): bigint {
  const c = state.signedCumulative - state.cumulativeCharged;
  return c > 0n ? c : 0n;
}

/** The result of charging units on a ticket, before it is put in a receipt. */
export interface TicketCharge {
  chargedExact: Rational;
  cumulativeCharged: bigint;
  /** Integer wei this request adds: cumulativeCharged − previous cumulativeCharged. */
  charge: bigint;
}

/**
 * The ceil rule: the exact total grows by `units × price` and receipts carry its ceiling, so the
 * rounding on a ticket is less than 1 wei in total, not per request.
 * @example chargeTicket(state, 3n, Rational.of(1n, 2n)) // { cumulativeCharged: 2n, charge: 2n, ... } on a fresh ticket
 */
export function chargeTicket(state: TicketState, units: bigint, price: Rational): TicketCharge {
  if (units < 0n) throw new InvalidInputError("INVALID_UNITS", "units must be >= 0");
  const chargedExact = state.chargedExact.add(chargeFor(units, price));
  const cumulativeCharged = chargedExact.ceil();
  return { chargedExact, cumulativeCharged, charge: cumulativeCharged - state.cumulativeCharged };
}

/** A voucher as a state transition needs it. */
export interface VoucherStep {
  cumulativeAmount: bigint;
  /** The quote it approves (its context is voucherContext(quoteHash, state.lastReceiptHash)). */
  quoteHash: Hex;
  /** The recovered signer (payer or delegated key). */
  signer: Hex;
}

/**
 * Records a voucher: the signed cumulative becomes `cumulativeAmount` (never lower: amounts only grow),
 * the ticket binds to its first signer, and the quote becomes pending until its receipt.
 * Throws `VoucherRejectedError` `VOUCHER_NOT_MONOTONIC` or `VOUCHER_SIGNER_NOT_BOUND`.
 * @example state = applyVoucher(state, { cumulativeAmount, quoteHash, signer: payer })
 */
export function applyVoucher(state: TicketState, step: VoucherStep): TicketState {
  if (step.cumulativeAmount < state.signedCumulative) {
    throw new VoucherRejectedError(
      "VOUCHER_NOT_MONOTONIC",
      "voucher cumulative amount is below the highest signed",
      {
        cumulativeAmount: String(step.cumulativeAmount),
        signedCumulative: String(state.signedCumulative),
      },
    );
  }
  const signer = normalizeAddress(step.signer);
  if (state.signer !== undefined && state.signer !== signer) {
    throw new VoucherRejectedError("VOUCHER_SIGNER_NOT_BOUND", "ticket is bound to another key", {
      bound: state.signer,
      signer,
    });
  }
  return {
    ...state,
    signedCumulative: step.cumulativeAmount,
    signer,
    pendingQuoteHash: step.quoteHash.toLowerCase() as Hex,
  };
}

function violation(code: string, message: string, details: Record<string, unknown>): ReceiptCheckError {
  return new ReceiptCheckError(code, message, details);
}

/**
 * Records a receipt for the pending quote after checking the arithmetic every receipt must satisfy:
 * it answers the pending quote, `seq` is the next one, `prevReceiptHash` is the last receipt's hash,
 * `cumulativeCharged = ceil(chargedExact + units × price)` with `charge` the difference, and the voucher
 * covers it. Throws `ReceiptCheckError` naming the first violation; see `checkReceipt` for the payer's
 * full list (signature, identity, quote limits, plausibility, content).
 * @example state = applyReceipt(state, quote, receipt, receiptHash(domain, receipt))
 */
export function applyReceipt(state: TicketState, quote: Quote, receipt: Receipt, hash: Hex): TicketState {
  if (state.pendingQuoteHash === undefined || receipt.quoteHash.toLowerCase() !== state.pendingQuoteHash) {
    throw violation("RECEIPT_QUOTE_MISMATCH", "receipt is not for the quote the payer approved", {
      quoteHash: receipt.quoteHash,
      pendingQuoteHash: state.pendingQuoteHash ?? null,
    });
  }
  if (receipt.seq !== state.seq + 1n) {
    throw violation("RECEIPT_SEQ_NOT_NEXT", "receipt sequence number is not the next one", {
      seq: String(receipt.seq),
      expected: String(state.seq + 1n),
    });
  }
  if (receipt.prevReceiptHash.toLowerCase() !== state.lastReceiptHash) {
    throw violation("RECEIPT_CHAIN_BROKEN", "receipt does not chain to the previous receipt", {
      prevReceiptHash: receipt.prevReceiptHash,
      expected: state.lastReceiptHash,
    });
  }
  if (receipt.cumulativeCharged !== state.cumulativeCharged + receipt.charge) {
    throw violation(
      "RECEIPT_CUMULATIVE_MISMATCH",
      "cumulativeCharged is not the previous total plus the charge",
      {
        cumulativeCharged: String(receipt.cumulativeCharged),
        expected: String(state.cumulativeCharged + receipt.charge),
      },
    );
  }
  const next = chargeTicket(state, receipt.units, quotePrice(quote));
  if (next.cumulativeCharged !== receipt.cumulativeCharged) {
    throw violation(
      "RECEIPT_ROUNDING_MISMATCH",
      "cumulativeCharged is not ceil(exact total + units × price)",
      {
        cumulativeCharged: String(receipt.cumulativeCharged),
        expected: String(next.cumulativeCharged),
      },
    );
  }
  if (receipt.cumulativeCharged > state.signedCumulative) {
    throw violation("RECEIPT_ABOVE_APPROVAL", "cumulativeCharged exceeds the signed cumulative amount", {
      cumulativeCharged: String(receipt.cumulativeCharged),
      signedCumulative: String(state.signedCumulative),
    });
  }
  return {
    ...state,
    chargedExact: next.chargedExact,
    cumulativeCharged: next.cumulativeCharged,
    seq: receipt.seq,
    lastReceiptHash: hash.toLowerCase() as Hex,
    lastReceipt: receipt,
    pendingQuoteHash: undefined,
  };
}
