import { normalizeAddress } from "../bytes/address.js";
import type { Hex } from "../bytes/hex.js";
import { LivepayError } from "../errors.js";
import { Rational } from "../money/rational.js";
import type { Payment } from "../wire/payment.js";
import type { PriceInfo } from "../wire/priceInfo.js";
import type { TicketBatchData } from "./sender/ticketBatch.js";

/**
 * The gateway's `Payment` for a request (go-livepeer `genPayment`, spec §3.3): sender, the
 * orchestrator's price echoed verbatim as `expectedPrice`, and when tickets are attached the params
 * as received (field 7 left unset), expiration params in field 3 and one (nonce, sig) per ticket.
 * @example encodePaymentHeader(buildPayment({ sender, expectedPrice: info.priceInfo, batch }))
 */
export function buildPayment(i: { sender: Hex; expectedPrice: PriceInfo; batch?: TicketBatchData }): Payment {
  const payment: Payment = {
    sender: normalizeAddress(i.sender),
    ticketSenderParams: [],
    expectedPrice: i.expectedPrice,
  };
  if (i.batch && i.batch.senderParams.length > 0) {
    const p = i.batch.ticketParams;
    payment.ticketParams = {
      recipient: p.recipient,
      faceValue: p.faceValue,
      winProb: p.winProb,
      recipientRandHash: p.recipientRandHash,
      seed: p.seed,
      expirationBlock: p.expirationBlock,
    };
    payment.expirationParams = { ...i.batch.expirationParams };
    payment.ticketSenderParams = i.batch.senderParams.map((s) => ({
      senderNonce: s.senderNonce,
      sig: s.sig,
    }));
  }
  return payment;
}

/** The price an orchestrator advertises, as an exact rational; throws for a missing or zero denominator. */
export function priceInfoToRational(price: PriceInfo | undefined): Rational {
  if (!price) throw new LivepayError("MISSING_ORCHESTRATOR_PRICE", "missing orchestrator price");
  if (price.pixelsPerUnit <= 0n) {
    throw new LivepayError("INVALID_PRICE", `pixels per unit must be positive, got ${price.pixelsPerUnit}`);
  }
  return Rational.of(price.pricePerUnit, price.pixelsPerUnit);
}

/**
 * The gateway's price check before paying (go-livepeer `validatePrice`): refuses an orchestrator
 * whose price more than doubled since the session started. Returns the current price.
 * @example validatePrice(info.priceInfo, session.initialPrice)
 */
export function validatePrice(current: PriceInfo | undefined, initialPrice?: Rational): Rational {
  const price = priceInfoToRational(current);
  if (initialPrice && price.gt(initialPrice.mul(2n))) {
    throw new LivepayError(
      "PRICE_MORE_THAN_DOUBLED",
      `Orchestrator price has more than doubled, Orchestrator price: ${price}, Orchestrator initial price: ${initialPrice}`,
    );
  }
  return price;
}
