// HTTP routes of the persistent-ticket payee on the orchestrator's fastify server, OpenAI-compatible
// and paid with Livepay-Voucher: POST /v1/chat/completions, POST /v1/images/generations; and
// GET /receipts/:quoteId.
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import {
  LIVEPAY_PAYER_HEADER,
  LIVEPAY_RECEIPT_HEADER,
  LIVEPAY_TICKET_HEADER,
  LIVEPAY_VOUCHER_HEADER,
  LivepayError,
  decodeVoucherHeader,
  encodeReceiptHeader,
  formatReceiptEvent,
  imageCount,
  imageOutputContent,
  imageSize,
  llmOutputContent,
  requestContent,
  requestHash,
  requestUnitBound,
  signedReceiptToJson,
  unitsFor,
  utf8,
  type Hex,
  type Rational,
} from "@livepay/protocol";
import { LlmOutputCollector } from "@livepay/protocol/client";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { RunnerError } from "../runners/errors.js";
import type { LlmRunner, Runner } from "../runners/runner.js";
import { formatSse } from "../runners/sse.js";
import { parseDataUri } from "../runners/dataUri.js";
import type { ImageResponse, LlmRequest, Pipeline } from "../runners/types.js";
import { parseJob, pickRunner, runJob, type ParsedJob } from "../orchestrator/jobs.js";
import { PayeeError, type Admitted, type PersistentPayee } from "./payee.js";

export interface PersistentRoutesOptions {
  payee: PersistentPayee;
  runners: readonly Runner[];
  /** This orchestrator's price for a model, exact wei per unit. */
  price: (pipeline: Pipeline, modelId: string) => Rational | undefined;
  logger: Logger;
}

function errorBody(code: string, message: string): unknown {
  return { error: { message, type: "livepay_error", code: code.toLowerCase() } };
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return typeof v === "string" ? v : undefined;
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

/**
 * Adds the persistent-ticket routes to a fastify app (before it listens).
 * @example registerPersistentRoutes(app, { payee, runners, price: (p, m) => book.price(p, m), logger })
 */
export function registerPersistentRoutes(app: FastifyInstance, o: PersistentRoutesOptions): void {
  app.get("/receipts/:quoteId", async (req, reply) => {
    const quoteId = String((req.params as { quoteId?: unknown }).quoteId ?? "").toLowerCase() as Hex;
    const r = /^0x[0-9a-f]{64}$/.test(quoteId) ? o.payee.receipt(quoteId) : undefined;
    if (!r) return reply.status(404).send(errorBody("RECEIPT_NOT_FOUND", "no receipt for this quote"));
    return reply.status(200).send(signedReceiptToJson(r));
  });
  app.post("/v1/chat/completions", (req, reply) => handlePaid(o, LLM_ROUTE, req, reply));
  app.post("/v1/images/generations", (req, reply) => handlePaid(o, IMAGES_ROUTE, req, reply));
}

/** What differs between the paid routes: the pipeline, the runner's body, the bound, the answer. */
interface PaidRoute {
  pipeline: "llm" | "text-to-image";
  /** The body `parseJob` reads for this pipeline, from the OpenAI body. */
  runnerBody(body: Record<string, unknown>): unknown;
  /** The quote's `maxUnits`: never above what the request itself allows (the payer checks it). */
  maxUnits(body: Record<string, unknown>, job: ParsedJob): bigint;
  /** Runs an admitted job, finishes its receipt (exactly once) and answers. */
  serve(s: Serving): Promise<void>;
}

/** An admitted request being served. */
interface Serving {
  o: PersistentRoutesOptions;
  runner: Runner;
  job: ParsedJob;
  body: Record<string, unknown>;
  admitted: Admitted;
  controller: AbortController;
  reply: FastifyReply;
}

/** The output content of a request that delivered nothing (its zero-unit receipt's outputHash). */
function emptyOutput(pipeline: Pipeline): Uint8Array {
  return pipeline === "llm" ? llmOutputContent([]) : imageOutputContent([]);
}

/** What a finished unary job is charged and answers. */
interface Rendered {
  units: bigint;
  outputContent: Uint8Array;
  response: string;
}

const LLM_ROUTE: PaidRoute = {
  pipeline: "llm",
  runnerBody: (body) => body,
  maxUnits: (_body, job) => job.bounds.maximum,
  serve: (s) =>
    s.job.stream
      ? streamLlm(s.o, s.runner as LlmRunner, s.job.request as LlmRequest, s.admitted, s.controller, s.reply)
      : serveUnary(s, (output, units) => {
          const collector = new LlmOutputCollector();
          collector.add(output);
          return {
            units,
            outputContent: llmOutputContent(collector.choices()),
            response: JSON.stringify(output),
          };
        }),
};

/**
 * OpenAI `POST /v1/images/generations` on the text-to-image runner. Size and count are read with the
 * protocol's `imageSize`/`imageCount`, the same functions the payer bounds the quote with, so the
 * runner renders exactly what is billed.
 */
const IMAGES_ROUTE: PaidRoute = {
  pipeline: "text-to-image",
  runnerBody: (body) => {
    const format = body.response_format ?? "url";
    if (format !== "url" && format !== "b64_json") {
      throw new PayeeError("BAD_REQUEST", 'response_format must be "url" or "b64_json"', 400);
    }
    const { width, height } = imageSize(body);
    return {
      prompt: body.prompt,
      width: Number(width),
      height: Number(height),
      num_images_per_prompt: Number(imageCount(body)),
      ...(body.seed !== undefined ? { seed: body.seed } : {}),
      ...(body.negative_prompt !== undefined ? { negative_prompt: body.negative_prompt } : {}),
    };
  },
  maxUnits: (body, job) => {
    const bound = requestUnitBound("text-to-image", body) ?? job.bounds.maximum;
    return job.bounds.maximum < bound ? job.bounds.maximum : bound;
  },
  serve: (s) =>
    serveUnary(s, (output) => {
      const n = Number(imageCount(s.body));
      const images = (output as ImageResponse).images.slice(0, n);
      // The hash is over the image files; an upstream URL (not a data: URI) is hashed as its text.
      const files = images.map((m) =>
        m.url.startsWith("data:") ? new Uint8Array(parseDataUri(m.url).data) : utf8(m.url),
      );
      const b64 = s.body.response_format === "b64_json";
      const data = images.map((m, i) =>
        b64 ? { b64_json: Buffer.from(files[i]!).toString("base64") } : { url: m.url },
      );
      return {
        units: unitsFor("text-to-image", s.body, { delivered: images.length }),
        outputContent: imageOutputContent(files),
        response: JSON.stringify({ created: Math.floor(Date.now() / 1000), data }),
      };
    }),
};

/**
 * The paid request flow shared by every route: no voucher → 402 with a signed quote bound to the
 * request hash; a voucher → admission, the job, a receipt persisted then sent; a retried quote id →
 * the same receipt and response, never a second charge.
 */
async function handlePaid(
  o: PersistentRoutesOptions,
  route: PaidRoute,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  try {
    const payerHeader = (header(req, LIVEPAY_PAYER_HEADER) ?? "").toLowerCase();
    if (!/^0x[0-9a-f]{40}$/.test(payerHeader)) {
      throw new PayeeError(
        "PAYER_REQUIRED",
        `${LIVEPAY_PAYER_HEADER} header required (persistent tickets)`,
        401,
      );
    }
    const payer = payerHeader as Hex;
    if (typeof req.body !== "object" || req.body === null || Buffer.isBuffer(req.body)) {
      throw new PayeeError("BAD_REQUEST", "expected a JSON body", 400);
    }
    // JSON bodies hash by their canonical form, so re-serializing the parsed value is exact.
    const text = JSON.stringify(req.body);
    const rh = requestHash(text, "application/json");
    const body = req.body as Record<string, unknown>;
    const model = typeof body.model === "string" ? body.model : undefined;
    const runner = pickRunner(o.runners, route.pipeline, model);
    const job = await parseJob(runner, { kind: "json", value: route.runnerBody(body) });
    const price = o.price(route.pipeline, runner.modelId);
    if (!price) throw new PayeeError("MODEL_NOT_FOUND", "no price for this model", 400);

    const voucherHeader = header(req, LIVEPAY_VOUCHER_HEADER);
    if (voucherHeader === undefined) {
      const t = header(req, LIVEPAY_TICKET_HEADER);
      if (t !== undefined && !/^\d{1,10}$/.test(t))
        throw new PayeeError("BAD_REQUEST", "bad Livepay-Ticket", 400);
      const pr = await o.payee.quote({
        payer,
        ticket: t === undefined ? undefined : BigInt(t),
        requestHash: rh,
        capability: route.pipeline,
        model: model ?? runner.modelId,
        price,
        estUnits: job.bounds.estimate,
        maxUnits: route.maxUnits(body, job),
      });
      await reply.status(402).header("x-should-retry", "false").send(pr);
      return;
    }

    const env = decodeVoucherHeader(voucherHeader);
    // Idempotent per quote id: a retry gets the same receipt, never a second charge.
    const prior = o.payee.existing(env.quoteId);
    if (prior) {
      if (prior.payer !== payer) throw new PayeeError("UNKNOWN_QUOTE", "unknown quote", 400);
      if (prior.status === "inflight" || !prior.receipt) {
        throw new PayeeError("TICKET_BUSY", "this quote is being served", 409);
      }
      reply
        .header(LIVEPAY_RECEIPT_HEADER, encodeReceiptHeader(prior.receipt))
        .header("content-type", "application/json");
      await reply.status(200).send(prior.response ?? JSON.stringify({ replay: true }));
      return;
    }
    const admitted = await o.payee.admit(payer, env, rh, requestContent(text, "application/json"));

    const controller = new AbortController();
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
    await route.serve({ o, runner, job, body, admitted, controller, reply });
  } catch (e) {
    const { status, body } = toHttp(e);
    if (status >= 500)
      o.logger.warn({ err: e instanceof Error ? e.message : String(e) }, "persistent request failed");
    if (!reply.sent && !reply.raw.headersSent) await reply.status(status).send(body);
  }
}

/**
 * Runs a non-streamed job, charges what `render` measured, persists the receipt with the response,
 * then sends both. A failed job is charged what it produced before a cancellation, else nothing.
 */
async function serveUnary(s: Serving, render: (output: unknown, units: bigint) => Rendered): Promise<void> {
  let result: { output: unknown; usage: { units: bigint } };
  try {
    result = await runJob(s.runner, s.job.request, s.controller.signal);
  } catch (e) {
    // Cancelled: charge what was produced; any other failure delivered nothing.
    const produced = e instanceof RunnerError && e.code === "CANCELLED" ? (e.usage?.units ?? 0n) : 0n;
    const signed = s.o.payee.finish(s.admitted, produced, emptyOutput(s.runner.pipeline));
    if (!s.reply.raw.headersSent) s.reply.header(LIVEPAY_RECEIPT_HEADER, encodeReceiptHeader(signed));
    throw e;
  }
  let r: Rendered;
  try {
    r = render(result.output, result.usage.units);
  } catch (e) {
    // An output this payee cannot answer with was not delivered: a zero-unit receipt frees the ticket.
    const signed = s.o.payee.finish(s.admitted, 0n, emptyOutput(s.runner.pipeline));
    s.reply.header(LIVEPAY_RECEIPT_HEADER, encodeReceiptHeader(signed));
    throw e;
  }
  // Persisted before it is sent (finish commits the receipt).
  const signed = s.o.payee.finish(s.admitted, r.units, r.outputContent, r.response);
  await s.reply
    .status(200)
    .header("content-type", "application/json")
    .header(LIVEPAY_RECEIPT_HEADER, encodeReceiptHeader(signed))
    .send(r.response);
}

function toHttp(e: unknown): { status: number; body: unknown } {
  if (e instanceof PayeeError) return { status: e.status, body: e.body };
  if (e instanceof RunnerError) return { status: e.status, body: errorBody(e.code, e.message) };
  if (e instanceof LivepayError && "status" in e && typeof e.status === "number") {
    return { status: e.status, body: errorBody(e.code, e.message) };
  }
  if (e instanceof LivepayError) return { status: 400, body: errorBody(e.code, e.message) };
  return { status: 500, body: errorBody("INTERNAL", "internal error") };
}

async function streamLlm(
  o: PersistentRoutesOptions,
  runner: LlmRunner,
  request: LlmRequest,
  admitted: Admitted,
  controller: AbortController,
  reply: FastifyReply,
): Promise<void> {
  let stream;
  try {
    stream = await runner.stream(request, { signal: controller.signal });
  } catch (e) {
    const signed = o.payee.finish(admitted, 0n, llmOutputContent([]));
    reply.header(LIVEPAY_RECEIPT_HEADER, encodeReceiptHeader(signed));
    throw e;
  }
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  const collector = new LlmOutputCollector();
  let failure: unknown;
  try {
    for await (const chunk of stream) {
      collector.add(chunk);
      if (!(await write(raw, formatSse(JSON.stringify(chunk)), controller.signal))) {
        controller.abort();
        break;
      }
    }
  } catch (e) {
    failure = e;
  }
  const end = await stream.result;
  // Persisted before the event is written; on disconnect it waits for GET /receipts/{quoteId}.
  const signed = o.payee.finish(admitted, end.usage.units, llmOutputContent(collector.choices()));
  if (failure) {
    const message = failure instanceof Error ? failure.message : String(failure);
    await write(raw, formatSse(JSON.stringify({ error: { message } })), controller.signal);
  }
  await write(raw, formatReceiptEvent(signed), controller.signal);
  await write(raw, "data: [DONE]\n\n", controller.signal);
  raw.end();
}
