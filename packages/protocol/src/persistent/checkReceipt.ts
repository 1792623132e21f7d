import { normalizeAddress } from "../bytes/address.js";
import { hexToBytes, type Hex } from "../bytes/hex.js";
import { LivepayError } from "../errors.js";
import { Rational } from "../money/rational.js";
import { recoverTypedSigner } from "./compactSignature.js";
import { saltedHash } from "./contentHash.js";
import type { Eip712Domain } from "./eip712.js";
import { ReceiptCheckError } from "./errors.js";
import { quoteHash, type Quote } from "./quote.js";
import { receiptHash, type SignedReceipt } from "./receipt.js";
import { applyReceipt, type TicketState } from "./ticketState.js";

/** How far a receipt's units may exceed what the payer observed: `observed × (1 + ratio) + slack`. */
export interface UnitTolerance {
  ratio: Rational;
  slack: bigint;
}

/** No tolerance: units must not exceed the observation. */
export const STRICT_UNIT_TOLERANCE: UnitTolerance = Object.freeze({ ratio: Rational.ZERO, slack: 0n });

/**
 * Whether `units ≤ observed + ceil(observed × ratio) + slack`.
 * @example unitsWithinTolerance(110n, 100n, { ratio: Rational.parse("0.1"), slack: 0n }) // true
 */
export function unitsWithinTolerance(units: bigint, observed: bigint, tolerance: UnitTolerance): boolean {
  return units <= observed + tolerance.ratio.mul(observed).ceil() + tolerance.slack;
}

/** What the payer knows when a receipt arrives. */
export interface ReceiptCheckContext {
  domain: Eip712Domain;
  /** The payee's registered signing key when the receipt was issued. */
  payeeSigningKey: Hex;
  /** The quote the payer approved for this request. */
  quote: Quote;
  /** quoteHash(domain, quote), when the caller has it (saves rehashing); must be that quote's hash. */
  quoteHash?: Hex;
  /** Units the payer can justify from what it received (see the client's observations); omitted: not checked. */
  observedUnits?: bigint;
  tolerance?: UnitTolerance;
  /** The request content the payer sent (`requestContent`): checks `inputHash` when given. */
  inputContent?: Uint8Array;
  /** The canonical output content the payer received: checks `outputHash` when given. */
  outputContent?: Uint8Array;
}

function fail(code: string, message: string, details: Record<string, unknown>): ReceiptCheckError {
  return new ReceiptCheckError(code, message, details);
}

/**
 * The checks a payer runs on a receipt before it signs again, in this order, each failure a
 * `ReceiptCheckError` naming it: payee signature by its registered key (`RECEIPT_SIGNATURE_INVALID`,
 * `RECEIPT_SIGNER_MISMATCH`); same payee, payer, ticket and epoch (`RECEIPT_TICKET_MISMATCH`); for the
 * approved quote (`RECEIPT_QUOTE_MISMATCH`); `seq` increments (`RECEIPT_SEQ_NOT_NEXT`); chain intact
 * (`RECEIPT_CHAIN_BROKEN`); `units ≤ maxUnits` (`RECEIPT_UNITS_ABOVE_MAX`); `charge ≤ maxCharge`
 * (`RECEIPT_CHARGE_ABOVE_QUOTE`); `cumulativeCharged = previous + charge` (`RECEIPT_CUMULATIVE_MISMATCH`)
 * and `= ceil(previous exact + units × price)` (`RECEIPT_ROUNDING_MISMATCH`); covered by the voucher
 * (`RECEIPT_ABOVE_APPROVAL`); units plausible against the observation (`RECEIPT_UNITS_IMPLAUSIBLE`);
 * content hashes (`RECEIPT_INPUT_MISMATCH`, `RECEIPT_OUTPUT_MISMATCH`). Returns the next state.
 * @example ({ state } = checkReceipt(state, signedReceipt, { domain, payeeSigningKey, quote, observedUnits }));
 */
export function checkReceipt(
  state: TicketState,
  signed: SignedReceipt,
  ctx: ReceiptCheckContext,
): { state: TicketState; receiptHash: Hex } {
  const r = signed.receipt;
  const hash = receiptHash(ctx.domain, r);
  let signer: Hex;
  try {
    signer = recoverTypedSigner(hexToBytes(hash), signed.signature);
  } catch (e) {
    throw fail("RECEIPT_SIGNATURE_INVALID", "receipt signature is invalid", {
      reason: e instanceof LivepayError ? e.code : String(e),
    });
  }
  const key = normalizeAddress(ctx.payeeSigningKey);
  if (signer !== key) {
    throw fail("RECEIPT_SIGNER_MISMATCH", "receipt is not signed by the payee's signing key", {
      signer,
      expected: key,
    });
  }
  const ids: [string, unknown, unknown][] = [
    ["payee", normalizeAddress(r.payee), state.payee],
    ["payer", normalizeAddress(r.payer), state.payer],
    ["ticketId", r.ticketId, state.ticketId],
    ["epoch", r.epoch, state.epoch],
  ];
  for (const [field, got, want] of ids) {
    if (got !== want) {
      throw fail("RECEIPT_TICKET_MISMATCH", `receipt ${field} is not this ticket's`, {
        field,
        value: String(got),
        expected: String(want),
      });
    }
  }
  const q = ctx.quote;
  const qh = ctx.quoteHash?.toLowerCase() ?? quoteHash(ctx.domain, q);
  if (r.quoteHash.toLowerCase() !== qh || state.pendingQuoteHash !== qh) {
    throw fail("RECEIPT_QUOTE_MISMATCH", "receipt is not for the quote the payer approved", {
      quoteHash: r.quoteHash,
      expected: qh,
    });
  }
  if (r.seq !== state.seq + 1n) {
    throw fail("RECEIPT_SEQ_NOT_NEXT", "receipt sequence number is not the next one", {
      seq: String(r.seq),
      expected: String(state.seq + 1n),
    });
  }
  if (r.prevReceiptHash.toLowerCase() !== state.lastReceiptHash) {
    throw fail("RECEIPT_CHAIN_BROKEN", "receipt does not chain to the previous receipt", {
      prevReceiptHash: r.prevReceiptHash,
      expected: state.lastReceiptHash,
    });
  }
  if (r.units > q.maxUnits) {
    throw fail("RECEIPT_UNITS_ABOVE_MAX", "receipt units exceed the quote's maxUnits", {
      units: String(r.units),
      maxUnits: String(q.maxUnits),
    });
  }
  if (r.charge > q.maxCharge) {
    throw fail("RECEIPT_CHARGE_ABOVE_QUOTE", "receipt charge exceeds the quote's maxCharge", {
      charge: String(r.charge),
      maxCharge: String(q.maxCharge),
    });
  }
  // The arithmetic (cumulative, ceil rule, coverage) is applyReceipt's: one implementation for both sides.
  const next = applyReceipt(state, q, r, hash);
  if (ctx.observedUnits !== undefined) {
    const tol = ctx.tolerance ?? STRICT_UNIT_TOLERANCE;
    if (!unitsWithinTolerance(r.units, ctx.observedUnits, tol)) {
      throw fail("RECEIPT_UNITS_IMPLAUSIBLE", "receipt units exceed what the payer received", {
        units: String(r.units),
        observed: String(ctx.observedUnits),
        ratio: tol.ratio.toString(),
        slack: String(tol.slack),
      });
    }
  }
  if (
    ctx.inputContent !== undefined &&
    saltedHash(signed.salt, ctx.inputContent) !== r.inputHash.toLowerCase()
  ) {
    throw fail("RECEIPT_INPUT_MISMATCH", "receipt inputHash is not the hash of the request sent", {
      inputHash: r.inputHash,
    });
  }
  if (
    ctx.outputContent !== undefined &&
    saltedHash(signed.salt, ctx.outputContent) !== r.outputHash.toLowerCase()
  ) {
    throw fail("RECEIPT_OUTPUT_MISMATCH", "receipt outputHash is not the hash of the output received", {
      outputHash: r.outputHash,
    });
  }
  return { state: next, receiptHash: hash };
}
