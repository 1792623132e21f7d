import { randomUUID } from "node:crypto";
import { LivepayError, Rational, estimateAIFee } from "@livepay/protocol";
import type { Logger } from "pino";
import { parseSse } from "../runners/sse.js";
import type { ApiKey } from "../store/apiKeys.js";
import { isStoreError } from "../store/errors.js";
import type { Store } from "../store/openStore.js";
import { PIPELINE_ROUTES } from "../net/capabilities.js";
import type { GatewayChainView } from "./chainView.js";
import type { GatewayConfig } from "./config.js";
import { GatewayError } from "./errors.js";
import type { ClientResult, Job } from "./jobs.js";
import type { GatewayMetrics } from "./metrics.js";
import type { OrchestratorPool } from "./orchestratorPool.js";
import { SessionRefreshNeeded, type Payer, type PreparedPayment } from "./payer.js";
import { maxPriceFor, rankCandidates, type Candidate } from "./selection.js";
import type { PricedSession, SessionCache } from "./sessions.js";
import {
  postUpstream,
  readBody,
  upstreamErrorMessage,
  UpstreamError,
  type UpstreamResponse,
} from "./upstream.js";

/** Where a streamed answer goes: the client's socket (and a copy for idempotency). */

/** Refreshes tried when an orchestrator's new params are already expired for this gateway. */
const PARAMS_EXPIRED_RETRIES = 3;
/** Wait before the 2nd and 3rd refresh (× the attempt): roughly an orchestrator's block poll. */
const PARAMS_EXPIRED_RETRY_DELAY_MS = 400;
export interface StreamSink {
  /** Sends the 200 and SSE headers: the first byte. */
  start(): void;
  write(text: string): void;
  end(): void;
  /** The client went away. */
  readonly closed: boolean;
}

/** How a request ended, for the route layer. */
export type ExecuteResult =
  | { kind: "buffered"; status: number; contentType: string; body: Buffer }
  | { kind: "streamed"; text: string };

export interface ExecutorDeps {
  config: GatewayConfig;
  pool: OrchestratorPool;
  sessions: SessionCache;
  payer: Payer;
  store: Store;
  chain: GatewayChainView;
  metrics: GatewayMetrics;
  log: Logger;
}

/** One attempt's end. */
type Attempt =
  | {
      ok: true;
      result: ClientResult | undefined;
      streamed?: { text: string; completed: boolean };
      session: PricedSession;
      tickets: number;
      ev: Rational;
    }
  | {
      ok: false;
      reason: string;
      clientError?: string;
      paymentError?: boolean;
      tickets: number;
      ev: Rational;
    };

const ERROR_BODY_LIMIT = 1 << 20;
const RESPONSE_LIMIT = 256 << 20;
// Orchestrator error codes that blame the request itself (livepay orchestrators lower-case them).
const CLIENT_ERROR_CODES = new Set([
  "bad_request",
  "BAD_REQUEST",
  "invalid_request",
  "invalid_request_error",
]);

function orchestratorErrorCode(body: Buffer): string | undefined {
  try {
    const e = (JSON.parse(body.toString("utf8")) as { error?: { code?: unknown } }).error;
    return typeof e?.code === "string" ? e.code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs one client request end to end: picks orchestrators (price caps, weighted selection),
 * reserves the key's credit for the worst case, pays and sends the job with failover before the
 * first byte, then commits the actual fee (the rest is refunded) and writes the usage record.
 *
 * @example const r = await executor.execute(job, apiKey, sink, signal)
 */
export class JobExecutor {
  readonly #d: ExecutorDeps;

  constructor(deps: ExecutorDeps) {
    this.#d = deps;
  }

  /** Resolves the model a job runs: the one asked for, or the only one offered for the pipeline. */
  resolveModel(job: Job): string {
    if (job.model !== undefined) return job.model;
    const offered = [...this.#d.pool.models()].filter(([, ps]) => ps.has(job.pipeline)).map(([m]) => m);
    if (offered.length === 1) return offered[0]!;
    throw new GatewayError(
      "invalid_request",
      offered.length === 0
        ? `no orchestrator offers ${job.pipeline}`
        : `model is required: ${job.pipeline} models offered: ${offered.join(", ")}`,
    );
  }

  /**
   * Candidates for a (pipeline, model), best first, priced and under the cap. Throws
   * `model_not_found` (404) or `no_orchestrator` (503) when there are none.
   */
  async candidates(
    job: Job,
    model: string,
    accuracy?: { score: (uri: string) => number | undefined; weight: number },
  ): Promise<Candidate<PricedSession>[]> {
    const { pool, sessions, chain, config } = this.#d;
    const offering = pool.offering(job.pipeline, model);
    if (offering.length === 0) {
      throw new GatewayError("model_not_found", `no orchestrator offers ${job.pipeline} model "${model}"`);
    }
    // Orchestrators in their failure backoff are tried only when no other is left.
    let up = offering.filter((s) => pool.isUp(s));
    if (up.length === 0) up = offering;
    const errors: string[] = [];
    const priced = await Promise.all(
      up.map(async (s) => {
        try {
          return { s, session: await sessions.get(s.uri, job.pipeline, model, chain.lastSeenL1Block) };
        } catch (e) {
          errors.push((e as Error).message);
          pool.markFailure(s.uri, (e as Error).message);
          return undefined;
        }
      }),
    );
    const ok = priced.filter((p): p is NonNullable<typeof p> => p !== undefined);
    if (ok.length === 0) {
      throw new GatewayError(
        "no_orchestrator",
        `no orchestrator for ${job.pipeline} model "${model}" is reachable right now${errors.length > 0 ? ` (${errors[0]})` : ""}`,
      );
    }
    const cap = maxPriceFor(job.pipeline, model, config.maxPrice);
    const under = cap === undefined ? ok : ok.filter((p) => p.session.price.lte(cap));
    if (under.length === 0) {
      const cheapest = ok.reduce((a, b) => (b.session.price.lt(a.session.price) ? b : a));
      throw new GatewayError(
        "no_orchestrator",
        `no orchestrator offers ${job.pipeline} model "${model}" at or under the max price ${cap!.toFixed(6)} wei/unit (cheapest: ${cheapest.session.price.toFixed(6)})`,
        { maxPrice: cap!.toString(), cheapest: cheapest.session.price.toString() },
      );
    }
    return rankCandidates(
      under.map((p) => ({
        uri: p.s.uri,
        price: p.session.price,
        stake: p.s.stake,
        latencyMs: p.s.latencyMs,
        successRate: p.s.successRate,
        accuracy: accuracy?.score(p.s.uri),
        value: p.session,
      })),
      config.selection.weights,
      Math.random,
      accuracy?.weight ?? 0,
    );
  }

  /**
   * Executes a job for an API key. Buffered answers are returned for the caller to send; streamed
   * answers are written to `sink` (the result carries a copy of what was written).
   */
  async execute(
    job: Job,
    key: ApiKey,
    sink: StreamSink | undefined,
    signal: AbortSignal,
  ): Promise<ExecuteResult> {
    const { config, store, metrics, log } = this.#d;
    if (key.availableWei <= 0n) {
      throw new GatewayError("insufficient_credit", "this API key has no credit left", { availableWei: "0" });
    }
    const model = this.resolveModel(job);
    const ranked = await this.candidates(job, model);
    const attempts = ranked.slice(0, 1 + config.selection.maxFailovers);
    // Reserve the most the request may cost where it is sent first: its maximum units at that
    // orchestrator's price. A failover to a dearer orchestrator reserves at its price first, and is
    // skipped when the key cannot cover that.
    let reservedPrice = attempts[0]!.price;
    let reservation = await this.#reserve(
      key,
      reservedPrice.mul(job.units.maximum).ceil(),
      job,
      reservedPrice,
    );
    const requestId = randomUUID();
    const upstreamBody = await job.upstream(model);

    let tickets = 0;
    let ev = Rational.ZERO;
    let lastReason = "no attempt";
    let paymentError: string | undefined;
    let attemptNo = 0;
    for (const c of attempts) {
      if (signal.aborted) break;
      if (c.price.gt(reservedPrice)) {
        try {
          const dearer = await this.#reserve(key, c.price.mul(job.units.maximum).ceil(), job, c.price);
          await store.reservations.release(reservation.id);
          reservation = dearer;
          reservedPrice = c.price;
        } catch (e) {
          if (!(e instanceof GatewayError)) throw e;
          lastReason = `cannot fail over to ${c.uri}: ${e.message}`;
          continue;
        }
      }
      if (attemptNo++ > 0)
        metrics.failovers.inc({ reason: lastReason.slice(0, 40).replace(/[^a-z_ ]/gi, "") || "error" });
      const a = await this.#attempt(job, model, c.value, reservedPrice, upstreamBody, sink, signal);
      tickets += a.tickets;
      ev = ev.add(a.ev);
      if (a.ok) {
        const units = a.result?.units ?? 0n;
        const feeWei = a.session.price.mul(units).ceil();
        const status = a.streamed && !a.streamed.completed ? (signal.aborted ? "cancelled" : "error") : "ok";
        await store.reservations.commit(reservation.id, feeWei);
        await store.usage.record({
          keyId: key.id,
          requestId,
          pipeline: job.pipeline,
          model,
          units,
          feeWei,
          orchestrator: a.session.uri,
          ticketsSent: tickets,
          evSent: ev,
          status,
        });
        metrics.feesChargedWei.inc({ pipeline: job.pipeline }, Number(feeWei));
        log.info(
          {
            requestId,
            key: key.id,
            pipeline: job.pipeline,
            model,
            units: String(units),
            feeWei: String(feeWei),
            orchestrator: a.session.uri,
            tickets,
            status,
          },
          "request served",
        );
        if (a.streamed) {
          sink?.end();
          return { kind: "streamed", text: a.streamed.text };
        }
        return { kind: "buffered", status: 200, contentType: a.result!.contentType, body: a.result!.body };
      }
      lastReason = a.reason;
      if (a.paymentError) paymentError = a.reason;
      if (a.clientError !== undefined) {
        await this.#closeFailed(reservation.id, key, requestId, job, model, tickets, ev, "rejected");
        throw new GatewayError("invalid_request", a.clientError);
      }
    }
    await this.#closeFailed(
      reservation.id,
      key,
      requestId,
      job,
      model,
      tickets,
      ev,
      signal.aborted ? "cancelled" : "error",
    );
    if (paymentError !== undefined && tickets === 0) {
      throw new GatewayError(
        "payment_error",
        `the gateway cannot pay orchestrators right now: ${paymentError}`,
      );
    }
    throw new GatewayError(
      "upstream_error",
      `every orchestrator failed (${attemptNo} tried); last: ${lastReason}`,
    );
  }

  async #closeFailed(
    reservationId: string,
    key: ApiKey,
    requestId: string,
    job: Job,
    model: string,
    tickets: number,
    ev: Rational,
    status: string,
  ): Promise<void> {
    const { store } = this.#d;
    await store.reservations.release(reservationId);
    await store.usage.record({
      keyId: key.id,
      requestId,
      pipeline: job.pipeline,
      model,
      units: 0n,
      feeWei: 0n,
      ticketsSent: tickets,
      evSent: ev,
      status,
    });
  }

  async #reserve(key: ApiKey, amount: bigint, job: Job, price: Rational) {
    try {
      return await this.#d.store.reservations.reserve(key.id, amount);
    } catch (e) {
      if (isStoreError(e, "INSUFFICIENT_CREDIT")) {
        throw new GatewayError(
          "insufficient_credit",
          `this request may cost up to ${amount} wei (${job.units.maximum} units at ${price.toFixed(6)} wei/unit); the key has ${String(e.details?.availableWei ?? "less")} wei available`,
          { requiredWei: amount.toString(), availableWei: e.details?.availableWei },
        );
      }
      if (isStoreError(e, "CAP_EXCEEDED")) {
        const which = e.details?.cap === "perDay" ? "daily" : "per-request";
        throw new GatewayError(
          "spending_cap_exceeded",
          `this request may cost up to ${amount} wei, over the key's ${which} spending cap of ${String(e.details?.limitWei)} wei`,
          { cap: e.details?.cap, limitWei: e.details?.limitWei, requestedWei: amount.toString() },
        );
      }
      if (isStoreError(e, "KEY_DISABLED"))
        throw new GatewayError("api_key_disabled", "this API key is disabled");
      throw e;
    }
  }

  /** One orchestrator: pay, send, read; refreshes expired params once. Never throws for upstream faults. */
  async #attempt(
    job: Job,
    model: string,
    first: PricedSession,
    maxPrice: Rational,
    up: { contentType: string; body: Buffer },
    sink: StreamSink | undefined,
    signal: AbortSignal,
  ): Promise<Attempt> {
    const { pool, sessions, payer, config } = this.#d;
    let s = first;
    let tickets = 0;
    let ev = Rational.ZERO;
    const fail = (reason: string, extra: Partial<Extract<Attempt, { ok: false }>> = {}): Attempt => ({
      ok: false,
      reason,
      tickets,
      ev,
      ...extra,
    });
    // One retry after a refresh the orchestrator asked for; fresh params that are already expired
    // mean the orchestrator has not seen the latest L1 block yet, so those get two more tries, later.
    for (let tries = 0; tries < 1 + PARAMS_EXPIRED_RETRIES; tries++) {
      if (s.price.gt(maxPrice)) return fail(`${s.uri} raised its price to ${s.price.toFixed(6)}`);
      // Staged for the job's maximum units: the runner estimate for every pipeline but embeddings, and
      // what a livepay orchestrator holds against the balance before it runs the job.
      const fee = estimateAIFee(job.units.maximum, s.price);
      let p: PreparedPayment;
      try {
        p = await payer.prepare(s, fee);
      } catch (e) {
        if (e instanceof SessionRefreshNeeded && tries < PARAMS_EXPIRED_RETRIES) {
          try {
            if (tries > 0) await new Promise((r) => setTimeout(r, PARAMS_EXPIRED_RETRY_DELAY_MS * tries));
            s = await sessions.refresh(s, (e.details?.reason as "params_expired") ?? "params_expired");
            continue;
          } catch (re) {
            pool.markFailure(s.uri, (re as Error).message);
            return fail((re as Error).message);
          }
        }
        const code = e instanceof LivepayError ? e.code : "PAYMENT_FAILED";
        this.#d.log.warn({ err: e, orchestrator: s.uri, code }, "cannot pay orchestrator");
        return fail(`${code}: ${(e as Error).message}`, { paymentError: true });
      }
      tickets += p.numTickets;
      ev = ev.add(p.evSent);
      const t0 = Date.now();
      let res: UpstreamResponse;
      try {
        res = await postUpstream(
          s.httpBase + PIPELINE_ROUTES[job.pipeline],
          {
            ...p.headers,
            "content-type": up.contentType,
            accept: job.stream ? "text/event-stream" : "application/json",
          },
          up.body,
          { signal, headersTimeoutMs: config.requestTimeoutMs },
        );
      } catch (e) {
        const delivered = e instanceof UpstreamError ? e.delivered : true;
        await payer.complete(p, delivered ? "creditSpent" : "staged");
        if (!delivered) {
          tickets -= p.numTickets;
          ev = ev.sub(p.evSent);
        }
        if (!signal.aborted) {
          pool.markFailure(s.uri, (e as Error).message);
          sessions.dropOrchestrator(s.uri);
        }
        return fail((e as Error).message);
      }
      if (res.status !== 200) {
        const body = await readBody(res.body, ERROR_BODY_LIMIT).catch(() => Buffer.alloc(0));
        const msg = upstreamErrorMessage(body);
        await payer.complete(p, "creditSpent");
        if (/ticketparams expired|invalid recipientrand/i.test(msg) && tries === 0) {
          // Retryable (go-livepeer): fresh params, same orchestrator. An invalid recipientRand also
          // means stale params here, e.g. issued in round 0 while the gateway already saw round 1
          // (spec §3.1: round-0 params take the sender's own round, so the views must agree).
          try {
            s = await sessions.refresh(s, "orchestrator_refused");
            continue;
          } catch (re) {
            pool.markFailure(s.uri, (re as Error).message);
            return fail((re as Error).message);
          }
        }
        const code = orchestratorErrorCode(body);
        if (code === "insufficient_balance" && tries === 0) {
          // The orchestrator holds less credit than the gateway's view: the balance was just written
          // off ("creditSpent"), so a second try stages the whole fee in tickets.
          continue;
        }
        if (/sendernonce|recipientrand|auth token|segment/i.test(msg))
          void sessions.refresh(s, "orchestrator_refused").catch(() => undefined);
        if (res.status === 400 && CLIENT_ERROR_CODES.has(code ?? "")) {
          return fail(msg, { clientError: msg });
        }
        pool.markFailure(s.uri, `HTTP ${res.status}: ${msg}`);
        return fail(`${s.uri} answered ${res.status}: ${msg}`);
      }
      const latency = Date.now() - t0;
      if (job.stream) return this.#stream(job, model, s, p, res, sink!, signal, latency, tickets, ev);
      let result: ClientResult;
      try {
        const body = await readBody(res.body, RESPONSE_LIMIT);
        result = job.finish(body, model);
      } catch (e) {
        await payer.complete(p, "creditSpent");
        pool.markFailure(s.uri, `bad answer: ${(e as Error).message}`);
        return fail(`${s.uri} answered badly: ${(e as Error).message}`);
      }
      await payer.complete(p, "receivedChange", s.price.mul(result.units));
      pool.markSuccess(s.uri, latency);
      return { ok: true, result, session: s, tickets, ev };
    }
    return fail("ticket params kept expiring");
  }

  /** Relays an LLM SSE stream; fails over only if nothing was sent to the client yet. */
  async #stream(
    job: Job,
    model: string,
    s: PricedSession,
    p: PreparedPayment,
    res: UpstreamResponse,
    sink: StreamSink,
    signal: AbortSignal,
    latency: number,
    tickets: number,
    ev: Rational,
  ): Promise<Attempt> {
    const { payer, pool } = this.#d;
    const ct = String(res.headers["content-type"] ?? "");
    if (!ct.includes("text/event-stream")) {
      res.body.destroy();
      await payer.complete(p, "creditSpent");
      pool.markFailure(s.uri, `expected an event stream, got ${ct}`);
      return { ok: false, reason: `${s.uri} did not stream (${ct})`, tickets, ev };
    }
    let text = "";
    const write = (t: string) => {
      text += t;
      if (!sink.closed) sink.write(t);
    };
    let started = false;
    let counted = 0n;
    let usageTokens: bigint | undefined;
    let promptTokens = 0;
    let completed = false;
    let failure: string | undefined;
    let lastId = "";
    let created = Math.floor(Date.now() / 1000);
    try {
      for await (const event of parseSse(res.body)) {
        if (sink.closed || signal.aborted) break;
        if (event.data === "[DONE]") {
          completed = true;
          break;
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
          failure = typeof chunk.error === "string" ? chunk.error : JSON.stringify(chunk.error).slice(0, 500);
          break;
        }
        const usage = chunk.usage as Record<string, unknown> | undefined | null;
        if (usage && typeof usage.completion_tokens === "number") {
          usageTokens = BigInt(Math.max(0, Math.floor(usage.completion_tokens)));
          if (typeof usage.prompt_tokens === "number") promptTokens = usage.prompt_tokens;
        }
        const choices = Array.isArray(chunk.choices) ? (chunk.choices as Record<string, unknown>[]) : [];
        for (const c of choices) {
          const d = (c.delta ?? {}) as Record<string, unknown>;
          const has = (v: unknown) =>
            (typeof v === "string" && v !== "") || (Array.isArray(v) && v.length > 0);
          if (has(d.content) || has(d.reasoning_content) || has(d.tool_calls)) counted++;
        }
        if (typeof chunk.id === "string") lastId = chunk.id;
        if (typeof chunk.created === "number") created = chunk.created;
        if (!started) {
          sink.start();
          started = true;
        }
        if (job.api === "livepeer") write(`data: ${event.data}\n\n`);
        else if (choices.length > 0) write(`data: ${JSON.stringify({ ...chunk, model })}\n\n`);
      }
    } catch (e) {
      failure = (e as Error).message;
    }
    if (sink.closed || signal.aborted)
      failure = undefined; // the client left: not the orchestrator's fault
    else if (!completed && failure === undefined) failure = "stream ended early";
    if (!completed) res.body.destroy();
    const units = (() => {
      const u = usageTokens ?? counted;
      return u > job.units.maximum ? job.units.maximum : u;
    })();
    if (completed && !started && !sink.closed) {
      // A complete but empty answer (e.g. a stop sequence hit at once) is still an answer.
      sink.start();
      started = true;
    }
    if (!started) {
      // Nothing reached the client: another orchestrator may still serve it.
      await payer.complete(p, "creditSpent");
      if (sink.closed || signal.aborted) return { ok: false, reason: "client went away", tickets, ev };
      pool.markFailure(s.uri, `stream failed before the first byte: ${failure}`);
      return { ok: false, reason: `${s.uri} stream failed before the first byte: ${failure}`, tickets, ev };
    }
    if (completed && job.api === "openai" && job.includeUsage) {
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
    if (completed || failure !== undefined) write("data: [DONE]\n\n");
    // The sink is ended by `execute`, after the charge is committed.
    // The orchestrator debits the units it produced; an interrupted stream may have produced more
    // than arrived here, so the gateway's view of its credit assumes the estimate was used.
    const debit = completed ? s.price.mul(units) : estimateAIFee(job.units.maximum, s.price);
    await payer.complete(p, "receivedChange", debit);
    if (completed) pool.markSuccess(s.uri, latency);
    else if (failure !== undefined && !signal.aborted && !sink.closed)
      pool.markFailure(s.uri, `stream failed: ${failure}`);
    return {
      ok: true,
      result: { units, contentType: "text/event-stream", body: Buffer.alloc(0) },
      streamed: { text, completed },
      session: s,
      tickets,
      ev,
    };
  }
}
