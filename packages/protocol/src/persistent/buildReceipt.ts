import type { Hex } from "../bytes/hex.js";
import { InvalidInputError } from "../errors.js";
import { quotePrice } from "./charge.js";
import type { Quote } from "./quote.js";
import type { Receipt } from "./receipt.js";
import { chargeTicket, type TicketState } from "./ticketState.js";

/** What the payee did for a quote. */
export interface ServedRequest {
  quote: Quote;
  quoteHash: Hex;
  /** Units produced (unitsFor); charged up to the quote's maxUnits. */
  units: bigint;
  /** saltedHash(salt, requestContent). */
  inputHash: Hex;
  /** saltedHash(salt, output content). */
  outputHash: Hex;
}

/**
 * The payee's next receipt for a served request on a ticket whose pending quote it is: units capped at
 * `maxUnits` (the quote is the payer's limit; units produced beyond it are not billable), `charge` and
 * `cumulativeCharged` by the ceil rule, `seq` and `prevReceiptHash` continuing the chain. Throws
 * `InvalidInputError` `VOUCHER_REQUIRED` unless the ticket's latest voucher approved this quote: credit
 * alone never pays for a request. Sign it with `signReceipt`, then `applyReceipt` it.
 * @example const receipt = buildReceipt(state, { quote, quoteHash, units: 120n, inputHash, outputHash });
 */
export function buildReceipt(state: TicketState, served: ServedRequest): Receipt {
  if (state.pendingQuoteHash === undefined || state.pendingQuoteHash !== served.quoteHash.toLowerCase()) {
    throw new InvalidInputError("VOUCHER_REQUIRED", "no voucher approves this quote on this ticket", {
      quoteHash: served.quoteHash,
    });
  }
  const units = served.units > served.quote.maxUnits ? served.quote.maxUnits : served.units;
  const next = chargeTicket(state, units, quotePrice(served.quote));
  return {
    payee: state.payee,
    payer: state.payer,
    ticketId: state.ticketId,
    epoch: state.epoch,
    seq: state.seq + 1n,
    quoteHash: served.quoteHash.toLowerCase() as Hex,
    units,
    charge: next.charge,
    cumulativeCharged: next.cumulativeCharged,
    inputHash: served.inputHash.toLowerCase() as Hex,
    outputHash: served.outputHash.toLowerCase() as Hex,
    prevReceiptHash: state.lastReceiptHash,
  };
}
