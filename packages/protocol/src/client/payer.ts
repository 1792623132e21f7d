import { ZERO_ADDRESS, normalizeAddress } from "../bytes/address.js";
import { bytesToHex, utf8, type Hex } from "../bytes/hex.js";
import { keccak256 } from "../crypto/keccak256.js";
import { privateKeyToAddress, type PrivateKey } from "../crypto/secp256k1.js";
import type { LivepayError } from "../errors.js";
import { InvalidInputError } from "../errors.js";
import { Rational } from "../money/rational.js";
import { approvalFor } from "../persistent/approval.js";
import { checkQuote } from "../persistent/checkQuote.js";
import { checkReceipt, type UnitTolerance } from "../persistent/checkReceipt.js";
import type { Delegation } from "../persistent/delegation.js";
import { persistentDomain } from "../persistent/domain.js";
import { ReceiptCheckError } from "../persistent/errors.js";
import {
  LIVEPAY_PAYEE_HEADER,
  LIVEPAY_PAYER_HEADER,
  LIVEPAY_RECEIPT_HEADER,
  LIVEPAY_TICKET_HEADER,
  LIVEPAY_VOUCHER_HEADER,
  decodeReceiptHeader,
  encodeVoucherHeader,
  receiptPath,
} from "../persistent/headers.js";
import { signedReceiptFromJson } from "../persistent/json.js";
import {
  isPaymentRequiredJson,
  paymentRequiredFromJson,
  type PaymentRequired,
} from "../persistent/paymentRequired.js";
import type { Quote } from "../persistent/quote.js";
import type { SignedReceipt } from "../persistent/receipt.js";
import { RECEIPT_EVENT, parseReceiptEventData } from "../persistent/receiptEvent.js";
import { formRequestView, isMultipartContentType, parseMultipart } from "../persistent/multipart.js";
import { canonicalJson } from "../persistent/canonicalJson.js";
import { isJsonContentType, requestContent } from "../persistent/requestHash.js";
import { applyVoucher, openTicket, ticketCredit, type TicketState } from "../persistent/ticketState.js";
import type { Pipeline } from "../persistent/units.js";
import { signVoucher, type Voucher } from "../persistent/voucher.js";
import { voucherContext } from "../persistent/voucherContext.js";
import { PaymentError, PolicyError, ReceiptMissingError } from "./errors.js";
import { LlmOutputCollector, capabilityForPath, observeResponse, type Observation } from "./observe.js";
import { checkSpendingPolicy, type SpendingPolicy } from "./policy.js";
import {
  quoteRecordFromJson,
  quoteRecordToJson,
  receiptRecordFromJson,
  receiptRecordToJson,
  ticketKey,
  ticketRecordFromJson,
  ticketRecordToJson,
  voucherRecordToJson,
  type QuoteRecord,
  type ReceiptRecord,
  type TicketRecord,
} from "./records.js";
import { SseSplitter } from "./sse.js";
import { memoryStorage, type PayerStorage } from "./storage.js";

/** Options of `createPayer`. Give `privateKey`, or `sessionKey` with the payer's `delegation`. */
export interface PayerOptions {
  /** The payer's own key (an EOA whose deposit pays). */
  privateKey?: PrivateKey;
  /** A session key registered by the payer (`Delegation`); vouchers are signed with it. */
  sessionKey?: PrivateKey;
  delegation?: Delegation;
  /** The payer's signature of `delegation`, sent along so a payee can register it on-chain. */
  delegationSignature?: Hex;
  chainId: bigint | number;
  /** The PersistentTicketBroker address (the EIP-712 verifying contract). */
  broker: string;
  /** The payer's current epoch on the broker (`getPayerInfo(payer).epoch`); default 0. */
  epoch?: bigint;
  policy?: SpendingPolicy;
  /** The record of tickets, quotes, vouchers and receipts; default in memory. */
  storage?: PayerStorage;
  /** The fetch used to reach payees; default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Clock in unix milliseconds; default `Date.now`. */
  now?: () => number;
  /**
   * The payee's registered quote/receipt signing key (`signingKeyOf(payee)` on the broker, or the
   * payee itself when none is set). Default: the payee address itself.
   */
  resolveSigningKey?: (payee: Hex) => Hex | Promise<Hex>;
  /**
   * The model's tokenizer, to count LLM tokens received (default: UTF-8 bytes, an upper bound). With
   * it, tighten `unitTolerance.llm`.
   */
  countTokens?: (text: string) => number;
  /** Unit plausibility tolerance per pipeline (default: LLM slack 16 tokens, others exact). */
  unitTolerance?: Partial<Record<Pipeline, UnitTolerance>>;
  /** Most tickets in flight at once per payee (default 16). */
  maxTicketsPerPayee?: number;
  /** Most tickets per payee with an unresolved voucher before the payer stops signing for it (default 2). */
  maxUnresolvedPerPayee?: number;
  /** Called for every receipt problem (missing, invalid), thrown or not. */
  onReceiptProblem?: (error: LivepayError) => void;
}

/** A payer: holds the key, signs approvals under its policy, verifies receipts, keeps the record. */
export interface Payer {
  /** The paying account (the deposit owner). */
  readonly address: Hex;
  /** The key that signs vouchers (the payer itself or its session key). */
  readonly signer: Hex;
  /** A `fetch` that pays livepay 402s: pass it to `new OpenAI({ fetch: payer.fetch })`. */
  readonly fetch: typeof fetch;
  /** Every ticket record. */
  tickets(): Promise<TicketRecord[]>;
  /** The verified receipts of one ticket, in chain order. */
  receipts(payee: string, ticketId: bigint): Promise<ReceiptRecord[]>;
  /** Fetches `GET /receipts/{quoteId}` for an unresolved request, verifies it and resumes the ticket. */
  fetchReceipt(quoteId: Hex): Promise<SignedReceipt>;
  /** Σ over tickets of signed − charged: what payees could claim beyond verified receipts right now. */
  exposure(): Promise<bigint>;
  /** Approval increases signed in the last 24 hours (what `maxPerDay` limits). */
  approvedLastDay(): Promise<bigint>;
  /** Payees blocked after a receipt violation, with the violation code. */
  blockedPayees(): Promise<Record<string, string>>;
  /**
   * Blocks a payee as a receipt violation does (durable; every later quote from it is refused with
   * `POLICY_PAYEE_BLOCKED`). Used by `auditClaims` for a claim above the receipts.
   */
  blockPayee(payee: string, code: string, details?: Record<string, string>): Promise<void>;
  /** Gives a suspended ticket up for good (its exposure stays counted as a possible loss). */
  abandonTicket(payee: string, ticketId: bigint): Promise<void>;
  /** The epoch vouchers are signed for; set it after a withdraw. */
  epoch: bigint;
}

const DEFAULT_TOLERANCE: Record<Pipeline, UnitTolerance> = {
  llm: { ratio: Rational.ZERO, slack: 16n },
  "text-to-image": { ratio: Rational.ZERO, slack: 0n },
  "image-to-image": { ratio: Rational.ZERO, slack: 0n },
  "audio-to-text": { ratio: Rational.ZERO, slack: 0n },
  "text-to-speech": { ratio: Rational.ZERO, slack: 0n },
  "live-video-to-video": { ratio: Rational.parse("0.05"), slack: 1000n },
};

const DAY_MS = 86_400_000;

interface Lease {
  key: string;
  record: TicketRecord;
}

interface PreparedRequest {
  url: string;
  origin: string;
  pathname: string;
  init: RequestInit;
  headers: Headers;
  body: string | Uint8Array | undefined;
  requestHash: Hex;
  content: Uint8Array;
  /** The request as the protocol reads it: the parsed JSON body, or a multipart form's view. */
  view: unknown;
  capability: Pipeline | undefined;
}

/** A JSON request body's value; `INVALID_REQUEST_BODY` (as `requestContent` throws) when it is not JSON. */
function parseJsonBody(body: string | Uint8Array | undefined): unknown {
  try {
    return JSON.parse(
      typeof body === "string"
        ? body
        : new TextDecoder("utf-8", { fatal: true }).decode(body ?? new Uint8Array(0)),
    );
  } catch {
    throw new InvalidInputError("INVALID_REQUEST_BODY", "request body is not valid JSON");
  }
}

/** Reads the fetch arguments once, so the request can be sent twice with identical bytes. */
async function prepare(input: RequestInfo | URL, init: RequestInit | undefined): Promise<PreparedRequest> {
  let url: string;
  let merged: RequestInit;
  let body: string | Uint8Array | undefined;
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  if (input instanceof Request) {
    url = input.url;
    merged = { method: input.method, signal: input.signal, ...init };
    if (init?.body === undefined && input.body !== null) body = new Uint8Array(await input.arrayBuffer());
  } else {
    url = String(input);
    merged = { ...init };
  }
  const raw = init?.body;
  if (typeof raw === "string") body = raw;
  else if (raw instanceof Uint8Array) body = raw;
  else if (raw instanceof ArrayBuffer) body = new Uint8Array(raw);
  else if (raw !== undefined && raw !== null) {
    // FormData, Blob, URLSearchParams, streams: serialize once (with the multipart boundary) and keep the bytes.
    const r = new Request(url, {
      method: merged.method ?? "POST",
      body: raw,
      headers,
      duplex: "half",
    } as RequestInit);
    body = new Uint8Array(await r.arrayBuffer());
    const ct = r.headers.get("content-type");
    if (ct) headers.set("content-type", ct);
  }
  delete merged.body;
  delete merged.headers;
  const contentType = headers.get("content-type");
  let content: Uint8Array;
  let view: unknown;
  if (isJsonContentType(contentType)) {
    // Parsed once: the view is the body's value and its canonical JSON is the hashed content (what
    // `requestContent` computes, without parsing the body a second time).
    view = parseJsonBody(body);
    content = utf8(canonicalJson(view));
  } else {
    content = requestContent(body, contentType);
  }
  if (isMultipartContentType(contentType) && body !== undefined) {
    // Units of image edits and transcriptions are read from the form (size, n, the WAV's duration).
    try {
      view = await formRequestView(await parseMultipart(content, contentType!));
    } catch {
      view = undefined; // not a form we can read: the quote is then bounded only by the payee
    }
  }
  const u = new URL(url);
  return {
    url,
    origin: u.origin,
    pathname: u.pathname,
    init: merged,
    headers,
    body,
    requestHash: bytesToHex(keccak256(content)),
    content,
    view,
    capability: capabilityForPath(u.pathname),
  };
}

/**
 * Creates a payer: it holds the key (or a session key and its delegation), enforces the spending
 * policy before signing, answers livepay 402 quotes with a voucher, verifies every receipt (header or
 * final SSE event), and keeps a record in `storage`. `payer.fetch` is a drop-in `fetch`.
 * @example const openai = new OpenAI({ apiKey: "-", baseURL, fetch: createPayer({ privateKey, chainId: 42161, broker }).fetch });
 */
export function createPayer(options: PayerOptions): Payer {
  const storage = options.storage ?? memoryStorage();
  const baseFetch = options.fetch ?? ((...a: Parameters<typeof fetch>) => globalThis.fetch(...a));
  const now = options.now ?? Date.now;
  const policy = options.policy ?? {};
  const domain = persistentDomain(options.chainId, options.broker);
  const maxTickets = options.maxTicketsPerPayee ?? 16;
  const maxUnresolved = options.maxUnresolvedPerPayee ?? 2;

  let signingKey: PrivateKey;
  let address: Hex;
  let delegation: Delegation | undefined;
  if (options.privateKey !== undefined) {
    signingKey = options.privateKey;
    address = privateKeyToAddress(options.privateKey);
  } else if (options.sessionKey !== undefined && options.delegation) {
    signingKey = options.sessionKey;
    delegation = {
      ...options.delegation,
      payer: normalizeAddress(options.delegation.payer),
      key: normalizeAddress(options.delegation.key),
      payee: normalizeAddress(options.delegation.payee),
    };
    address = delegation.payer;
    if (privateKeyToAddress(options.sessionKey) !== delegation.key) {
      throw new InvalidInputError("INVALID_SESSION_KEY", "sessionKey is not the delegation's key");
    }
  } else {
    throw new InvalidInputError("INVALID_PAYER_KEY", "give privateKey, or sessionKey with its delegation");
  }
  const signer = privateKeyToAddress(signingKey);

  // In-memory view of the record, loaded once; storage is written through before anything is sent.
  const tickets = new Map<string, TicketRecord>();
  const busy = new Set<string>();
  const origins = new Map<string, Hex>();
  const blocked = new Map<string, string>();
  // Approval increases of the last 24 hours, oldest first, and their sum: expiring drops entries from
  // the front instead of rescanning the whole day on every request (a busy payer signs thousands a day).
  const approvals: { at: number; amount: bigint }[] = [];
  let approvalsSum = 0n;
  const addApproval = (at: number, amount: bigint) => {
    let i = approvals.length;
    while (i > 0 && approvals[i - 1]!.at > at) i--; // a clock that stepped back: keep the order
    approvals.splice(i, 0, { at, amount });
    approvalsSum += amount;
  };
  let loading: Promise<void> | undefined;

  const load = () =>
    (loading ??= (async () => {
      for (const [k, v] of await storage.list("ticket/")) {
        const r = ticketRecordFromJson(v);
        // A request that was in flight when the process stopped has no receipt: resolve it later.
        if (r.status === "pending") r.status = "suspended";
        tickets.set(k, r);
      }
      for (const [k, v] of await storage.list("origin/")) origins.set(k.slice(7), v as Hex);
      for (const [k, v] of await storage.list("blocked/"))
        blocked.set(k.slice(8), (v as { code: string }).code);
      const since = now() - DAY_MS;
      for (const [k, v] of await storage.list("approval/")) {
        const o = v as { at: number; amount: string };
        if (o.at > since) addApproval(o.at, BigInt(o.amount));
        else await storage.delete(k); // only the last 24 hours matter for maxPerDay
      }
    })());

  const saveTicket = async (key: string, r: TicketRecord) => {
    tickets.set(key, r);
    await storage.set(key, ticketRecordToJson(r));
  };

  const approvedLastDay = () => {
    const since = now() - DAY_MS;
    while (approvals.length > 0 && approvals[0]!.at <= since) approvalsSum -= approvals.shift()!.amount;
    return approvalsSum;
  };

  const report = (e: LivepayError) => {
    try {
      options.onReceiptProblem?.(e);
    } catch {
      // a listener's failure must not change payment state
    }
  };

  function ticketsOf(payee: Hex): [string, TicketRecord][] {
    const prefix = `ticket/${payee}/${payer.epoch}/`;
    return [...tickets].filter(([k]) => k.startsWith(prefix));
  }

  /** Leases the lowest open ticket for a payee, or a new one; undefined when all are in flight. */
  function lease(payee: Hex, wanted?: bigint): Lease | undefined {
    const mine = ticketsOf(payee);
    if (mine.filter(([k]) => busy.has(k)).length >= maxTickets) return undefined;
    const open = mine
      .filter(([k, r]) => r.status === "open" && !busy.has(k))
      .sort((a, b) => (a[1].state.ticketId < b[1].state.ticketId ? -1 : 1));
    let chosen = open.find(([, r]) => r.state.ticketId === wanted) ?? open[0];
    if (!chosen) {
      // A new ticket: the payee's suggestion if this payer never used it, else the next unused id
      // (dense ids: tickets 2k and 2k+1 share a storage slot on-chain). Leased ids are not yet recorded.
      const used = (id: bigint) =>
        tickets.has(ticketKey(payee, payer.epoch, id)) || busy.has(ticketKey(payee, payer.epoch, id));
      let id = 0n;
      for (const [, r] of mine) if (r.state.ticketId >= id) id = r.state.ticketId + 1n;
      while (used(id)) id++;
      if (wanted !== undefined && !used(wanted)) id = wanted;
      const key = ticketKey(payee, payer.epoch, id);
      chosen = [
        key,
        { state: openTicket({ payer: address, payee, ticketId: id, epoch: payer.epoch }), status: "open" },
      ];
    }
    busy.add(chosen[0]);
    return { key: chosen[0], record: chosen[1] };
  }

  const release = (l: Lease | undefined) => {
    if (l) busy.delete(l.key);
  };

  async function send(req: PreparedRequest, extra: Record<string, string>): Promise<Response> {
    const headers = new Headers(req.headers);
    headers.set(LIVEPAY_PAYER_HEADER, address);
    for (const [k, v] of Object.entries(extra)) headers.set(k, v);
    return baseFetch(req.url, {
      ...req.init,
      headers,
      ...(req.body !== undefined ? { body: req.body as BodyInit } : {}),
    });
  }

  function snapshotMatches(r: TicketRecord, p: PaymentRequired): boolean {
    const t = p.ticket;
    const s = r.state;
    return (
      t.ticketId === s.ticketId &&
      t.seq === s.seq &&
      t.cumulativeCharged === s.cumulativeCharged &&
      t.lastReceiptHash === s.lastReceiptHash &&
      t.signedCumulative <= s.signedCumulative
    );
  }

  function unresolved(payee: Hex): TicketRecord[] {
    return ticketsOf(payee)
      .map(([, r]) => r)
      .filter((r) => r.status === "suspended" && r.pending);
  }

  async function tryResolve(payee: Hex): Promise<void> {
    for (const r of unresolved(payee)) {
      try {
        await payer.fetchReceipt(r.pending!.quoteId);
      } catch {
        // still unresolved; counted below
      }
    }
  }

  function delegationSpent(): bigint {
    let total = 0n;
    for (const [, r] of tickets)
      if (r.state.signer === signer && r.state.epoch === payer.epoch) total += r.state.signedCumulative;
    return total;
  }

  async function verifyAndRecord(
    l: Lease,
    quote: Quote,
    signed: SignedReceipt,
    obs: Observation,
    inputContent: Uint8Array | undefined,
  ): Promise<void> {
    const key = await resolveKey(quote.payee);
    const pending = l.record.pending!;
    try {
      const cap = quote.capability as Pipeline;
      const { state, receiptHash } = checkReceipt(l.record.state, signed, {
        domain,
        payeeSigningKey: key,
        quote,
        quoteHash: pending.quoteHash,
        ...(obs.observedUnits !== undefined ? { observedUnits: obs.observedUnits } : {}),
        tolerance: options.unitTolerance?.[cap] ?? DEFAULT_TOLERANCE[cap] ?? DEFAULT_TOLERANCE.llm,
        ...(inputContent !== undefined ? { inputContent } : {}),
        ...(obs.outputContent !== undefined ? { outputContent: obs.outputContent } : {}),
      });
      const rec: ReceiptRecord = { quoteId: pending.quoteId, signed, hash: receiptHash, verifiedAt: now() };
      await storage.set(
        `receipt/${quote.payee}/${state.epoch}/${state.ticketId}/${String(state.seq).padStart(20, "0")}`,
        receiptRecordToJson(rec),
      );
      const next: TicketRecord = { state, status: "open" };
      l.record = next;
      await saveTicket(l.key, next);
    } catch (e) {
      if (e instanceof ReceiptCheckError) {
        // A payee that signs a wrong receipt is dishonest or broken: stop paying it.
        blocked.set(quote.payee, e.code);
        await storage.set(`blocked/${quote.payee}`, { code: e.code, quoteId: pending.quoteId, at: now() });
        const next: TicketRecord = { ...l.record, status: "abandoned", problem: e.code };
        l.record = next;
        await saveTicket(l.key, next);
        report(e);
      }
      throw e;
    }
  }

  async function recordMissing(l: Lease, quote: Quote): Promise<void> {
    const err = new ReceiptMissingError("RECEIPT_MISSING", "paid response carried no receipt", {
      payee: quote.payee,
      ticketId: String(quote.ticketId),
      quoteId: quote.quoteId,
      assumedCharge: String(quote.maxCharge),
    });
    const next: TicketRecord = { ...l.record, status: "suspended", problem: err.code };
    l.record = next;
    await saveTicket(l.key, next);
    report(err);
  }

  const resolveKey = async (payee: Hex): Promise<Hex> =>
    normalizeAddress(options.resolveSigningKey ? await options.resolveSigningKey(payee) : payee);

  /** Wraps an SSE body: strips and verifies the receipt event, observes the LLM output. */
  function verifiedStream(res: Response, l: Lease, quote: Quote, inputContent: Uint8Array): Response {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const encoder = new TextEncoder();
    const splitter = new SseSplitter();
    const collector = new LlmOutputCollector();
    let receipt: SignedReceipt | undefined;
    let settled = false;
    const settle = async (fn: () => Promise<void>) => {
      if (settled) return;
      settled = true;
      try {
        await fn();
      } finally {
        release(l);
      }
    };
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { value, done } = await reader.read();
          const events = done ? splitter.end() : splitter.push(decoder.decode(value, { stream: true }));
          let out = "";
          for (const ev of events) {
            if (ev.event === RECEIPT_EVENT) {
              receipt = parseReceiptEventData(ev.data);
              const obs = quote.capability === "llm" ? collector.observation(options.countTokens) : {};
              const got = receipt;
              await settle(() => verifyAndRecord(l, quote, got, obs, inputContent));
              continue;
            }
            if (ev.data !== "" && ev.data !== "[DONE]") {
              try {
                collector.add(JSON.parse(ev.data));
              } catch {
                // not JSON: not output we can count
              }
            }
            out += ev.raw;
          }
          if (out !== "") controller.enqueue(encoder.encode(out));
          if (done) {
            if (!receipt) await settle(() => recordMissing(l, quote));
            controller.close();
          }
        } catch (e) {
          // The stream was cut before the receipt: record it as missing (the ticket is suspended
          // until `fetchReceipt` adopts the payee's receipt), then free the lease.
          if (!receipt) await settle(() => recordMissing(l, quote)).catch(() => undefined);
          if (!settled) {
            settled = true;
            release(l);
          }
          controller.error(e);
          await reader.cancel().catch(() => undefined);
        }
      },
      async cancel(reason) {
        await reader.cancel(reason).catch(() => undefined);
        // The consumer stopped early: the payee charges what it produced; the receipt is fetched later.
        if (!receipt) await settle(() => recordMissing(l, quote));
      },
    });
    return new Response(stream, { status: res.status, statusText: res.statusText, headers: res.headers });
  }

  async function paid(res: Response, req: PreparedRequest, l: Lease, quote: Quote): Promise<Response> {
    if (res.status === 402 || res.status === 409) {
      const text = await res.text().catch(() => "");
      let reason: string | undefined;
      try {
        const body = JSON.parse(text) as unknown;
        reason = isPaymentRequiredJson(body) ? paymentRequiredFromJson(body).reason : undefined;
      } catch {
        reason = undefined;
      }
      const code = res.status === 409 ? "PAYMENT_TICKET_BUSY" : "PAYMENT_REJECTED";
      const next: TicketRecord = { ...l.record, status: "suspended", problem: reason ?? code };
      await saveTicket(l.key, next);
      release(l);
      throw new PaymentError(
        code,
        res.status === 409 ? "ticket is busy at the payee" : "payee refused the voucher",
        {
          status: res.status,
          reason: reason ?? null,
          quoteId: quote.quoteId,
          ticketId: String(quote.ticketId),
        },
      );
    }
    const ct = res.headers.get("content-type") ?? "";
    if (ct.toLowerCase().startsWith("text/event-stream") && res.body)
      return verifiedStream(res, l, quote, req.content);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      await recordMissing(l, quote);
      release(l);
      throw e;
    }
    try {
      const header = res.headers.get(LIVEPAY_RECEIPT_HEADER);
      if (!header) {
        await recordMissing(l, quote);
      } else {
        const signed = decodeReceiptHeader(header);
        const cap = quote.capability as Pipeline;
        // An error delivers nothing billable.
        const obs: Observation = res.ok
          ? observeResponse(cap, req.view, ct, bytes, options.countTokens)
          : { observedUnits: 0n };
        await verifyAndRecord(l, quote, signed, obs, req.content);
      }
    } finally {
      release(l);
    }
    const nullBody = res.status === 204 || res.status === 304 || bytes.length === 0;
    return new Response(nullBody ? null : (bytes as BodyInit), {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  }

  async function pay(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    await load();
    const req = await prepare(input, init);
    let payee = origins.get(req.origin);
    let l: Lease | undefined;
    if (payee) {
      l = lease(payee);
      if (!l)
        throw new PaymentError("PAYMENT_TICKETS_EXHAUSTED", "every ticket with this payee is in flight", {
          payee,
        });
    }
    try {
      // First attempt, and at most two re-quotes when the payee's ticket is not one this payer can use.
      for (let attempt = 0; attempt < 3; attempt++) {
        const hdrs: Record<string, string> = {};
        if (l) {
          hdrs[LIVEPAY_PAYEE_HEADER] = l.record.state.payee;
          hdrs[LIVEPAY_TICKET_HEADER] = l.record.state.ticketId.toString();
        }
        const res = await send(req, hdrs);
        if (res.status !== 402) {
          release(l);
          l = undefined;
          return res;
        }
        const text = await res.text();
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        if (!isPaymentRequiredJson(body)) {
          release(l);
          l = undefined;
          return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
        }
        const pr = paymentRequiredFromJson(body);
        const quote = pr.quote.quote;
        if (pr.chainId !== domain.chainId || pr.verifyingContract !== domain.verifyingContract) {
          throw new PaymentError("PAYMENT_DOMAIN_MISMATCH", "payee quotes for another chain or broker", {
            chainId: String(pr.chainId),
            verifyingContract: pr.verifyingContract,
          });
        }
        if (pr.ticket.epoch !== payer.epoch) {
          throw new PaymentError("PAYMENT_EPOCH_MISMATCH", "payee sees another payer epoch", {
            epoch: String(pr.ticket.epoch),
            expected: String(payer.epoch),
          });
        }
        const violation = blocked.get(quote.payee);
        if (violation) {
          throw new PolicyError("POLICY_PAYEE_BLOCKED", "payee is blocked after a receipt violation", {
            payee: quote.payee,
            violation,
          });
        }
        const quoteHash = checkQuote(pr.quote, {
          domain,
          payer: address,
          payeeSigningKey: await resolveKey(quote.payee),
          requestHash: req.requestHash,
          nowSeconds: BigInt(Math.floor(now() / 1000)),
          ...(req.capability ? { capability: req.capability } : {}),
          ...(req.view !== undefined ? { request: req.view } : {}),
        });
        if (payee !== quote.payee) {
          payee = quote.payee;
          origins.set(req.origin, payee);
          await storage.set(`origin/${req.origin}`, payee);
        }
        if (unresolved(payee).length >= maxUnresolved) await tryResolve(payee);
        if (unresolved(payee).length >= maxUnresolved) {
          throw new PaymentError(
            "PAYMENT_UNRESOLVED_RECEIPTS",
            "too many requests to this payee lack a receipt",
            {
              payee,
              unresolved: unresolved(payee).map((r) => r.pending!.quoteId),
            },
          );
        }
        if (!l || l.record.state.payee !== payee || l.record.state.ticketId !== quote.ticketId) {
          release(l);
          l = lease(payee, quote.ticketId);
          if (!l)
            throw new PaymentError("PAYMENT_TICKETS_EXHAUSTED", "every ticket with this payee is in flight", {
              payee,
            });
          if (l.record.state.ticketId !== quote.ticketId) continue; // re-quote for the ticket we hold
        }
        if (!snapshotMatches(l.record, pr)) {
          // The payee's view differs from ours. A fresh ticket with a history here was used elsewhere;
          // either way we never adopt an unverified state: set the ticket aside and re-quote another.
          const fresh = l.record.state.seq === 0n && l.record.state.signedCumulative === 0n;
          await saveTicket(l.key, {
            ...l.record,
            status: fresh ? "abandoned" : "suspended",
            problem: "TICKET_STATE_MISMATCH",
          });
          release(l);
          l = lease(payee);
          if (!l)
            throw new PaymentError("PAYMENT_TICKETS_EXHAUSTED", "every ticket with this payee is in flight", {
              payee,
            });
          continue;
        }
        const owned = l;
        l = undefined; // approve() and the response handling release it from here on
        return await approve(req, owned, pr, quoteHash);
      }
      throw new PaymentError(
        "PAYMENT_TICKETS_EXHAUSTED",
        "payee kept quoting for a ticket this payer cannot use",
        { payee },
      );
    } catch (e) {
      release(l);
      throw e;
    }
  }

  async function approve(
    req: PreparedRequest,
    l: Lease,
    pr: PaymentRequired,
    quoteHash: Hex,
  ): Promise<Response> {
    let signedHeaders: Record<string, string>;
    try {
      signedHeaders = await signApproval(req, l, pr, quoteHash);
    } catch (e) {
      release(l);
      throw e;
    }
    const quote = pr.quote.quote;
    let res: Response;
    try {
      res = await send(req, signedHeaders);
    } catch (e) {
      // Sent or not, the voucher exists: treat it as a missing receipt, resolvable later.
      await recordMissing(l, quote);
      release(l);
      throw e;
    }
    return paid(res, req, l, quote);
  }

  /** Policy, approval sizing, signature, durable record; returns the headers of the paid retry. */
  async function signApproval(
    req: PreparedRequest,
    l: Lease,
    pr: PaymentRequired,
    quoteHash: Hex,
  ): Promise<Record<string, string>> {
    const quote = pr.quote.quote;
    const state: TicketState = l.record.state;
    const approval = approvalFor(state, quote);
    const increase = approval - state.signedCumulative;
    checkSpendingPolicy(policy, quote, { approvalIncrease: increase, approvedLastDay: approvedLastDay() });
    if (delegation) {
      if (delegation.epoch !== state.epoch) {
        // A delegation of another epoch is dead on-chain: vouchers signed under it could never be claimed.
        throw new PolicyError(
          "POLICY_DELEGATION_EPOCH",
          "the session key's delegation is for another epoch",
          {
            epoch: String(delegation.epoch),
            expected: String(state.epoch),
          },
        );
      }
      if (delegation.payee !== ZERO_ADDRESS && delegation.payee !== quote.payee) {
        throw new PolicyError("POLICY_DELEGATION_PAYEE", "the session key may not pay this payee", {
          payee: quote.payee,
        });
      }
      if (delegationSpent() + increase > delegation.cap) {
        throw new PolicyError("POLICY_DELEGATION_CAP", "approval would exceed the session key's cap", {
          cap: String(delegation.cap),
        });
      }
    }
    const voucher: Voucher = {
      payer: address,
      payee: quote.payee,
      ticketId: state.ticketId,
      epoch: state.epoch,
      cumulativeAmount: approval,
      context: voucherContext(quoteHash, state.lastReceiptHash),
    };
    const sig = signVoucher(domain, voucher, signingKey);
    const at = now();
    // Durable before the voucher leaves: the record must know every amount it has signed.
    // The quote, voucher and approval are independent keys: written together (one wait, and
    // concurrent commits where the storage allows them); the ticket's pending state is written after
    // them, so a ticket found pending after a crash always has its quote to resolve it with.
    const qr: QuoteRecord = { signed: pr.quote, hash: quoteHash, origin: req.origin, receivedAt: at };
    const writes = [
      storage.set(`quote/${quote.quoteId}`, quoteRecordToJson(qr)),
      storage.set(
        `voucher/${quote.quoteId}`,
        voucherRecordToJson({ quoteId: quote.quoteId, voucher, signature: sig.signature, signedAt: at }),
      ),
    ];
    if (increase > 0n) {
      writes.push(
        storage.set(`approval/${String(at).padStart(15, "0")}/${quote.quoteId}`, {
          at,
          amount: increase.toString(),
        }),
      );
    }
    await Promise.all(writes);
    if (increase > 0n) addApproval(at, increase);
    l.record = {
      state: applyVoucher(state, { cumulativeAmount: approval, quoteHash, signer }),
      status: "pending",
      pending: {
        quoteId: quote.quoteId,
        quoteHash,
        origin: req.origin,
        maxCharge: quote.maxCharge,
        approval,
        since: at,
      },
    };
    await saveTicket(l.key, l.record);
    return {
      [LIVEPAY_PAYEE_HEADER]: quote.payee,
      [LIVEPAY_TICKET_HEADER]: state.ticketId.toString(),
      [LIVEPAY_VOUCHER_HEADER]: encodeVoucherHeader({
        quoteId: quote.quoteId,
        voucher,
        signature: sig.signature,
        ...(delegation ? { delegation } : {}),
        ...(options.delegationSignature ? { delegationSignature: options.delegationSignature } : {}),
      }),
    };
  }

  const payer: Payer = {
    address,
    signer,
    epoch: options.epoch ?? 0n,
    fetch: ((input: RequestInfo | URL, init?: RequestInit) => pay(input, init)) as typeof fetch,

    async tickets() {
      await load();
      return [...tickets.values()];
    },

    async receipts(payeeAddr, ticketId) {
      const p = normalizeAddress(payeeAddr);
      const list = await storage.list(`receipt/${p}/${payer.epoch}/${ticketId}/`);
      return list.map(([, v]) => receiptRecordFromJson(v));
    },

    async fetchReceipt(quoteId) {
      await load();
      const qid = quoteId.toLowerCase() as Hex;
      // "pending" too: a request whose lease ended without a receipt (a process that stopped, a
      // stream cut) is resolvable at once; a request still in flight is refused as busy below.
      const entry = [...tickets].find(
        ([, r]) => (r.status === "suspended" || r.status === "pending") && r.pending?.quoteId === qid,
      );
      const stored = await storage.get(`quote/${qid}`);
      if (!entry || !stored) {
        throw new InvalidInputError("UNKNOWN_QUOTE", "no unresolved request with this quote id", {
          quoteId: qid,
        });
      }
      const [key, record] = entry;
      if (busy.has(key))
        throw new PaymentError("PAYMENT_TICKET_BUSY", "the request is still in flight", { quoteId: qid });
      const qr = quoteRecordFromJson(stored);
      busy.add(key);
      const l: Lease = { key, record };
      try {
        const res = await baseFetch(new URL(receiptPath(qid), record.pending!.origin).toString(), {
          headers: { [LIVEPAY_PAYER_HEADER]: address },
        });
        if (res.status !== 200) {
          await res.body?.cancel().catch(() => undefined);
          throw new ReceiptMissingError("RECEIPT_MISSING", "payee has no receipt for this quote", {
            quoteId: qid,
            status: res.status,
          });
        }
        const signed = signedReceiptFromJson(await res.json());
        await verifyAndRecord(l, qr.signed.quote, signed, {}, undefined);
        return signed;
      } finally {
        busy.delete(key);
      }
    },

    async exposure() {
      await load();
      let total = 0n;
      for (const r of tickets.values()) total += ticketCredit(r.state);
      return total;
    },

    async approvedLastDay() {
      await load();
      return approvedLastDay();
    },

    async blockedPayees() {
      await load();
      return Object.fromEntries(blocked);
    },

    async blockPayee(payeeAddr, code, details) {
      await load();
      const p = normalizeAddress(payeeAddr);
      blocked.set(p, code);
      await storage.set(`blocked/${p}`, { ...details, code, at: now() });
    },

    async abandonTicket(payeeAddr, ticketId) {
      await load();
      const key = ticketKey(normalizeAddress(payeeAddr), payer.epoch, ticketId);
      const r = tickets.get(key);
      if (!r) throw new InvalidInputError("UNKNOWN_TICKET", "no such ticket", { key });
      if (busy.has(key)) throw new PaymentError("PAYMENT_TICKET_BUSY", "ticket is in flight", { key });
      await saveTicket(key, { ...r, status: "abandoned", problem: r.problem ?? "ABANDONED" });
    },
  };
  return payer;
}
