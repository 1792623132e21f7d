import {
  Balances,
  LivepayError,
  Rational,
  SEGMENT_HEADER,
  PAYMENT_HEADER,
  TicketSender,
  buildPayment,
  createSegData,
  encodePaymentHeader,
  encodeSegmentHeader,
  signSegData,
  validatePrice,
  MAX_SENDER_NONCES,
  PARAMS_EXPIRY_BUFFER,
  type BalanceUpdate,
  type BalanceUpdateStatus,
  type Hex,
  type PrivateKey,
  type TicketBatch,
} from "@livepay/protocol";
import type { GatewayBalances } from "../store/gatewayBalances.js";
import type { GatewayChainView } from "./chainView.js";
import { jobCapabilities } from "../net/capabilities.js";
import { AI_WORKER_AUTHORIZATION } from "../net/headers.js";
import type { GatewayMetrics } from "./metrics.js";
import type { NonceAllocator } from "./nonceAllocator.js";
import type { PricedSession } from "./sessions.js";

/** A payment staged for one attempt: the headers to send and what to complete afterwards. */
export interface PreparedPayment {
  session: PricedSession;
  update: BalanceUpdate;
  /** The fee the payment was staged for (estimate × price). */
  fee: Rational;
  numTickets: number;
  /** EV of the tickets attached (numTickets × ev). */
  evSent: Rational;
  headers: Record<string, string>;
  /** Wall time of the CPU-side payment work (staging, signing, encoding), ms. */
  workMs: number;
}

/** The session needs new params before it can pay (`reason` says why). */
export class SessionRefreshNeeded extends LivepayError {}

export interface PayerOptions {
  privateKey: PrivateKey;
  sender: Hex;
  chain: GatewayChainView;
  nonces: NonceAllocator;
  store: GatewayBalances;
  metrics: GatewayMetrics;
  limits: { maxTicketEV: bigint; maxTotalEV: bigint; depositMultiplier: bigint };
}

/**
 * Pays orchestrators with tickets exactly as spec §3: per request it stages
 * `ceil((max(fee, EV) − credit)/EV)` tickets against the gateway's balance with the orchestrator
 * (`Balances.stageUpdate`), reserves their nonces durably, signs them (`TicketSender`), and builds
 * the `Livepeer-Payment` header (`buildPayment`, the orchestrator's price echoed verbatim) and the
 * `Livepeer-Segment` header (empty AI segment, signed, with the orchestrator's auth token). After the
 * attempt `complete` settles the balance per outcome and persists the change.
 *
 * livepay deviation: on success the balance is debited by the fee of the units actually delivered
 * (the livepay orchestrator debits actual units, so both sides' views stay equal); go-livepeer
 * debits the estimate.
 *
 * @example
 * const p = await payer.prepare(session, fee); // p.headers go on the request
 * await payer.complete(p, "receivedChange", actualFee);
 */
export class Payer {
  readonly #sender: TicketSender;
  readonly #key: PrivateKey;
  readonly #opts: PayerOptions;
  readonly balances = new Balances();
  readonly #loaded = new Set<string>();

  constructor(opts: PayerOptions) {
    this.#opts = opts;
    this.#key = opts.privateKey;
    this.#sender = new TicketSender({ privateKey: opts.privateKey, address: opts.sender });
  }

  /** The ticket sender's address. */
  get address(): Hex {
    return this.#sender.address;
  }

  /**
   * Loads the persisted balance of a new session's key (a restart keeps the credit already paid for).
   * @example sessions.onNewSession = (s) => payer.loadBalance(s)
   */
  async loadBalance(s: PricedSession): Promise<void> {
    if (this.#loaded.has(s.balanceKey)) return;
    const amount = await this.#opts.store.get(s.params.recipient, s.authSessionId);
    if (!this.#loaded.has(s.balanceKey)) {
      this.#loaded.add(s.balanceKey);
      if (amount.sign() !== 0) this.balances.credit(s.balanceKey, amount);
    }
  }

  /**
   * Stages and signs the payment for an attempt. Throws `SessionRefreshNeeded` (nothing staged)
   * when the params are about to expire or their nonce budget is used, the protocol's
   * `PRICE_MORE_THAN_DOUBLED` / ticket params errors otherwise; on any throw the balance is unchanged.
   */
  async prepare(session: PricedSession, fee: Rational): Promise<PreparedPayment> {
    const t0 = performance.now();
    validatePrice(session.info.priceInfo, session.initialPrice);
    const params = session.params;
    const ev = session.ev;
    const update = this.balances.stageUpdate(session.balanceKey, fee, ev);
    let batch: TicketBatch | undefined;
    let workMs = performance.now() - t0;
    try {
      const n = update.numTickets;
      if (n > 0) {
        if (session.ticketsSigned + n > MAX_SENDER_NONCES) {
          throw new SessionRefreshNeeded("NONCES_USED", "ticket params nonce budget used", {
            reason: "nonces_used",
          });
        }
        const limits = this.#opts.limits;
        // Expired params must not burn nonces; `createTicketBatch` runs the full checks (spec §3.2).
        if (params.expirationBlock - this.#opts.chain.lastSeenL1Block <= PARAMS_EXPIRY_BUFFER) {
          throw new SessionRefreshNeeded("PARAMS_EXPIRED", "ticket params expired", {
            reason: "params_expired",
          });
        }
        const tn = performance.now();
        const first = await this.#opts.nonces.take(session.sessionId, n);
        const t1 = performance.now();
        this.#opts.metrics.observePayment({ step: "nonces", seconds: (t1 - tn) / 1000 });
        // Synchronous from here: no other request can interleave between setting the nonce and signing.
        this.#sender.startSessionWithNonce(params, first - 1n);
        try {
          batch = this.#sender.createTicketBatch(session.sessionId, n, {
            ...this.#opts.chain.ticketContext(),
            ...limits,
          });
        } finally {
          this.#sender.endSession(session.sessionId);
        }
        session.ticketsSigned += n;
        workMs += performance.now() - t1;
      }
    } catch (e) {
      this.balances.completeUpdate(update, "staged");
      if (e instanceof LivepayError && e.code === "TICKET_PARAMS_EXPIRED") {
        throw new SessionRefreshNeeded("PARAMS_EXPIRED", "ticket params expired", {
          reason: "params_expired",
        });
      }
      throw e;
    }
    const t2 = performance.now();
    const expectedPrice = session.info.priceInfo!;
    let paymentHeader: string;
    if (batch)
      paymentHeader = encodePaymentHeader(
        buildPayment({ sender: this.#sender.address, expectedPrice, batch }),
      );
    else {
      // A ticket-less Payment (the credit covers the fee) is the same for every request of a session.
      session.ticketlessPaymentHeader ??= encodePaymentHeader(
        buildPayment({ sender: this.#sender.address, expectedPrice }),
      );
      paymentHeader = session.ticketlessPaymentHeader;
    }
    const headers = {
      [PAYMENT_HEADER]: paymentHeader,
      [SEGMENT_HEADER]: this.segmentHeader(session),
      authorization: AI_WORKER_AUTHORIZATION,
    };
    workMs += performance.now() - t2;
    this.#opts.metrics.observePayment({ step: "work", seconds: workMs / 1000 });
    const evSent = ev.mul(BigInt(update.numTickets));
    if (update.numTickets > 0) {
      this.#opts.metrics.ticketsSent.inc({ orchestrator: session.uri }, update.numTickets);
      this.#opts.metrics.evSentWei.inc({ orchestrator: session.uri }, Number(evSent.floor()));
    }
    return { session, update, fee, numTickets: update.numTickets, evSent, headers, workMs };
  }

  /**
   * The session's `Livepeer-Segment` header: an empty AI segment (seq 0, keccak256("")) for the
   * job's manifest id and capabilities, with the orchestrator's auth token, signed by the sender
   * (spec §4.3). Nothing in it changes between requests of a session, so it is signed once.
   * @example headers["Livepeer-Segment"] = payer.segmentHeader(session)
   */
  segmentHeader(session: PricedSession): string {
    if (session.segmentHeader === undefined) {
      const seg = createSegData({
        manifestId: session.manifestId,
        authToken: session.info.authToken,
        capabilities: jobCapabilities(session.capability, session.model),
      });
      session.segmentHeader = encodeSegmentHeader({ ...seg, sig: signSegData(seg, this.#key) });
    }
    return session.segmentHeader;
  }

  /**
   * Settles a prepared payment (spec §3.4 completion) and persists the balance change:
   * `"staged"` (never sent) returns the reserved credit, `"creditSpent"` (sent, no usable answer)
   * keeps nothing, `"receivedChange"` credits `existing + newCredit − debit`.
   */
  async complete(
    p: PreparedPayment,
    status: BalanceUpdateStatus,
    debit: Rational = Rational.ZERO,
  ): Promise<void> {
    this.balances.completeUpdate(p.update, status, debit);
    let delta: Rational;
    if (status === "staged") return;
    if (status === "creditSpent") delta = p.update.existing.neg();
    else delta = p.update.newCredit.sub(debit);
    if (delta.sign() === 0) return;
    const t0 = performance.now();
    await this.#opts.store.adjust(p.session.params.recipient, p.session.authSessionId, delta);
    this.#opts.metrics.observePayment({ step: "balance", seconds: (performance.now() - t0) / 1000 });
  }
}
