// HTTP routes of the persistent-ticket payee on the orchestrator's fastify server:
// POST /v1/chat/completions (OpenAI-compatible, paid with Livepay-Voucher) and GET /receipts/:quoteId.
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
  llmOutputContent,
  requestContent,
  requestHash,
  signedReceiptToJson,
  type Hex,
  type Rational,
} from "@livepay/protocol";
import { LlmOutputCollector } from "@livepay/protocol/client";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { RunnerError } from "../runners/errors.js";
import type { LlmRunner, Runner } from "../runners/runner.js";
import { formatSse } from "../runners/sse.js";
import type { LlmRequest } from "../runners/types.js";
import { parseJob, pickRunner, runJob } from "../orchestrator/jobs.js";
import { PayeeError, type Admitted, type PersistentPayee } from "./payee.js";

export interface PersistentRoutesOptions {
  payee: PersistentPayee;
  runners: readonly Runner[];
  /** This orchestrator's price for a model, exact wei per unit. */
  price: (pipeline: "llm", modelId: string) => Rational | undefined;
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
  app.post("/v1/chat/completions", (req, reply) => handleLlm(o, req, reply));
}

async function handleLlm(
  o: PersistentRoutesOptions,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  let admitted: Admitted | undefined;
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
    const runner = pickRunner(
      o.runners,
      "llm",
      typeof body.model === "string" ? body.model : undefined,
    ) as LlmRunner;
    const job = await parseJob(runner, { kind: "json", value: body });
    const price = o.price("llm", runner.modelId);
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
        capability: "llm",
        model: typeof body.model === "string" ? body.model : runner.modelId,
        price,
        estUnits: job.bounds.estimate,
        maxUnits: job.bounds.maximum,
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
    admitted = await o.payee.admit(payer, env, rh, requestContent(text, "application/json"));

    const controller = new AbortController();
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
    if (job.stream) {
      await streamLlm(o, runner, job.request as LlmRequest, admitted, controller, reply);
      return;
    }
    let result: { output: unknown; usage: { units: bigint } };
    try {
      result = await runJob(runner, job.request, controller.signal);
    } catch (e) {
      // Cancelled: charge what was produced; any other failure delivered nothing.
      const produced = e instanceof RunnerError && e.code === "CANCELLED" ? (e.usage?.units ?? 0n) : 0n;
      const signed = o.payee.finish(admitted, produced, llmOutputContent([]));
      if (!reply.raw.headersSent) reply.header(LIVEPAY_RECEIPT_HEADER, encodeReceiptHeader(signed));
      throw e;
    }
    const collector = new LlmOutputCollector();
    collector.add(result.output);
    const response = JSON.stringify(result.output);
    // Persisted before it is sent (finish commits the receipt).
    const signed = o.payee.finish(
      admitted,
      result.usage.units,
      llmOutputContent(collector.choices()),
      response,
    );
    await reply
      .status(200)
      .header("content-type", "application/json")
      .header(LIVEPAY_RECEIPT_HEADER, encodeReceiptHeader(signed))
      .send(response);
  } catch (e) {
    const { status, body } = toHttp(e);
    if (status >= 500)
      o.logger.warn({ err: e instanceof Error ? e.message : String(e) }, "persistent request failed");
    if (!reply.sent && !reply.raw.headersSent) await reply.status(status).send(body);
  }
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
