// The payee side of persistent tickets (DESIGN.md § Persistent tickets, client/PROTOCOL.md): quotes
// bound to a request, voucher admission under the reserve rule, receipts persisted before they are
// sent, idempotent per quote id, and crash recovery of requests that were paid but not answered.
import { randomBytes } from "node:crypto";
import {
  LivepayError,
  VoucherRejectedError,
  acceptVoucher,
  applyReceipt,
  audioOutputContent,
  buildReceipt,
  bytesToHex,
  hashAndSignQuote,
  hashAndSignReceipt,
  imageOutputContent,
  llmOutputContent,
  makeQuote,
  openTicket,
  paymentRequiredToJson,
  quoteFromJson,
  quoteToJson,
  saltedHash,
  transcriptOutputContent,
  type Eip712Domain,
  type Hex,
  type PaymentRequiredJson,
  type Pipeline,
  type PrivateKey,
  type Quote,
  type Rational,
  type SignedReceipt,
  type TicketState,
  type VoucherEnvelope,
} from "@livepay/protocol";
import type { PayeeBroker } from "./broker.js";
import type { PersistentStore, StoredResponse } from "./store.js";

/** A refusal with its HTTP status and JSON body. */
export class PayeeError extends LivepayError {
  readonly status: number;
  readonly body: unknown;
  constructor(
    code: string,
    message: string,
    status: number,
    body?: unknown,
    details?: Record<string, unknown>,
  ) {
    super(code, message, details);
    this.status = status;
    this.body = body ?? { error: { message, type: "livepay_error", code: code.toLowerCase() } };
  }
}

interface IssuedQuote {
  quote: Quote;
  hash: Hex;
  signature: Hex;
}

export interface PersistentPayeeOptions {
  store: PersistentStore;
  broker: PayeeBroker;
  domain: Eip712Domain;
  /** The payee (its address claims and is the quotes' `payee`). */
  payee: Hex;
  /** The key registered for quotes and receipts (`signingKeyOf(payee)`, else the payee's own key). */
  signingKey: PrivateKey;
  /** Tickets one payer may use at once with this payee (default 16). */
  maxTicketsPerPayer?: number;
  /** Quote lifetime in seconds (default 120). */
  quoteTtlSeconds?: number;
  /** Called after each accepted voucher and each receipt (the claimer watches exposure). */
  onExposure?: (payer: Hex, epoch: bigint, exposure: bigint, allocation: bigint) => void;
}

/** A voucher admitted for a request: what the work needs to finish with a receipt. */
export interface Admitted {
  payer: Hex;
  epoch: bigint;
  issued: IssuedQuote;
  salt: Hex;
  inputHash: Hex;
  /** Set once finished (the receipt and its hash). */
  done?: { signed: SignedReceipt; hash: Hex };
}

const ZERO_HASH: Hex = `0x${"0".repeat(64)}`;

/**
 * The output content of a request that delivered nothing, per capability: what a zero-unit receipt's
 * outputHash covers (failure, crash recovery).
 * @example emptyOutputContent("text-to-image") // imageOutputContent([])
 */
export function emptyOutputContent(capability: string): Uint8Array {
  switch (capability) {
    case "text-to-image":
    case "image-to-image":
      return imageOutputContent([]);
    case "audio-to-text":
      return transcriptOutputContent("");
    case "text-to-speech":
      return audioOutputContent(new Uint8Array(0));
    default:
      return llmOutputContent([]);
  }
}

function ticketKey(payer: Hex, epoch: bigint, ticketId: bigint): string {
  return `${payer}/${epoch}/${ticketId}`;
}

/**
 * The persistent-ticket payee. Money state lives in the store; the in-flight set is in memory
 * (one process serves a payee's tickets: ticket ids are leased to one signer, DESIGN).
 * @example const payee = new PersistentPayee({ store, broker, domain, payee, signingKey }); payee.recover();
 */
export class PersistentPayee {
  readonly payee: Hex;
  readonly domain: Eip712Domain;
  private readonly o: PersistentPayeeOptions;
  private readonly inFlight = new Set<string>();
  private readonly quotes = new Map<string, IssuedQuote>();
  private readonly maxTickets: number;

  constructor(o: PersistentPayeeOptions) {
    this.o = o;
    this.payee = o.payee.toLowerCase() as Hex;
    this.domain = o.domain;
    this.maxTickets = o.maxTicketsPerPayer ?? 16;
  }

  private ticketState(payer: Hex, epoch: bigint, ticketId: bigint): TicketState {
    return (
      this.o.store.ticket(payer, epoch, ticketId)?.state ??
      openTicket({ payer, payee: this.payee, ticketId, epoch })
    );
  }

  /**
   * Exposure E: unclaimed charges (charged − paid by claims) + maxima of requests in flight, over
   * all of this payer's tickets in the epoch.
   * @example payee.exposure(payer, 0n)
   */
  exposure(payer: Hex, epoch: bigint): bigint {
    let e = this.o.store.inflightMax(payer, epoch);
    for (const t of this.o.store.tickets(payer, epoch)) {
      const unclaimed = t.state.cumulativeCharged - t.claimed;
      if (unclaimed > 0n) e += unclaimed;
    }
    return e;
  }

  private quoteOf(quoteId: Hex): IssuedQuote | undefined {
    const cached = this.quotes.get(quoteId);
    if (cached) return cached;
    const body = this.o.store.quote(quoteId);
    if (!body) return undefined;
    const o = JSON.parse(body) as { quote: unknown; hash: Hex; signature: Hex };
    const q = { quote: quoteFromJson(o.quote), hash: o.hash, signature: o.signature };
    this.quotes.set(quoteId, q);
    return q;
  }

  private paymentRequired(
    q: IssuedQuote,
    t: TicketState,
    reason?: { code: string; message: string; extra?: Record<string, unknown> },
  ): PaymentRequiredJson {
    const json = paymentRequiredToJson({
      quote: { quote: q.quote, signature: q.signature },
      ticket: {
        ticketId: t.ticketId,
        epoch: t.epoch,
        seq: t.seq,
        cumulativeCharged: t.cumulativeCharged,
        signedCumulative: t.signedCumulative,
        lastReceiptHash: t.lastReceiptHash,
      },
      chainId: BigInt(this.domain.chainId),
      verifyingContract: this.domain.verifyingContract as Hex,
      ...(reason ? { reason: reason.code } : {}),
    });
    if (!reason) return json;
    return {
      ...json,
      error: { ...json.error, message: reason.message, code: reason.code },
      ...(reason.extra ?? {}),
    } as PaymentRequiredJson;
  }

  /**
   * The 402 for a request without a voucher: a signed quote bound to its request hash, on the
   * asked ticket or the lowest free one. Throws PayeeError 409 `ticket_busy` when none is free.
   * @example const body = await payee.quote({ payer, ticket: undefined, requestHash, capability: "llm", model, price, estUnits, maxUnits })
   */
  async quote(req: {
    payer: Hex;
    ticket: bigint | undefined;
    requestHash: Hex;
    capability: Pipeline;
    model: string;
    price: Rational;
    estUnits: bigint;
    maxUnits: bigint;
  }): Promise<PaymentRequiredJson> {
    const { epoch } = await this.o.broker.payerInfo(req.payer);
    let ticketId = req.ticket;
    if (ticketId === undefined) {
      for (let i = 0n; i < BigInt(this.maxTickets); i++) {
        if (!this.inFlight.has(ticketKey(req.payer, epoch, i))) {
          ticketId = i;
          break;
        }
      }
    } else if (ticketId >= BigInt(this.maxTickets)) {
      throw new PayeeError("TICKET_LIMIT", `ticket ids are 0 … ${this.maxTickets - 1} per payer`, 400);
    }
    if (ticketId === undefined || this.inFlight.has(ticketKey(req.payer, epoch, ticketId))) {
      throw new PayeeError("TICKET_BUSY", "ticket busy: one request in flight per ticket", 409);
    }
    const quote = makeQuote({
      payee: this.payee,
      payer: req.payer,
      ticketId,
      quoteId: bytesToHex(randomBytes(32)),
      requestHash: req.requestHash,
      capability: req.capability,
      model: req.model,
      price: req.price,
      estUnits: req.estUnits < req.maxUnits ? req.estUnits : req.maxUnits,
      maxUnits: req.maxUnits,
      expiry: BigInt(Math.floor(Date.now() / 1000) + (this.o.quoteTtlSeconds ?? 120)),
    });
    const { hash, signature } = hashAndSignQuote(this.domain, quote, this.o.signingKey);
    const issued = { quote, hash, signature };
    this.quotes.set(quote.quoteId, issued);
    this.o.store.saveQuote(
      quote.quoteId,
      req.payer,
      ticketId,
      JSON.stringify({ quote: quoteToJson(quote), hash, signature }),
    );
    return this.paymentRequired(issued, this.ticketState(req.payer, epoch, ticketId));
  }

  private leaving = false;

  /**
   * Stops admitting vouchers because this payee is about to leave the active set (it deactivates or
   * unbonds): DESIGN's "not within a round of deactivation". The orchestrator registry of the devnet
   * deactivates at once, so only the payee itself knows ahead; call this, claim (`Claimer.claimNow`),
   * then deactivate. `resumeAdmission()` undoes it.
   * @example payee.prepareDeactivation(); await claimer.claimNow(); // then deactivate()
   */
  prepareDeactivation(): void {
    this.leaving = true;
  }

  /** Admits vouchers again after `prepareDeactivation`. @example payee.resumeAdmission() */
  resumeAdmission(): void {
    this.leaving = false;
  }

  /** True after `prepareDeactivation` (tests, status). */
  get isLeaving(): boolean {
    return this.leaving;
  }

  /**
   * A session key admits new vouchers while its delegation is usable for this payee and stays so
   * for more than the current round: a revocation (or expiry) that takes effect at round R makes
   * its vouchers unclaimable from R on, so admission stops a round before (the claimer claims what
   * the key signed before round R starts, see Claimer).
   */
  private async delegationAdmits(payer: Hex, key: Hex): Promise<boolean> {
    const [d, round] = await Promise.all([
      this.o.broker.delegation(payer, key),
      this.o.broker.currentRound(),
    ]);
    const zero = "0x0000000000000000000000000000000000000000";
    if (!d.usable || (d.payee !== zero && d.payee !== this.payee)) return false;
    if (d.revokeRound !== 0n && round + 1n >= d.revokeRound) return false;
    return round < d.validUntilRound;
  }

  /** A stored request for a quote (served or in flight), for idempotent retries. */
  existing(quoteId: Hex): ReturnType<PersistentStore["request"]> {
    return this.o.store.request(quoteId);
  }

  /**
   * Admits a voucher for a request (PROTOCOL.md §4, steps 1–5): known quote, same request, ticket
   * free, `acceptVoucher`, then the reserve rule `withdrawRound == 0 ∧ active ∧ E + m ≤ A*`; the
   * voucher and the request are persisted before returning. Refusals are PayeeErrors (400, 409, or
   * a corrective 402; the reserve refusal carries `reserve.needed`).
   * @example const adm = await payee.admit(payer, envelope, requestHash, inputContent)
   */
  async admit(
    payer: Hex,
    env: VoucherEnvelope,
    requestHash: Hex,
    inputContent: Uint8Array,
  ): Promise<Admitted> {
    const issued = this.quoteOf(env.quoteId);
    if (!issued || issued.quote.payer !== payer) {
      throw new PayeeError("UNKNOWN_QUOTE", "unknown quote", 400);
    }
    if (issued.quote.requestHash !== requestHash) {
      throw new PayeeError("REQUEST_MISMATCH", "request differs from the quote", 400);
    }
    const quote = issued.quote;
    // Chain reads first (async), then the check and the write without awaiting in between, so two
    // concurrent admissions cannot both fit in the same allocation.
    const [info, allocation, active] = await Promise.all([
      this.o.broker.payerInfo(payer),
      this.o.broker.claimableReserve(payer),
      this.o.broker.isActive(),
    ]);
    const delegated = new Set<string>();
    const key = env.delegation?.key?.toLowerCase();
    if (key && (await this.delegationAdmits(payer, key as Hex))) delegated.add(key);

    const epoch = info.epoch;
    const k = ticketKey(payer, epoch, quote.ticketId);
    if (this.inFlight.has(k))
      throw new PayeeError("TICKET_BUSY", "ticket busy: one request in flight per ticket", 409);
    const state = this.ticketState(payer, epoch, quote.ticketId);
    let next: TicketState;
    try {
      next = acceptVoucher(
        state,
        { quote, quoteHash: issued.hash, voucher: env.voucher, signature: env.signature },
        {
          domain: this.domain,
          nowSeconds: BigInt(Math.floor(Date.now() / 1000)),
          isDelegatedKey: (k2) => delegated.has(k2.toLowerCase()),
        },
      ).state;
    } catch (e) {
      if (e instanceof VoucherRejectedError) {
        throw new PayeeError(
          e.code,
          e.message,
          402,
          this.paymentRequired(issued, state, { code: e.code, message: e.message }),
        );
      }
      throw e;
    }
    const m = quote.maxCharge;
    const e = this.exposure(payer, epoch);
    const inactive = !active || this.leaving;
    if (info.withdrawRound !== 0n || inactive || e + m > allocation) {
      const pool =
        allocation > 0n && info.reserve > 0n ? (info.reserve + allocation - 1n) / allocation : undefined;
      const code =
        info.withdrawRound !== 0n ? "PAYER_UNLOCKING" : inactive ? "PAYEE_INACTIVE" : "INSUFFICIENT_RESERVE";
      const message =
        code === "PAYER_UNLOCKING"
          ? "payer has an unlock in progress: no new vouchers"
          : code === "PAYEE_INACTIVE"
            ? "payee is not an active orchestrator"
            : `reserve allocation ${allocation} wei does not cover exposure ${e} + request maximum ${m}`;
      throw new PayeeError(
        code,
        message,
        402,
        this.paymentRequired(issued, state, {
          code: code.toLowerCase(),
          message,
          extra: {
            reserve: {
              allocation: allocation.toString(),
              exposure: e.toString(),
              requestMaximum: m.toString(),
              // R ≥ pool × (E + m): the allocation is ⌊R / pool⌋ (DESIGN's 402 hint).
              ...(pool !== undefined ? { needed: (pool * (e + m)).toString(), pool: pool.toString() } : {}),
            },
          },
        }),
      );
    }
    const salt = bytesToHex(randomBytes(32));
    const inputHash = saltedHash(salt, inputContent);
    this.inFlight.add(k);
    try {
      this.o.store.acceptVoucher(
        next,
        {
          cumulativeAmount: env.voucher.cumulativeAmount,
          context: env.voucher.context,
          signature: env.signature,
        },
        { quoteId: quote.quoteId, maxCharge: m, salt, inputHash },
      );
    } catch (err) {
      this.inFlight.delete(k);
      throw err;
    }
    this.o.onExposure?.(payer, epoch, e + m, allocation);
    return { payer, epoch, issued, salt, inputHash };
  }

  /**
   * Charges the units produced at the quoted price, builds, signs and persists the receipt, then
   * frees the ticket. Call exactly once per admitted request (success, failure or disconnect).
   * `response` is kept for replays of the quote id (non-streamed answers).
   * @example const signed = payee.finish(adm, 97n, llmOutputContent(choices), { body, contentType: "application/json" })
   */
  finish(adm: Admitted, units: bigint, outputContent: Uint8Array, response?: StoredResponse): SignedReceipt {
    if (adm.done) return adm.done.signed;
    const { quote, hash } = adm.issued;
    const state = this.ticketState(adm.payer, adm.epoch, quote.ticketId);
    const receipt = buildReceipt(state, {
      quote,
      quoteHash: hash,
      units: units < quote.maxUnits ? units : quote.maxUnits,
      inputHash: adm.inputHash,
      outputHash: saltedHash(adm.salt, outputContent),
    });
    const signed = hashAndSignReceipt(this.domain, receipt, this.o.signingKey);
    const next = applyReceipt(state, quote, receipt, signed.hash);
    const sr: SignedReceipt = { receipt, signature: signed.signature, salt: adm.salt };
    this.o.store.saveReceipt(next, quote.quoteId, sr, signed.hash, response);
    adm.done = { signed: sr, hash: signed.hash };
    this.inFlight.delete(ticketKey(adm.payer, adm.epoch, quote.ticketId));
    return sr;
  }

  /**
   * After a crash: every request whose voucher was persisted but that has no receipt gets a
   * zero-unit receipt (nothing was delivered that the payee can prove), so its quote's retries and
   * `GET /receipts/{quoteId}` answer, and nothing is charged twice.
   * @example const n = payee.recover()
   */
  recover(): number {
    let n = 0;
    for (const r of this.o.store.inflight()) {
      const issued = this.quoteOf(r.quoteId);
      if (!issued) continue;
      this.finish(
        { payer: r.payer, epoch: r.epoch, issued, salt: r.salt, inputHash: r.inputHash },
        0n,
        emptyOutputContent(issued.quote.capability),
      );
      n++;
    }
    return n;
  }

  /** The signed receipt of a quote, if issued. @example payee.receipt(quoteId) */
  receipt(quoteId: Hex): SignedReceipt | undefined {
    return this.o.store.request(quoteId)?.receipt;
  }
}

export { ZERO_HASH };
