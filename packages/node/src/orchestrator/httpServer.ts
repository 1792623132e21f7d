// The orchestrator's HTTP side (fastify): go-livepeer's AI routes with payment headers, /health
// and /metrics.
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  LivepayError,
  MAX_PAYMENT_HEADER_BYTES,
  MAX_SEGMENT_HEADER_BYTES,
  type Rational,
} from "@livepay/protocol";
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Logger } from "pino";
import { RunnerError } from "../runners/errors.js";
import type { LlmRunner, Runner } from "../runners/runner.js";
import { formatSse } from "../runners/sse.js";
import type { LlmRequest, Pipeline } from "../runners/types.js";
import { PIPELINE_ROUTES, manifestIdFor } from "../net/capabilities.js";
import { AI_WORKER_AUTHORIZATION } from "../net/headers.js";
import { OrchestratorError } from "./errors.js";
import { MULTIPART_PIPELINES, parseJob, pickRunner, requestedModelId, runJob, type JobBody } from "./jobs.js";
import type { Hold, Ledger } from "./ledger.js";
import type { OrchestratorMetrics } from "./metrics.js";
import type { PaymentReceiver } from "./paymentReceiver.js";
import type { PriceBook } from "./pricing.js";

/** Response headers with what a job was charged (non-streamed responses; streams end with an SSE comment). */
export const UNITS_HEADER = "Livepay-Units";
export const FEE_HEADER = "Livepay-Fee";

export interface HttpServerOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  runners: readonly Runner[];
  prices: PriceBook;
  receiver: PaymentReceiver;
  ledger: Ledger;
  metrics: OrchestratorMetrics;
  logger: Logger;
  /** Extra routes added before listening (persistent tickets: packages/node/src/persistent). */
  extraRoutes?: (app: FastifyInstance) => void;
}

export interface HttpServerHandle {
  url: string;
  port: number;
  /** Drops every open connection (after `stop` timed out on a hung stream). */
  closeAllConnections(): void;
  stop(): Promise<void>;
}

/** The JSON error body `{error: {message, code, ...details}}` with a lowercase snake_case code. */
function errorBody(code: string, message: string, details?: Readonly<Record<string, unknown>>): unknown {
  return { error: { message, code: code.toLowerCase(), ...(details ?? {}) } };
}

function toHttpError(e: unknown): { status: number; body: unknown } {
  if (e instanceof OrchestratorError)
    return { status: e.status, body: errorBody(e.code, e.message, e.details) };
  if (e instanceof RunnerError) return { status: e.status, body: errorBody(e.code, e.message, e.details) };
  const fe = e as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof fe.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
    // fastify's own refusals: malformed JSON, body too large, unsupported media type.
    return { status: fe.statusCode, body: errorBody(String(fe.code ?? "BAD_REQUEST"), String(fe.message)) };
  }
  if (e instanceof LivepayError) return { status: 400, body: errorBody(e.code, e.message) };
  return { status: 500, body: errorBody("INTERNAL", "internal error") };
}

/**
 * Starts the HTTP server. Each AI route, in order (go-livepeer's order where it has one):
 * 1. `Authorization: Livepeer-AI-Worker-1.0` (else 401);
 * 2. the body is read and the model resolved (unknown model → 400, nothing paid);
 * 3. `Livepeer-Payment` decodes (else 402); `Livepeer-Segment` decodes and is signed by the payment
 *    sender (else 403); its auth token is this orchestrator's and not expired (else 403);
 * 4. the payment is processed and persisted (credit, winners, nonces) — refusals are 400 with
 *    go-livepeer's message;
 * 5. the request is validated by its runner (400), and the balance of (sender, "<cap>_<model>")
 *    must cover the job's maximum units × this orchestrator's price for the model, less the maxima
 *    of the sender's jobs in flight (else 402 `insufficient_balance` with `required` and `balance`);
 * 6. the job runs; the actual units × price are debited (committed) before the response is sent;
 *    a stream cut by the client is charged for the units produced.
 * @example const http = await startHttpServer({ host: "127.0.0.1", port: 0, ... })
 */
export async function startHttpServer(o: HttpServerOptions): Promise<HttpServerHandle> {
  const app = Fastify({
    loggerInstance: o.logger,
    // Each job logs one summary line itself; fastify's per-request lines would double them.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.maxBodyBytes,
    // Node's default (16 KiB for all headers) would refuse payments of more than ~150 tickets with
    // 431 before they reach the protocol's own caps (64 KiB per header, checked before decoding: 402).
    http: { maxHeaderSize: MAX_PAYMENT_HEADER_BYTES + MAX_SEGMENT_HEADER_BYTES + 32 * 1024 },
  });
  app.addContentTypeParser("multipart/form-data", { parseAs: "buffer" }, (_req, body, done) =>
    done(null, body),
  );
  app.setErrorHandler((e, _req, reply) => {
    const { status, body } = toHttpError(e);
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(errorBody("NOT_FOUND", `no route ${req.method} ${req.url}`));
  });

  app.get("/health", async () => ({ status: "OK" }));
  app.get("/metrics", async (_req, reply) => reply.type(o.metrics.contentType).send(await o.metrics.text()));

  const pipelines = new Set(o.runners.map((r) => r.pipeline));
  for (const pipeline of pipelines) {
    app.post(PIPELINE_ROUTES[pipeline], (req, reply) => handleJob(o, pipeline, req, reply));
  }

  o.extraRoutes?.(app as unknown as FastifyInstance);
  await app.listen({ host: o.host, port: o.port });
  const { port } = app.server.address() as AddressInfo;
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}`,
    port,
    closeAllConnections: () => app.server.closeAllConnections(),
    stop: () => app.close(),
  };
}

async function readBody(pipeline: Pipeline, req: FastifyRequest): Promise<JobBody> {
  if (MULTIPART_PIPELINES.has(pipeline)) {
    const raw = req.body;
    if (!Buffer.isBuffer(raw)) throw new RunnerError("BAD_REQUEST", "expected a multipart/form-data body");
    try {
      const form = await new Response(new Uint8Array(raw), {
        headers: { "content-type": String(req.headers["content-type"] ?? "") },
      }).formData();
      return { kind: "form", value: form };
    } catch {
      throw new RunnerError("BAD_REQUEST", "malformed multipart/form-data body");
    }
  }
  if (Buffer.isBuffer(req.body)) throw new RunnerError("BAD_REQUEST", "expected a JSON body");
  return { kind: "json", value: req.body };
}

async function handleJob(
  o: HttpServerOptions,
  pipeline: Pipeline,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const started = performance.now();
  const log: Record<string, unknown> = { pipeline };
  let hold: Hold | undefined;
  try {
    if (req.headers.authorization !== AI_WORKER_AUTHORIZATION) {
      throw new OrchestratorError("UNAUTHORIZED", "Unauthorized", 401);
    }
    const body = await readBody(pipeline, req);
    const runner = pickRunner(o.runners, pipeline, requestedModelId(pipeline, body));
    log.model = runner.modelId;
    const { payment } = o.receiver.checkHeaders(req.headers);
    const sender = payment.sender.toLowerCase() as `0x${string}`;
    log.sender = sender;
    const manifestId = manifestIdFor(pipeline, runner.modelId);
    const received = await o.receiver.receive(payment, manifestId);
    if (received.tickets > 0) log.tickets = received.tickets;

    const job = await parseJob(runner, body);
    // The orchestrator's own price for this model, never the gateway's expected_price.
    const price = o.prices.price(pipeline, runner.modelId)!;
    hold = await o.ledger.hold(sender, manifestId, job.bounds.maximum, price);

    const controller = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) controller.abort();
    };
    reply.raw.on("close", onClose);

    if (job.stream && runner.pipeline === "llm") {
      await streamLlm(o, runner, job.request as LlmRequest, hold, controller, reply, log);
      return;
    }
    let units: bigint;
    let output: unknown;
    try {
      const r = await runJob(runner, job.request, controller.signal);
      units = r.usage.units;
      output = r.output;
    } catch (e) {
      // Cancelled by the client: charge what was produced; any other failure delivered nothing.
      const produced = e instanceof RunnerError && e.code === "CANCELLED" ? (e.usage?.units ?? 0n) : 0n;
      const fee = await o.ledger.settle(hold, produced);
      log.units = produced.toString();
      log.fee = fee.toString();
      throw e;
    }
    const fee = await o.ledger.settle(hold, units);
    log.units = units.toString();
    log.fee = fee.toString();
    o.metrics.requests.inc({ pipeline, status: "200" });
    await reply
      .status(200)
      .header(UNITS_HEADER, units.toString())
      .header(FEE_HEADER, fee.toString())
      .send(output);
    o.logger.info({ ...log, status: 200, ms: Math.round(performance.now() - started) }, "job done");
  } catch (e) {
    if (hold) o.ledger.release(hold);
    const { status, body } = toHttpError(e);
    o.metrics.requests.inc({ pipeline, status: String(status) });
    const level = status >= 500 ? "warn" : "info";
    o.logger[level]({ ...log, status, err: e instanceof Error ? e.message : String(e) }, "job refused");
    if (!reply.sent && !reply.raw.headersSent) await reply.status(status).send(body);
  }
}

async function write(raw: ServerResponse, data: string, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted || raw.destroyed) return false;
  if (raw.write(data)) return true;
  try {
    await once(raw, "drain", { signal });
    return true;
  } catch {
    return false;
  }
}

async function streamLlm(
  o: HttpServerOptions,
  runner: LlmRunner,
  request: LlmRequest,
  hold: Hold,
  controller: AbortController,
  reply: FastifyReply,
  log: Record<string, unknown>,
): Promise<void> {
  const started = performance.now();
  // Errors before the first byte (upstream down, busy) still get a JSON error status.
  const stream = await runner.stream(request, { signal: controller.signal });
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  let failure: unknown;
  try {
    for await (const chunk of stream) {
      if (!(await write(raw, formatSse(JSON.stringify(chunk)), controller.signal))) {
        controller.abort();
        break;
      }
    }
  } catch (e) {
    failure = e;
  }
  const end = await stream.result;
  let fee: Rational;
  try {
    fee = await o.ledger.settle(hold, end.usage.units);
  } catch (e) {
    raw.destroy(e as Error);
    throw e;
  }
  if (failure) {
    const message = failure instanceof Error ? failure.message : String(failure);
    await write(raw, formatSse(JSON.stringify({ error: { message } })), controller.signal);
  }
  // An SSE comment: ignored by SSE clients, readable by livepay's gateway.
  await write(raw, `: livepay units=${end.usage.units} fee=${fee}\n\n`, controller.signal);
  await write(raw, "data: [DONE]\n\n", controller.signal);
  raw.end();
  const status = end.outcome === "completed" ? 200 : end.outcome === "cancelled" ? 499 : 502;
  o.metrics.requests.inc({ pipeline: "llm", status: String(status) });
  o.logger.info(
    {
      ...log,
      status,
      outcome: end.outcome,
      units: end.usage.units.toString(),
      fee: fee.toString(),
      ms: Math.round(performance.now() - started),
    },
    "stream done",
  );
}
