// Persistent tickets through the gateway (DESIGN.md § Persistent tickets, client/PROTOCOL.md):
// "gateway" mode pays orchestrators with the gateway's own key (API keys hold credit as before) and
// "relay" mode forwards a self-custody client's quotes, vouchers and receipts untouched. Every paid
// OpenAI route the orchestrator's payee serves goes through one flow; `PERSISTENT_ROUTES` says what
// differs per route (body kind, the body the gateway's payer sends, the answer it returns).
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import {
  InvalidInputError,
  LIVEPAY_PAYEE_HEADER,
  LIVEPAY_PAYER_HEADER,
  LIVEPAY_RECEIPT_HEADER,
  LIVEPAY_TICKET_HEADER,
  LIVEPAY_VOUCHER_HEADER,
  RECEIPT_EVENT,
  Rational,
  decodeReceiptHeader,
  decodeVoucherHeader,
  imageCount,
  imageSize,
  isPaymentRequiredJson,
  paymentRequiredFromJson,
  parseReceiptEventData,
  type Hex,
  type PrivateKey,
  type Quote,
  type Receipt,
} from "@livepay/protocol";
import {
  SseSplitter,
  createPayer,
  receiptRecordFromJson,
  type Payer as PersistentPayer,
  type PayerStorage,
} from "@livepay/protocol/client";
import { privateKeyToAccount } from "viem/accounts";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { parseSse } from "../runners/sse.js";
import type { Pipeline } from "../runners/types.js";
import type { ApiKey } from "../store/apiKeys.js";
import { isStoreError } from "../store/errors.js";
import type { Store } from "../store/openStore.js";
import type { GatewayConfig } from "./config.js";
import { GatewayError, invalidRequest } from "./errors.js";
import type { ExecuteResult, JobExecutor, StreamSink } from "./executor.js";
import type { ClientResult, Job, UpstreamBody } from "./jobs.js";
import type { OrchestratorPool } from "./orchestratorPool.js";
import { EstimateAccuracy, accuracySubject, type AccuracyFigure } from "./persistentAccuracy.js";
import { gatewayPayerNamespace, storePayerStorage } from "./persistentStorage.js";
import { maxPriceFor, type Candidate } from "./selection.js";
import type { PricedSession } from "./sessions.js";

const ZERO_QUOTE = `0x${"0".repeat(64)}` as Hex;
const SUPPORT_TTL_MS = 60_000;
const RESPONSE_LIMIT = 64 << 20;
const MAX_REMEMBERED = 10_000;
const CLIENT_ERROR_CODES = new Set(["bad_request", "invalid_request", "invalid_request_error"]);

/**
 * What differs between the paid OpenAI routes on the persistent path. The gateway POSTs to the same
 * path on the orchestrator's payee (`packages/node/src/persistent/routes.ts`).
 */
export interface PersistentRoute {
  /** The pipeline (the quote's `capability`; the SDK checks it against the path). */
  pipeline: Pipeline;
  /**
   * "json": sent as the parsed body re-serialized (a JSON quote hashes its canonical form, so that is
   * exact); "multipart": the client's bytes and Content-Type untouched (the quote hashes raw bytes).
   */
  body: "json" | "multipart";
  /** Only paid with persistent tickets (no Livepeer-ticket path on this gateway). */
  persistentOnly?: boolean;
  /** Gateway mode, JSON routes: the body the gateway's payer sends (default: the client's, `model` set). */
  gatewayJson?(job: Job, model: string): Promise<UpstreamBody>;
  /** Gateway mode: the client's answer from the payee's 200 (default: its bytes and Content-Type as they are). */
  answer?(body: Buffer, job: Job, model: string): ClientResult;
}

/**
 * The routes paid with persistent tickets, one table for both modes. Chat keeps the gateway's own
 * request shaping (explicit `max_tokens`) and answer (its `model`, usage); the others pass through.
 */
export const PERSISTENT_ROUTES: Readonly<Record<string, PersistentRoute>> = {
  "/v1/chat/completions": {
    pipeline: "llm",
    body: "json",
    gatewayJson: (job, model) => job.upstream(model),
    answer: (body, job, model) => job.finish(body, model),
  },
  "/v1/images/generations": { pipeline: "text-to-image", body: "json" },
  "/v1/images/edits": { pipeline: "image-to-image", body: "multipart", persistentOnly: true },
  "/v1/audio/transcriptions": { pipeline: "audio-to-text", body: "multipart" },
  "/v1/audio/speech": { pipeline: "text-to-speech", body: "json" },
};

/**
 * Multipart routes the gateway serves only with persistent tickets, with the job each builds (the
 * server registers them next to `FORM_ROUTES`).
 */
export const PERSISTENT_FORM_ROUTES: Readonly<
  Record<string, (route: string, form: FormData) => Promise<Job>>
> = {
  "/v1/images/edits": imageEditJob,
};

/**
 * OpenAI `POST /v1/images/edits` (multipart: `image` or `image[]` file, `prompt`, optional `model`,
 * `n`, `size`, `response_format`), checked enough to refuse a bad request before anything is quoted;
 * the payee parses it again from the very bytes the client sent.
 * @example const job = await imageEditJob("/v1/images/edits", form)
 */
export async function imageEditJob(route: string, form: FormData): Promise<Job> {
  const image = form.get("image") ?? form.get("image[]");
  if (image === null || typeof image === "string" || image.size === 0)
    throw invalidRequest('image is required (multipart file field "image")');
  const prompt = form.get("prompt");
  if (typeof prompt !== "string" || prompt.trim() === "") throw invalidRequest("prompt is required");
  const model = form.get("model");
  if (model !== null && typeof model !== "string") throw invalidRequest("model must be a string");
  const format = form.get("response_format");
  if (format !== null && format !== "url" && format !== "b64_json")
    throw invalidRequest('response_format must be "url" or "b64_json"');
  const size = form.get("size");
  const n = form.get("n");
  let pixels: bigint;
  try {
    // The protocol's own readers (the payee bounds its quote with them): WIDTHxHEIGHT, n ≥ 1.
    const { width, height } = imageSize(typeof size === "string" ? { size } : {});
    pixels = width * height * imageCount(typeof n === "string" ? { n: Number(n) } : {});
  } catch (e) {
    if (e instanceof InvalidInputError) throw invalidRequest(e.message);
    throw e;
  }
  const unpaid = (): never => {
    throw invalidRequest(`${route} is paid with persistent tickets only`);
  };
  return {
    pipeline: "image-to-image",
    model: model === null || model === "" ? undefined : model,
    units: { estimate: pixels, maximum: pixels },
    stream: false,
    includeUsage: false,
    api: "openai",
    fingerprint: "", // persistent requests are identified by their quote ids, not Idempotency-Key
    upstream: async () => unpaid(),
    finish: () => unpaid(),
  };
}

export interface PersistentGatewayDeps {
  config: GatewayConfig;
  executor: JobExecutor;
  pool: OrchestratorPool;
  store: Store;
  log: Logger;
  /** The gateway's key: the payer in "gateway" mode (its broker deposit pays). */
  privateKey: Hex;
  chainId: number;
  broker: Hex;
  /** The gateway's epoch on the broker (`getPayerInfo(gateway).epoch`). */
  epoch: bigint;
}

/** What one funded request learned while the payer answered the orchestrator's 402. */
interface FundedContext {
  key: ApiKey;
  job: Job;
  model: string;
  quote?: Quote;
  reservation?: { id: string; amount: bigint };
  voucherSent: boolean;
}

/** A receipt the gateway relayed or paid, as kept for the record (tests, `/admin`). */
export interface SeenReceipt {
  quoteId: Hex;
  orchestrator: string;
  pipeline: Pipeline;
  units: bigint;
  charge: bigint;
  estUnits: bigint | undefined;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return typeof v === "string" && v !== "" ? v : undefined;
}

function remember<K, V>(m: Map<K, V>, k: K, v: V): void {
  m.set(k, v);
  if (m.size > MAX_REMEMBERED) m.delete(m.keys().next().value as K);
}

function errorCode(text: string): string | undefined {
  try {
    const e = (JSON.parse(text) as { error?: { code?: unknown } }).error;
    return typeof e?.code === "string" ? e.code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Persistent tickets on the gateway's paid OpenAI routes (`PERSISTENT_ROUTES`):
 *
 * - **gateway** mode: the gateway's key is the payer (`createPayer` with a spending policy from the
 *   config); the payer's 402 handling is observed to reserve the API key's credit for the quote's
 *   `maxCharge` plus the gateway's explicit fee before the voucher is signed; the receipt's `charge`
 *   (plus the fee) is committed, the rest refunded; the usage record's `requestId` is the quote id.
 * - **relay** mode (requests carrying `Livepay-Payer`): picks the orchestrator (the `Livepay-Payee`
 *   asked for, else the best ranked, failing over before any voucher), forwards the client's headers
 *   and body (multipart byte for byte), and returns the orchestrator's 402 / receipt / answer
 *   untouched (binary audio included); bills the key only the fee.
 *
 * Receipt units / quote estUnits feed `accuracy` per (orchestrator, pipeline), which weighs in
 * persistent selection.
 *
 * @example const p = new PersistentGateway(deps); if (p.accepts(route, req)) return p.serve(route, req, reply, key, job, sink, signal)
 */
export class PersistentGateway {
  readonly accuracy: EstimateAccuracy;
  /** Receipts seen, by quote id (bounded). */
  readonly receipts = new Map<Hex, SeenReceipt>();
  /** The gateway's payer in "gateway" mode. */
  readonly payer: PersistentPayer | undefined;
  readonly #d: PersistentGatewayDeps;
  readonly #als = new AsyncLocalStorage<FundedContext>();
  readonly #support = new Map<string, { ok: boolean; at: number }>();
  /** Per (orchestrator base URL, route): whether its payee serves the route (a 404 says no). */
  readonly #routeSupport = new Map<string, { ok: boolean; at: number }>();
  /** Relay: quote id → (orchestrator, estimate), for GET /receipts and accuracy. */
  readonly #quotes = new Map<Hex, { uri: string; httpBase: string; estUnits: bigint }>();
  /** Gateway mode: verified receipts by quote id, written by the payer's storage. */
  readonly #verified = new Map<Hex, Receipt>();

  constructor(deps: PersistentGatewayDeps) {
    this.#d = deps;
    const pc = deps.config.persistent;
    this.accuracy = new EstimateAccuracy(pc.accuracyAlpha);
    if (pc.mode === "gateway") {
      this.payer = createPayer({
        privateKey: deps.privateKey as PrivateKey,
        chainId: deps.chainId,
        broker: deps.broker,
        epoch: deps.epoch,
        policy: pc.policy,
        // Durable, so a restart resumes the same tickets (and keeps receipts for audits); one
        // namespace per chain, broker and gateway key so records never mix.
        storage: this.#storage(
          storePayerStorage(
            deps.store,
            gatewayPayerNamespace(deps.chainId, deps.broker, privateKeyToAccount(deps.privateKey).address),
          ),
        ),
        fetch: this.#observingFetch(),
      });
    }
  }

  /** Whether a request goes the persistent way. @example p.accepts("/v1/chat/completions", req) */
  accepts(route: string, req: FastifyRequest): boolean {
    if (!Object.prototype.hasOwnProperty.call(PERSISTENT_ROUTES, route)) return false;
    const mode = this.#d.config.persistent.mode;
    if (mode === "gateway") return true;
    return mode === "relay" && header(req, LIVEPAY_PAYER_HEADER) !== undefined;
  }

  /** Adds `GET /receipts/:quoteId` (relay mode): forwarded to the orchestrator that quoted it. */
  register(app: FastifyInstance): void {
    if (this.#d.config.persistent.mode !== "relay") return;
    app.get<{ Params: { quoteId: string } }>("/receipts/:quoteId", async (req, reply) => {
      const qid = req.params.quoteId.toLowerCase() as Hex;
      const q = this.#quotes.get(qid);
      if (!q) {
        return reply.code(404).send({
          error: { message: "no receipt for this quote", type: "livepay_error", code: "receipt_not_found" },
        });
      }
      const payer = header(req, LIVEPAY_PAYER_HEADER);
      const res = await fetch(`${q.httpBase}/receipts/${qid}`, {
        headers: payer ? { [LIVEPAY_PAYER_HEADER]: payer } : {},
      });
      return reply
        .code(res.status)
        .header("content-type", res.headers.get("content-type") ?? "application/json")
        .send(Buffer.from(await res.arrayBuffer()));
    });
  }

  /**
   * Serves one persistent request; buffered answers are returned, streamed ones written to `sink`
   * (gateway mode) or relayed on `reply` (relay mode, which then returns undefined).
   */
  async serve(
    route: string,
    req: FastifyRequest,
    reply: FastifyReply,
    key: ApiKey,
    job: Job,
    sink: StreamSink | undefined,
    signal: AbortSignal,
  ): Promise<ExecuteResult | undefined> {
    const r = PERSISTENT_ROUTES[route];
    if (r === undefined) throw new GatewayError("internal_error", `${route} is not a persistent route`);
    if (this.#d.config.persistent.mode === "gateway")
      return this.#funded(route, r, req, key, job, sink, signal);
    await this.#relay(route, r, req, reply, key, job, signal);
    return undefined;
  }

  /** The estimate-accuracy figures of an orchestrator for one pipeline. @example p.accuracyOf(uri, "llm")?.ratio */
  accuracyOf(orchestrator: string, pipeline: Pipeline): AccuracyFigure | undefined {
    return this.accuracy.figure(accuracySubject(orchestrator, pipeline));
  }

  /**
   * Whether an orchestrator serves persistent tickets: its GET /receipts route answers livepay's 404;
   * with `route`, also whether its payee serves that route (a POST without a payer is refused, not
   * 404'd). Positive answers are kept, negative ones for a minute.
   */
  async supports(httpBase: string, route?: string): Promise<boolean> {
    const timeout = this.#d.config.discovery.timeoutMs;
    const ok = await cached(this.#support, httpBase, async () => {
      const res = await fetch(`${httpBase}/receipts/${ZERO_QUOTE}`, {
        headers: { [LIVEPAY_PAYER_HEADER]: `0x${"0".repeat(40)}` },
        signal: AbortSignal.timeout(timeout),
      });
      return res.status === 404 && errorCode(await res.text()) === "receipt_not_found";
    });
    if (!ok || route === undefined) return ok;
    return cached(this.#routeSupport, `${httpBase} ${route}`, async () => {
      // No payer header and no body: a livepay payee refuses before parsing or quoting anything.
      const res = await fetch(`${httpBase}${route}`, {
        method: "POST",
        signal: AbortSignal.timeout(timeout),
      });
      await res.body?.cancel().catch(() => undefined);
      return res.status !== 404 && res.status !== 405;
    });
  }

  /** Ranked candidates (accuracy for this pipeline included) whose payee serves `route`; maybe none. */
  async #candidates(job: Job, model: string, route: string): Promise<Candidate<PricedSession>[]> {
    const pc = this.#d.config.persistent;
    const ranked = await this.#d.executor.candidates(job, model, {
      score: (uri) => this.accuracy.score(accuracySubject(uri, job.pipeline)),
      weight: pc.accuracyWeight,
    });
    const flags = await Promise.all(ranked.map((c) => this.supports(c.value.httpBase, route)));
    return ranked.filter((_, i) => flags[i]);
  }

  /** Wraps the payer's storage: verified receipts are noted by quote id as they are written. */
  #storage(inner: PayerStorage): PayerStorage {
    return {
      get: (k) => inner.get(k),
      delete: (k) => inner.delete(k),
      list: (p) => inner.list(p),
      set: async (k, v) => {
        await inner.set(k, v);
        if (k.startsWith("receipt/")) {
          const r = receiptRecordFromJson(v);
          remember(this.#verified, r.quoteId, r.signed.receipt);
        }
      },
    };
  }

  /** The payer's fetch: sees each 402 quote first, to reserve the key's credit before anything is signed. */
  #observingFetch(): typeof fetch {
    return (async (input: RequestInfo | URL, init?: RequestInit) => {
      const ctx = this.#als.getStore();
      if (ctx && new Headers(init?.headers).has(LIVEPAY_VOUCHER_HEADER)) ctx.voucherSent = true;
      const res = await fetch(input, init);
      if (!ctx || res.status !== 402) return res;
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (isPaymentRequiredJson(body)) {
        let quote: Quote | undefined;
        try {
          quote = paymentRequiredFromJson(body).quote.quote;
        } catch {
          quote = undefined; // the payer rejects it with its own error
        }
        if (quote) await this.#onQuote(ctx, quote);
      }
      return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
    }) as typeof fetch;
  }

  /** Reserves maxCharge + fee (once per request; a dearer re-quote re-reserves first). */
  async #onQuote(ctx: FundedContext, quote: Quote): Promise<void> {
    const cap = maxPriceFor(ctx.job.pipeline, ctx.model, this.#d.config.maxPrice);
    const price = Rational.of(quote.priceNum, quote.priceDen);
    if (cap !== undefined && price.gt(cap)) {
      throw new GatewayError(
        "no_orchestrator",
        `the orchestrator quoted ${price.toFixed(6)} wei/unit, over the max price ${cap.toFixed(6)}`,
      );
    }
    ctx.quote = quote;
    const amount = quote.maxCharge + this.#d.config.persistent.feeWei;
    if (ctx.reservation && ctx.reservation.amount >= amount) return;
    const id = await this.#reserve(ctx.key, amount, quote);
    if (ctx.reservation) await this.#d.store.reservations.release(ctx.reservation.id);
    ctx.reservation = { id, amount };
  }

  async #reserve(key: ApiKey, amount: bigint, quote?: Quote): Promise<string> {
    try {
      return (await this.#d.store.reservations.reserve(key.id, amount)).id;
    } catch (e) {
      const what = quote
        ? `${quote.maxUnits} units at most, maxCharge ${quote.maxCharge} wei + gateway fee ${this.#d.config.persistent.feeWei} wei`
        : "the gateway fee";
      if (isStoreError(e, "INSUFFICIENT_CREDIT")) {
        throw new GatewayError(
          "insufficient_credit",
          `this request may cost up to ${amount} wei (${what}); the key has ${String(e.details?.availableWei ?? "less")} wei available`,
          { requiredWei: amount.toString(), availableWei: e.details?.availableWei },
        );
      }
      if (isStoreError(e, "CAP_EXCEEDED")) {
        throw new GatewayError(
          "spending_cap_exceeded",
          `this request may cost up to ${amount} wei, over the key's ${e.details?.cap === "perDay" ? "daily" : "per-request"} spending cap`,
          { cap: e.details?.cap, limitWei: e.details?.limitWei, requestedWei: amount.toString() },
        );
      }
      if (isStoreError(e, "KEY_DISABLED"))
        throw new GatewayError("api_key_disabled", "this API key is disabled");
      throw e;
    }
  }

  /**
   * Gateway mode: the gateway's key pays; the API key is charged the receipt's charge + the fee.
   * When no orchestrator serves the route with persistent tickets, a route that also has a
   * Livepeer-ticket path is served that way (as with persistent mode off).
   */
  async #funded(
    route: string,
    r: PersistentRoute,
    req: FastifyRequest,
    key: ApiKey,
    job: Job,
    sink: StreamSink | undefined,
    signal: AbortSignal,
  ): Promise<ExecuteResult> {
    const { config, store, pool, log } = this.#d;
    if (key.availableWei <= 0n) {
      throw new GatewayError("insufficient_credit", "this API key has no credit left", { availableWei: "0" });
    }
    const model = this.#d.executor.resolveModel(job);
    const ranked = await this.#candidates(job, model, route);
    if (ranked.length === 0) {
      if (r.persistentOnly) throw noPersistentOrchestrator(job, model, route);
      log.info(
        { route, pipeline: job.pipeline, model },
        "no persistent-ticket orchestrator: Livepeer tickets",
      );
      return this.#d.executor.execute(job, key, sink, signal);
    }
    const up = await this.#gatewayBody(r, req, job, model);
    const fee = config.persistent.feeWei;
    let lastReason = "no attempt";
    let tried = 0;
    let unserved = 0;
    for (const c of ranked.slice(0, 1 + config.selection.maxFailovers)) {
      if (signal.aborted) break;
      tried++;
      const ctx: FundedContext = { key, job, model, voucherSent: false };
      const release = async () => {
        if (ctx.reservation) await store.reservations.release(ctx.reservation.id);
        ctx.reservation = undefined;
      };
      const t0 = Date.now();
      let res: Response;
      try {
        res = await this.#als.run(ctx, () =>
          this.payer!.fetch(c.value.httpBase + route, {
            method: "POST",
            headers: {
              "content-type": up.contentType,
              accept: job.stream ? "text/event-stream" : (header(req, "accept") ?? "application/json"),
            },
            body: new Uint8Array(up.body),
            signal,
          }),
        );
      } catch (e) {
        await release();
        if (e instanceof GatewayError && e.code !== "no_orchestrator") throw e; // the key's credit or caps
        lastReason = `${c.uri}: ${(e as Error).message}`;
        if (!signal.aborted) pool.markFailure(c.uri, lastReason);
        log.warn(
          { orchestrator: c.uri, err: (e as Error).message, voucherSent: ctx.voucherSent },
          "persistent attempt failed",
        );
        continue;
      }
      if (res.status !== 200) {
        const text = await res.text().catch(() => "");
        const code = errorCode(text);
        const receipt = ctx.quote ? this.#verified.get(ctx.quote.quoteId) : undefined;
        if (receipt && receipt.charge > 0n && ctx.reservation) {
          // An error after payment is still charged what its receipt says was produced.
          await store.reservations.commit(ctx.reservation.id, receipt.charge + fee);
          ctx.reservation = undefined;
        }
        await release();
        if (res.status === 400 && CLIENT_ERROR_CODES.has(code ?? "")) {
          throw new GatewayError(
            "invalid_request",
            errorMessage(text) ?? "the orchestrator refused the request",
          );
        }
        lastReason = `${c.uri} answered ${res.status}: ${errorMessage(text) ?? text.slice(0, 200)}`;
        if (res.status === 404 && !ctx.voucherSent) {
          // Its payee does not serve this route (yet): not a failure of the orchestrator.
          this.#routeSupport.set(`${c.value.httpBase} ${route}`, { ok: false, at: Date.now() });
          unserved++;
          continue;
        }
        pool.markFailure(c.uri, lastReason);
        continue;
      }
      const latency = Date.now() - t0;
      let out: ExecuteResult;
      let status = "ok";
      let deliveredUnits: bigint | undefined = 0n;
      if (job.stream) {
        const s = await this.#relayFundedStream(res, job, model, sink!, () =>
          ctx.quote ? this.#verified.get(ctx.quote.quoteId) : undefined,
        );
        out = { kind: "streamed", text: s.text };
        status = s.completed ? "ok" : signal.aborted || sink!.closed ? "cancelled" : "error";
        deliveredUnits = s.units;
      } else {
        let body: Buffer;
        try {
          body = Buffer.from(await res.arrayBuffer());
          if (body.length > RESPONSE_LIMIT) throw new Error("answer too large");
          const a = r.answer
            ? r.answer(body, job, model)
            : // Images, transcripts, audio: the payee's answer is the OpenAI answer, bytes untouched.
              { units: undefined, contentType: res.headers.get("content-type") ?? "application/json", body };
          deliveredUnits = a.units;
          out = { kind: "buffered", status: 200, contentType: a.contentType, body: a.body };
        } catch (e) {
          // The receipt (if any) was recorded by the payer; charge it, but the client got nothing usable.
          lastReason = `${c.uri} answered badly: ${(e as Error).message}`;
          pool.markFailure(c.uri, lastReason);
          await release();
          continue;
        }
      }
      if (ctx.quote === undefined || ctx.reservation === undefined) {
        // Served without a quote: not a persistent payee after all; nothing was signed or reserved.
        this.#support.set(c.value.httpBase, { ok: false, at: Date.now() });
        throw new GatewayError("upstream_error", `${c.uri} answered without quoting a price`);
      }
      const quote = ctx.quote;
      const receipt = this.#verified.get(quote.quoteId);
      // No verified receipt: the payer assumes maxCharge spent (DESIGN), and so does the key's bill.
      const charge = receipt ? receipt.charge : quote.maxCharge;
      const units = receipt ? receipt.units : (deliveredUnits ?? quote.maxUnits);
      const feeWei = charge + fee;
      await store.reservations.commit(ctx.reservation.id, feeWei);
      await store.usage.record({
        keyId: key.id,
        requestId: quote.quoteId,
        pipeline: job.pipeline,
        model,
        units,
        feeWei,
        gatewayFeeWei: fee,
        orchestrator: c.uri,
        ticketsSent: 0,
        evSent: 0n,
        status: receipt ? status : "receipt_missing",
      });
      if (receipt) {
        this.accuracy.observe(accuracySubject(c.uri, job.pipeline), receipt.units, quote.estUnits);
        remember(this.receipts, quote.quoteId, {
          quoteId: quote.quoteId,
          orchestrator: c.uri,
          pipeline: job.pipeline,
          units: receipt.units,
          charge: receipt.charge,
          estUnits: quote.estUnits,
        });
      }
      pool.markSuccess(c.uri, latency);
      log.info(
        {
          key: key.id,
          quoteId: quote.quoteId,
          orchestrator: c.uri,
          route,
          units: String(units),
          feeWei: String(feeWei),
        },
        "persistent request served",
      );
      if (out.kind === "streamed") sink!.end();
      return out;
    }
    if (tried > 0 && unserved === tried) throw noPersistentOrchestrator(job, model, route);
    throw new GatewayError("upstream_error", `every orchestrator failed; last: ${lastReason}`);
  }

  /** Gateway mode: the body the gateway's payer sends (multipart: the client's bytes, untouched). */
  async #gatewayBody(
    r: PersistentRoute,
    req: FastifyRequest,
    job: Job,
    model: string,
  ): Promise<UpstreamBody> {
    if (r.body === "multipart") return clientBody(r, req);
    if (r.gatewayJson) return r.gatewayJson(job, model);
    const body = Buffer.from(JSON.stringify({ ...(req.body as Record<string, unknown>), model }));
    return { contentType: "application/json", body };
  }

  /** Relays the payer's verified SSE stream (receipt event already removed) to the client. */
  async #relayFundedStream(
    res: Response,
    job: Job,
    model: string,
    sink: StreamSink,
    receipt: () => Receipt | undefined,
  ): Promise<{ text: string; completed: boolean; units: bigint }> {
    let text = "";
    const write = (t: string) => {
      text += t;
      if (!sink.closed) sink.write(t);
    };
    sink.start();
    let completed = false;
    let failure: string | undefined;
    let lastId = "";
    let created = Math.floor(Date.now() / 1000);
    let promptTokens = 0;
    try {
      for await (const event of parseSse(res.body as unknown as AsyncIterable<Uint8Array>)) {
        if (sink.closed) break;
        if (event.data === "[DONE]") {
          completed = true;
          continue; // drain: the payer verifies the receipt as the stream ends
        }
        if (event.data.trim() === "") continue;
        let chunk: Record<string, unknown>;
        try {
          chunk = JSON.parse(event.data) as Record<string, unknown>;
        } catch {
          failure = "malformed stream data";
          break;
        }
        if (chunk.error !== undefined) {
          failure = JSON.stringify(chunk.error).slice(0, 500);
          continue;
        }
        const usage = chunk.usage as Record<string, unknown> | undefined | null;
        if (usage && typeof usage.prompt_tokens === "number") promptTokens = usage.prompt_tokens;
        if (typeof chunk.id === "string") lastId = chunk.id;
        if (typeof chunk.created === "number") created = chunk.created;
        if (Array.isArray(chunk.choices) && chunk.choices.length > 0)
          write(`data: ${JSON.stringify({ ...chunk, model })}\n\n`);
      }
    } catch (e) {
      failure = (e as Error).message;
    }
    if (sink.closed) await res.body?.cancel().catch(() => undefined);
    const units = receipt()?.units ?? 0n;
    if (completed && job.includeUsage) {
      write(
        `data: ${JSON.stringify({
          id: lastId,
          object: "chat.completion.chunk",
          created,
          model,
          choices: [],
          usage: {
            prompt_tokens: promptTokens,
            completion_tokens: Number(units),
            total_tokens: promptTokens + Number(units),
          },
        })}\n\n`,
      );
    }
    if (failure !== undefined) {
      write(
        `data: ${JSON.stringify({ error: { message: `orchestrator stream failed: ${failure}`, type: "api_error", code: "upstream_error" } })}\n\n`,
      );
    }
    write("data: [DONE]\n\n");
    return { text, completed: completed && failure === undefined, units };
  }

  /** Relay mode: forwards the client's own payment headers; quotes and receipts come back untouched. */
  async #relay(
    route: string,
    r: PersistentRoute,
    req: FastifyRequest,
    reply: FastifyReply,
    key: ApiKey,
    job: Job,
    signal: AbortSignal,
  ): Promise<void> {
    const { config, store, pool, log } = this.#d;
    const payer = header(req, LIVEPAY_PAYER_HEADER)!.toLowerCase();
    if (!/^0x[0-9a-f]{40}$/.test(payer))
      throw new GatewayError("invalid_request", `${LIVEPAY_PAYER_HEADER} must be an address`);
    const voucherHeader = header(req, LIVEPAY_VOUCHER_HEADER);
    let quoteId: Hex | undefined;
    if (voucherHeader !== undefined) {
      try {
        quoteId = decodeVoucherHeader(voucherHeader).quoteId;
      } catch (e) {
        throw new GatewayError("invalid_request", `bad ${LIVEPAY_VOUCHER_HEADER}: ${(e as Error).message}`);
      }
    }
    const wanted = header(req, LIVEPAY_PAYEE_HEADER)?.toLowerCase();
    const model = this.#d.executor.resolveModel(job);
    let targets: Candidate<PricedSession>[];
    try {
      targets = await this.#candidates(job, model, route);
      if (targets.length === 0) throw noPersistentOrchestrator(job, model, route);
    } catch (e) {
      if (wanted !== undefined && e instanceof GatewayError) throw payeeUnavailable(wanted, e.message);
      throw e;
    }
    if (wanted !== undefined) {
      targets = targets.filter((c) => pool.get(c.uri)?.address?.toLowerCase() === wanted).slice(0, 1);
      if (targets.length === 0) throw payeeUnavailable(wanted, "no reachable orchestrator is this payee");
    } else if (quoteId !== undefined) {
      targets = targets.slice(0, 1); // a voucher is bound to one payee: never fail it over
    } else {
      targets = targets.slice(0, 1 + config.selection.maxFailovers);
    }

    // The gateway's explicit fee is billed on paid requests only (a quote costs the key nothing).
    const fee = config.persistent.feeWei;
    const reservation = quoteId !== undefined && fee > 0n ? await this.#reserve(key, fee) : undefined;
    const { contentType, body } = clientBody(r, req);
    const headers: Record<string, string> = {
      "content-type": contentType,
      accept: header(req, "accept") ?? "application/json",
      [LIVEPAY_PAYER_HEADER]: payer,
    };
    for (const h of [LIVEPAY_PAYEE_HEADER, LIVEPAY_TICKET_HEADER, LIVEPAY_VOUCHER_HEADER]) {
      const v = header(req, h);
      if (v !== undefined) headers[h] = v;
    }
    let lastReason = "no attempt";
    for (const [n, c] of targets.entries()) {
      const last = n === targets.length - 1;
      let res: Response;
      const t0 = Date.now();
      try {
        res = await fetch(c.value.httpBase + route, {
          method: "POST",
          headers,
          body: new Uint8Array(body),
          signal,
        });
      } catch (e) {
        lastReason = `${c.uri}: ${(e as Error).message}`;
        if (!signal.aborted) pool.markFailure(c.uri, lastReason);
        continue;
      }
      if (res.status >= 500 && quoteId === undefined && !last) {
        lastReason = `${c.uri} answered ${res.status}`;
        await res.body?.cancel().catch(() => undefined);
        pool.markFailure(c.uri, lastReason);
        continue;
      }
      const ct = res.headers.get("content-type") ?? "application/json";
      const copy: Record<string, string> = { "content-type": ct };
      for (const h of [LIVEPAY_RECEIPT_HEADER, "x-should-retry", "cache-control"]) {
        const v = res.headers.get(h);
        if (v !== null) copy[h] = v;
      }
      let units: bigint | undefined;
      if (res.status === 200 && ct.startsWith("text/event-stream") && res.body) {
        reply.hijack();
        reply.raw.writeHead(200, { ...copy, connection: "keep-alive", "x-accel-buffering": "no" });
        const splitter = new SseSplitter();
        const decoder = new TextDecoder();
        try {
          for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
            // Bytes go out as they came; the splitter only reads the receipt for the accuracy figure.
            if (!reply.raw.destroyed) reply.raw.write(bytes);
            for (const ev of splitter.push(decoder.decode(bytes, { stream: true }))) {
              if (ev.event === RECEIPT_EVENT)
                units = receiptUnits(() => parseReceiptEventData(ev.data).receipt);
            }
          }
        } catch (e) {
          log.warn({ err: (e as Error).message, orchestrator: c.uri }, "relayed stream broke");
        }
        reply.raw.end();
      } else {
        const bytes = Buffer.from(await res.arrayBuffer());
        if (res.status === 402) this.#noteQuote(bytes, c);
        const rh = copy[LIVEPAY_RECEIPT_HEADER];
        if (rh !== undefined) units = receiptUnits(() => decodeReceiptHeader(rh).receipt);
        await reply.code(res.status).headers(copy).send(bytes);
      }
      if (res.status < 500) pool.markSuccess(c.uri, Date.now() - t0);
      if (quoteId !== undefined) {
        const q = this.#quotes.get(quoteId);
        const served = res.status === 200;
        if (reservation !== undefined) {
          if (served) await store.reservations.commit(reservation, fee);
          else await store.reservations.release(reservation);
        }
        if (units !== undefined && q !== undefined) {
          this.accuracy.observe(accuracySubject(c.uri, job.pipeline), units, q.estUnits);
          remember(this.receipts, quoteId, {
            quoteId,
            orchestrator: c.uri,
            pipeline: job.pipeline,
            units,
            charge: 0n,
            estUnits: q.estUnits,
          });
        }
        await store.usage.record({
          keyId: key.id,
          requestId: quoteId,
          pipeline: job.pipeline,
          model,
          units: units ?? 0n,
          feeWei: served && reservation !== undefined ? fee : 0n,
          gatewayFeeWei: served && reservation !== undefined ? fee : 0n,
          orchestrator: c.uri,
          ticketsSent: 0,
          evSent: 0n,
          status: served ? "relayed" : `relayed_${res.status}`,
        });
      }
      return;
    }
    if (reservation !== undefined) await store.reservations.release(reservation);
    if (wanted !== undefined) throw payeeUnavailable(wanted, lastReason);
    throw new GatewayError("upstream_error", `every orchestrator failed; last: ${lastReason}`, {
      requestId: randomUUID(),
    });
  }

  /** Remembers a relayed quote (for GET /receipts and the accuracy figure). */
  #noteQuote(bytes: Buffer, c: Candidate<PricedSession>): void {
    try {
      const body = JSON.parse(bytes.toString("utf8")) as unknown;
      if (!isPaymentRequiredJson(body)) return;
      const q = paymentRequiredFromJson(body).quote.quote;
      remember(this.#quotes, q.quoteId, { uri: c.uri, httpBase: c.value.httpBase, estUnits: q.estUnits });
    } catch {
      // not a livepay quote: relayed as is, nothing to remember
    }
  }
}

/** Keeps a positive answer; a negative one (or a failed check) for `SUPPORT_TTL_MS`. */
async function cached(
  m: Map<string, { ok: boolean; at: number }>,
  k: string,
  check: () => Promise<boolean>,
): Promise<boolean> {
  const c = m.get(k);
  if (c && (c.ok || Date.now() - c.at < SUPPORT_TTL_MS)) return c.ok;
  let ok: boolean;
  try {
    ok = await check();
  } catch {
    ok = false;
  }
  m.set(k, { ok, at: Date.now() });
  return ok;
}

/**
 * The client's body as the payee must hash it: multipart bytes and Content-Type exactly as received
 * (boundary included); JSON re-serialized from the parsed value (same canonical form, same hash).
 */
function clientBody(r: PersistentRoute, req: FastifyRequest): UpstreamBody {
  if (r.body === "multipart") {
    const ct = header(req, "content-type");
    if (!Buffer.isBuffer(req.body) || ct === undefined)
      throw invalidRequest("expected a multipart/form-data body");
    return { contentType: ct, body: req.body };
  }
  return { contentType: "application/json", body: Buffer.from(JSON.stringify(req.body)) };
}

function noPersistentOrchestrator(job: Job, model: string, route: string): GatewayError {
  return new GatewayError(
    "no_orchestrator",
    `no orchestrator offering ${job.pipeline} model "${model}" accepts persistent tickets on ${route}`,
  );
}

function receiptUnits(read: () => Receipt): bigint | undefined {
  try {
    return read().units;
  } catch {
    return undefined; // the client verifies receipts; a bad one is its finding, not the relay's
  }
}

function errorMessage(text: string): string | undefined {
  try {
    const e = (JSON.parse(text) as { error?: { message?: unknown } }).error;
    return typeof e?.message === "string" ? e.message : undefined;
  } catch {
    return undefined;
  }
}

function payeeUnavailable(payee: string, why: string): GatewayError {
  return new GatewayError(
    "payee_unavailable",
    `payee ${payee} is not available through this gateway (${why})`,
    {
      payee,
    },
  );
}
