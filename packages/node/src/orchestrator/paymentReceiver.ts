// Receiving a payment on an AI request: header decoding and checks (spec §4.3), ticket processing
// (protocol's processPayment, spec §2.2), and one durable transaction for credit, winners and nonces.
import {
  WireError,
  decodePaymentHeader,
  decodeSegmentHeader,
  processPayment,
  Rational,
  ReceiveTicketError,
  verifyAuthToken,
  verifySegDataSig,
  type Hex,
  type Payment,
  type SegData,
  type TicketRecipient,
} from "@livepay/protocol";
import type { Logger } from "pino";
import type { Store } from "../store/openStore.js";
import type { ChainState } from "./chainState.js";
import { OrchestratorError } from "./errors.js";
import type { OrchestratorMetrics } from "./metrics.js";

/** What a received payment did. */

/** Verified Livepeer-Segment headers remembered per orchestrator process. */
const MAX_VERIFIED_SEGMENTS = 10_000;
export interface ReceivedPayment {
  sender: Hex;
  manifestId: string;
  /** Exact EV credited to (sender, manifestId). */
  credit: Rational;
  /** Tickets in the payment, tickets credited, winners queued. */
  tickets: number;
  accepted: number;
  winners: number;
  /** The price bound into the params by this orchestrator (HMAC-verified), when tickets were credited. */
  verifiedPrice: Rational | undefined;
}

/** The decoded, checked headers of a paid request. */
export interface PaymentHeaders {
  payment: Payment;
  segData: SegData;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Receives payments for AI requests. Nonces live in memory (in the TicketRecipient, rebuilt from the
 * store at start) and in the store; one orchestrator process per store.
 */
export class PaymentReceiver {
  // Time spent in checkHeaders per decoded payment, added to receive()'s work for the work histogram.
  private readonly headerWork = new WeakMap<Payment, number>();
  // A gateway sends the same Livepeer-Segment header on every request of a session. Once its
  // signature and auth-token HMAC have verified, only the signer and the token's expiry can change
  // the outcome, so a verified header is remembered (bounded; oldest dropped first). This saves a
  // protobuf decode, an ecrecover and an HMAC per request.
  private readonly verifiedSegments = new Map<string, { signer: Hex; segData: SegData }>();

  constructor(
    private readonly d: {
      recipient: TicketRecipient;
      store: Store;
      state: ChainState;
      authSecret: Uint8Array;
      metrics: OrchestratorMetrics;
      logger: Logger;
      now?: () => number;
    },
  ) {}

  /**
   * Decodes and checks `Livepeer-Payment` and `Livepeer-Segment`, in go-livepeer's order:
   * payment (missing or malformed → 402), segment credentials (malformed, or not signed by the
   * payment's sender → 403), auth token (missing / invalid / expired → 403 with Go's messages).
   * Changes nothing.
   * @example const { payment } = receiver.checkHeaders(request.headers)
   */
  checkHeaders(headers: Record<string, string | string[] | undefined>): PaymentHeaders {
    const t0 = performance.now();
    let payment: Payment;
    try {
      payment = decodePaymentHeader(header(headers, "livepeer-payment") ?? "");
    } catch (e) {
      const why = e instanceof WireError ? e.message : "malformed";
      throw new OrchestratorError("PAYMENT_REQUIRED", `invalid Livepeer-Payment header: ${why}`, 402);
    }
    const segHeader = header(headers, "livepeer-segment") ?? "";
    const nowSeconds = BigInt(Math.floor((this.d.now ?? Date.now)() / 1000));
    const known = this.verifiedSegments.get(segHeader);
    let segData: SegData;
    if (known && known.signer === payment.sender.toLowerCase()) {
      segData = known.segData;
      if (segData.authToken && nowSeconds > segData.authToken.expiration) {
        throw new OrchestratorError("AUTH_TOKEN_INVALID", "expired auth token", 403);
      }
    } else {
      try {
        segData = decodeSegmentHeader(segHeader);
        verifySegDataSig(segData, payment.sender);
      } catch (e) {
        const why = e instanceof WireError ? e.message : "malformed";
        throw new OrchestratorError("SEGMENT_INVALID", `invalid Livepeer-Segment header: ${why}`, 403);
      }
      try {
        verifyAuthToken(this.d.authSecret, segData.authToken, nowSeconds);
      } catch (e) {
        if (e instanceof WireError) throw new OrchestratorError("AUTH_TOKEN_INVALID", e.message, 403);
        throw e;
      }
      if (this.verifiedSegments.size >= MAX_VERIFIED_SEGMENTS) {
        this.verifiedSegments.delete(this.verifiedSegments.keys().next().value!);
      }
      this.verifiedSegments.set(segHeader, { signer: payment.sender.toLowerCase() as Hex, segData });
    }
    this.headerWork.set(payment, performance.now() - t0);
    return { payment, segData };
  }

  /**
   * Processes the payment's tickets for `manifestId` and commits, in one transaction, the EV credit
   * of the tickets before the first error, every winning ticket (queued for redemption) and every
   * nonce seen, before resolving. A refused payment throws PAYMENT_INVALID (HTTP 400, the message
   * is go-livepeer's) after committing what go-livepeer also keeps: the credit, nonces and winners
   * of the tickets before the error (a fatal error — forged params, wrong recipient, unlocking
   * sender — hits the first ticket, so it commits nothing).
   * @example const r = await receiver.receive(payment, "33_meta-llama/Llama-3.1-8B-Instruct")
   */
  async receive(payment: Payment, manifestId: string): Promise<ReceivedPayment> {
    const sender = payment.sender.toLowerCase() as Hex;
    const tsp = payment.ticketSenderParams;
    const recipient = this.d.recipient;
    const view = await this.d.state.paymentView(sender);
    // Payment work is the synchronous part (checkHeaders + this up to the commit); the commit is timed apart.
    const t0 = performance.now();

    // The nonces this payment records: all its tickets share one recipientRand.
    const params = payment.ticketParams;
    let rand: bigint | undefined;
    if (params && tsp.length > 0 && payment.expirationParams && payment.expectedPrice) {
      try {
        rand = recipient.recipientRandFor({
          ticket: {
            recipient: params.recipient,
            sender,
            faceValue: params.faceValue,
            winProb: params.winProb,
            senderNonce: 0n,
            recipientRandHash: params.recipientRandHash,
            creationRound: payment.expirationParams.creationRound,
            creationRoundBlockHash: payment.expirationParams.creationRoundBlockHash,
          },
          sig: "0x",
          seed: params.seed,
          expirationBlock: params.expirationBlock,
          price: Rational.of(payment.expectedPrice.pricePerUnit, payment.expectedPrice.pixelsPerUnit),
        });
      } catch {
        rand = undefined; // malformed values: processPayment refuses the payment
      }
    }
    const seenBefore = new Set<bigint>();
    if (rand !== undefined)
      for (const t of tsp) if (recipient.nonces.has(rand, t.senderNonce)) seenBefore.add(t.senderNonce);

    const result = processPayment(payment, recipient, view);

    const newNonces: bigint[] = [];
    if (rand !== undefined) {
      for (const t of tsp) {
        const n = t.senderNonce;
        if (!seenBefore.has(n) && !newNonces.includes(n) && recipient.nonces.has(rand, n)) newNonces.push(n);
      }
    }
    const r = rand;
    const credit = result.credit;
    const workMs = (this.headerWork.get(payment) ?? 0) + performance.now() - t0;
    let commitMs: number | undefined;
    if (newNonces.length > 0 || result.winners.length > 0 || credit.sign() > 0) {
      const tc = performance.now();
      await this.d.store.transaction(async (tx) => {
        for (const n of newNonces) {
          const recorded = await tx.senderNonces.record(r!, n, params!.expirationBlock);
          // Only another process on the same store can have recorded it: refuse, commit nothing.
          if (recorded !== "recorded") {
            throw new OrchestratorError(
              "PAYMENT_INVALID",
              `invalid ticket senderNonce: already seen nonce=${n}`,
              400,
            );
          }
        }
        for (const w of result.winners) {
          await tx.winningTickets.insert({
            ...w.ticket,
            sig: w.sig,
            recipientRand: w.recipientRand,
            paramsExpirationBlock: w.paramsExpirationBlock,
          });
        }
        if (credit.sign() > 0) await tx.payerBalances.credit(sender, manifestId, credit);
      });
      commitMs = performance.now() - tc;
    }

    const m = this.d.metrics;
    m.observePayment({
      workSeconds: workMs / 1000,
      commitSeconds: commitMs === undefined ? undefined : commitMs / 1000,
      tickets: tsp.length,
    });
    m.ticketsReceived.inc(tsp.length);
    if (result.acceptedTickets > 0) m.ticketsAccepted.inc(result.acceptedTickets);
    if (result.winners.length > 0) m.winningTickets.inc(result.winners.length);
    if (credit.sign() > 0) m.creditGwei.inc(toGwei(credit));
    const fatal = result.error instanceof ReceiveTicketError && result.error.fatal;
    m.payments.inc({ result: result.error ? (fatal ? "fatal" : "error") : "ok" });
    const received: ReceivedPayment = {
      sender,
      manifestId,
      credit,
      tickets: tsp.length,
      accepted: result.acceptedTickets,
      winners: result.winners.length,
      verifiedPrice: result.price,
    };
    if (result.error) {
      this.d.logger.info(
        { sender, manifestId, code: result.error.code, err: result.error.message, credit: credit.toString() },
        "payment refused",
      );
      throw new OrchestratorError("PAYMENT_INVALID", result.error.message, 400, {
        reason: result.error.code,
      });
    }
    return received;
  }

  /**
   * Forgets nonces of params that expired at `block` (memory and store), as go-livepeer does on
   * every new L1 block; a replayed ticket of such params is refused as "TicketParams expired".
   * @example await receiver.cleanupNonces(latestL1Block)
   */
  async cleanupNonces(block: bigint): Promise<void> {
    this.d.recipient.nonces.cleanup(block);
    await this.d.store.senderNonces.cleanup(block);
  }
}

/** Wei (exact) as a float number of gwei, for Prometheus counters. @example toGwei(Rational.of(8_000_000_000n)) // 8 */
export function toGwei(wei: Rational): number {
  // Integer division first (to micro-wei), so huge denominators (ticket EVs) never overflow a double.
  return Number((wei.num * 1_000_000n) / wei.den) / 1e15;
}
