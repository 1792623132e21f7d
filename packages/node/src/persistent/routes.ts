// HTTP routes of the persistent-ticket payee on the orchestrator's fastify server, OpenAI-compatible
// and paid with Livepay-Voucher: POST /v1/chat/completions, /v1/images/generations, /v1/images/edits,
// /v1/audio/transcriptions, /v1/audio/speech; and GET /receipts/:quoteId.
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import {
  LIVEPAY_PAYER_HEADER,
  LIVEPAY_RECEIPT_HEADER,
  LIVEPAY_TICKET_HEADER,
  LIVEPAY_VOUCHER_HEADER,
  LivepayError,
  audioOutputContent,
  bytesToHex,
  canonicalJson,
  decodeVoucherHeader,
  encodeReceiptHeader,
  formRequestView,
  formatReceiptEvent,
  imageCount,
  imageOutputContent,
  imageSize,
  isMultipartContentType,
  isWav,
  keccak256,
  llmOutputContent,
  parseMultipart,
  requestUnitBound,
  signedReceiptToJson,
  transcriptOutputContent,
  unitsFor,
  utf8,
  type Hex,
  type Rational,
} from "@livepay/protocol";
import { LlmOutputCollector } from "@livepay/protocol/client";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { RunnerError } from "../runners/errors.js";
import { probeImageSize } from "../runners/imageSize.js";
import type { LlmRunner, Runner } from "../runners/runner.js";
import { formatSse } from "../runners/sse.js";
import { parseDataUri } from "../runners/dataUri.js";
import type { AudioResponse, ImageResponse, LlmRequest, Pipeline, TextResponse } from "../runners/types.js";
import { parseJob, pickRunner, runJob, type JobBody, type ParsedJob } from "../orchestrator/jobs.js";
import { PayeeError, emptyOutputContent, type Admitted, type PersistentPayee } from "./payee.js";
import type { StoredResponse } from "./store.js";

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
  app.post("/v1/images/edits", (req, reply) => handlePaid(o, IMAGE_EDITS_ROUTE, req, reply));
  app.post("/v1/audio/transcriptions", (req, reply) => handlePaid(o, TRANSCRIPTIONS_ROUTE, req, reply));
  app.post("/v1/audio/speech", (req, reply) => handlePaid(o, SPEECH_ROUTE, req, reply));
}

/**
 * A request as the payee reads it: the view units are computed from (the JSON body, or a multipart
 * form's `formRequestView`), the form itself, and the content its hashes cover.
 */
interface ReadRequest {
  view: Record<string, unknown>;
  form: FormData | undefined;
  /** `requestContent` of the body: canonical JSON, or the multipart bytes exactly as received. */
  content: Uint8Array;
  hash: Hex;
}

/** What differs between the paid routes: the pipeline, the body kind, the runner's body, the answer. */
interface PaidRoute {
  pipeline: Exclude<Pipeline, "embeddings">;
  /** The OpenAI body is a multipart form (uploads) rather than JSON. */
  multipart: boolean;
  /** The body `parseJob` reads for this pipeline; a PayeeError 400 for what the route cannot serve. */
  runnerBody(r: ReadRequest): JobBody;
  /** Runs an admitted job, finishes its receipt (exactly once) and answers. */
  serve(s: Serving): Promise<void>;
}

/** An admitted request being served. */
interface Serving {
  o: PersistentRoutesOptions;
  runner: Runner;
  job: ParsedJob;
  request: ReadRequest;
  admitted: Admitted;
  controller: AbortController;
  reply: FastifyReply;
}

/** What a finished unary job is charged and answers (the answer is also kept for replays). */
interface Rendered {
  units: bigint;
  outputContent: Uint8Array;
  response: StoredResponse;
}

function json(value: unknown): StoredResponse {
  return { body: utf8(JSON.stringify(value)), contentType: "application/json" };
}

/** The bytes as a Buffer view (no copy: answers can be whole audio files). */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function badRequest(message: string, code = "BAD_REQUEST"): PayeeError {
  return new PayeeError(code, message, 400);
}

/** The `response_format` of a request, one of `allowed` (the first when absent), else a 400. */
function responseFormat<T extends string>(view: Record<string, unknown>, allowed: readonly T[]): T {
  const f = view.response_format ?? allowed[0];
  if (!allowed.includes(f as T)) {
    throw badRequest(`response_format must be ${allowed.map((a) => `"${a}"`).join(" or ")}`);
  }
  return f as T;
}

const LLM_ROUTE: PaidRoute = {
  pipeline: "llm",
  multipart: false,
  runnerBody: (r) => ({ kind: "json", value: r.view }),
  serve: (s) =>
    s.job.stream
      ? streamLlm(s.o, s.runner as LlmRunner, s.job.request as LlmRequest, s.admitted, s.controller, s.reply)
      : serveUnary(s, (output, units) => {
          const collector = new LlmOutputCollector();
          collector.add(output);
          return { units, outputContent: llmOutputContent(collector.choices()), response: json(output) };
        }),
};

const IMAGE_FORMATS = ["url", "b64_json"] as const;

/**
 * Answers an image job as OpenAI does (`data[]` of `url` or `b64_json`), charged `unitsFor` w × h ×
 * delivered; the outputHash is over the image files (an upstream URL that is not a `data:` URI is
 * hashed as its text).
 */
function serveImages(s: Serving): Promise<void> {
  return serveUnary(s, (output) => {
    const view = s.request.view;
    const images = (output as ImageResponse).images.slice(0, Number(imageCount(view)));
    const files = images.map((m) =>
      m.url.startsWith("data:") ? new Uint8Array(parseDataUri(m.url).data) : utf8(m.url),
    );
    const b64 = view.response_format === "b64_json";
    const data = images.map((m, i) =>
      b64 ? { b64_json: Buffer.from(files[i]!).toString("base64") } : { url: m.url },
    );
    return {
      units: unitsFor(s.runner.pipeline as "text-to-image" | "image-to-image", view, {
        delivered: images.length,
      }),
      outputContent: imageOutputContent(files),
      response: json({ created: Math.floor(Date.now() / 1000), data }),
    };
  });
}

/**
 * OpenAI `POST /v1/images/generations` on the text-to-image runner. Size and count are read with the
 * protocol's `imageSize`/`imageCount`, the same functions the payer bounds the quote with, so the
 * runner renders exactly what is billed.
 */
const IMAGES_ROUTE: PaidRoute = {
  pipeline: "text-to-image",
  multipart: false,
  runnerBody: ({ view }) => {
    responseFormat(view, IMAGE_FORMATS);
    const { width, height } = imageSize(view);
    return {
      kind: "json",
      value: {
        prompt: view.prompt,
        width: Number(width),
        height: Number(height),
        num_images_per_prompt: Number(imageCount(view)),
        ...(view.seed !== undefined ? { seed: view.seed } : {}),
        ...(view.negative_prompt !== undefined ? { negative_prompt: view.negative_prompt } : {}),
      },
    };
  },
  serve: serveImages,
};

/**
 * OpenAI `POST /v1/images/edits` (multipart: one `image` file, `prompt`, `n`, `size`,
 * `response_format`, `model`) on the image-to-image runner. The runner renders at the input image's
 * size, so the billed size — `size`, default 512x512 as the protocol's `imageSize` reads it — must be
 * that size: the quote's w × h × n is then exactly what is rendered.
 */
const IMAGE_EDITS_ROUTE: PaidRoute = {
  pipeline: "image-to-image",
  multipart: true,
  runnerBody: ({ view, form }) => {
    responseFormat(view, IMAGE_FORMATS);
    if (view.mask !== undefined) throw badRequest("mask is not supported");
    const files = [...form!.getAll("image"), ...form!.getAll("image[]")];
    const file = files[0];
    if (files.length !== 1 || typeof file === "string" || file === undefined) {
      throw badRequest("exactly one image file is required (image)");
    }
    const image = (view.image ?? view["image[]"]) as Uint8Array;
    const { width, height } = imageSize(view);
    const input = probeImageSize(image);
    if (BigInt(input.width) !== width || BigInt(input.height) !== height) {
      throw badRequest(
        `size must be the input image's size ${input.width}x${input.height} (the output has the input's size)`,
      );
    }
    const out = new FormData();
    out.set("image", file);
    if (typeof view.prompt === "string") out.set("prompt", view.prompt);
    out.set("num_images_per_prompt", String(imageCount(view)));
    for (const k of ["seed", "negative_prompt"]) {
      if (typeof view[k] === "string") out.set(k, view[k] as string);
    }
    return { kind: "form", value: out };
  },
  serve: serveImages,
};

const TRANSCRIPT_FORMATS = ["json", "text", "verbose_json"] as const;

/**
 * OpenAI `POST /v1/audio/transcriptions` (multipart: `file`, `model`, `response_format` json | text |
 * verbose_json) on the audio-to-text runner. Units are the decoded input milliseconds, measured by
 * the runner's WAV reader before the quote (estUnits = maxUnits = the duration); a file that is not
 * WAV cannot be measured and is refused (400 `unsupported_audio_format`). The outputHash covers the
 * transcript text (`transcriptOutputContent`), whatever the format.
 */
const TRANSCRIPTIONS_ROUTE: PaidRoute = {
  pipeline: "audio-to-text",
  multipart: true,
  runnerBody: ({ view, form }) => {
    const format = responseFormat(view, TRANSCRIPT_FORMATS);
    const file = form!.get("file");
    if (typeof file === "string" || file === null || !(view.file instanceof Uint8Array)) {
      throw badRequest("one audio file is required (file)");
    }
    if (!isWav(view.file)) {
      throw badRequest(
        "audio must be WAV (RIFF/WAVE): its duration is measured before the quote, other formats cannot be",
        "UNSUPPORTED_AUDIO_FORMAT",
      );
    }
    const out = new FormData();
    out.set("audio", file);
    if (format === "verbose_json") out.set("return_timestamps", "true");
    return { kind: "form", value: out };
  },
  serve: (s) =>
    serveUnary(s, (output) => {
      const { text, chunks } = output as TextResponse;
      const ms = s.job.bounds.maximum;
      const format = responseFormat(s.request.view, TRANSCRIPT_FORMATS);
      const response: StoredResponse =
        format === "text"
          ? { body: utf8(text), contentType: "text/plain; charset=utf-8" }
          : format === "json"
            ? json({ text })
            : json({
                task: "transcribe",
                duration: Number(ms) / 1000,
                text,
                segments: chunks.map((c, id) => ({
                  id,
                  start: c.timestamp[0],
                  end: c.timestamp[1],
                  text: c.text,
                })),
              });
      return {
        units: unitsFor("audio-to-text", s.request.view, { durationMs: ms }),
        outputContent: transcriptOutputContent(text),
        response,
      };
    }),
};

/**
 * OpenAI `POST /v1/audio/speech` (JSON: `model`, `input`, `voice`, `response_format`) on the
 * text-to-speech runner; the answer is the audio file itself (binary, the runner's media type; only
 * `wav` is produced). Units = `ttsUnits(input)`, known at quote time; the outputHash covers the
 * audio bytes sent (`audioOutputContent`).
 */
const SPEECH_ROUTE: PaidRoute = {
  pipeline: "text-to-speech",
  multipart: false,
  runnerBody: ({ view }) => {
    responseFormat(view, ["wav"] as const);
    if (typeof view.input !== "string") throw badRequest("input must be a string");
    return {
      kind: "json",
      value: { text: view.input, ...(typeof view.voice === "string" ? { description: view.voice } : {}) },
    };
  },
  serve: (s) =>
    serveUnary(s, (output) => {
      const url = (output as AudioResponse).audio.url;
      if (!url.startsWith("data:")) throw new RunnerError("UPSTREAM_ERROR", "runner answered no audio data");
      const { mediaType, data } = parseDataUri(url);
      const audio = new Uint8Array(data);
      return {
        units: unitsFor("text-to-speech", s.request.view, {}),
        outputContent: audioOutputContent(audio),
        response: { body: audio, contentType: mediaType },
      };
    }),
};

/** Reads the body as the route expects it; a body of the wrong kind or a malformed form is a 400. */
async function readRequest(route: PaidRoute, req: FastifyRequest): Promise<ReadRequest> {
  let content: Uint8Array;
  let view: Record<string, unknown>;
  let form: FormData | undefined;
  if (route.multipart) {
    const ct = header(req, "content-type") ?? "";
    if (!Buffer.isBuffer(req.body) || !isMultipartContentType(ct)) {
      throw badRequest("expected a multipart/form-data body");
    }
    // The multipart parser of the orchestrator's server keeps the bytes as received: hashed as is.
    content = new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.byteLength);
    form = await parseMultipart(content, ct);
    view = await formRequestView(form);
  } else {
    if (typeof req.body !== "object" || req.body === null || Buffer.isBuffer(req.body)) {
      throw badRequest("expected a JSON body");
    }
    // JSON bodies hash by their canonical form (what `requestContent` gives), taken from the parsed value.
    content = utf8(canonicalJson(req.body));
    view = req.body as Record<string, unknown>;
  }
  return { view, form, content, hash: bytesToHex(keccak256(content)) };
}

/**
 * The paid request flow shared by every route: no voucher → 402 with a signed quote bound to the
 * request hash (`maxUnits` = the runner's cap, never above what the request itself allows, which the
 * payer checks); a voucher → admission, the job, a receipt persisted then sent; a retried quote id →
 * the same receipt and response bytes, never a second charge.
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
    const request = await readRequest(route, req);
    const model = typeof request.view.model === "string" ? request.view.model : undefined;
    const runner = pickRunner(o.runners, route.pipeline, model);
    const job = await parseJob(runner, route.runnerBody(request));
    const price = o.price(route.pipeline, runner.modelId);
    if (!price) throw new PayeeError("MODEL_NOT_FOUND", "no price for this model", 400);

    const voucherHeader = header(req, LIVEPAY_VOUCHER_HEADER);
    if (voucherHeader === undefined) {
      const t = header(req, LIVEPAY_TICKET_HEADER);
      if (t !== undefined && !/^\d{1,10}$/.test(t)) throw badRequest("bad Livepay-Ticket");
      const bound = requestUnitBound(route.pipeline, request.view);
      const cap = job.bounds.maximum;
      const pr = await o.payee.quote({
        payer,
        ticket: t === undefined ? undefined : BigInt(t),
        requestHash: request.hash,
        capability: route.pipeline,
        model: model ?? runner.modelId,
        price,
        estUnits: job.bounds.estimate,
        maxUnits: bound !== undefined && bound < cap ? bound : cap,
      });
      await reply.status(402).header("x-should-retry", "false").send(pr);
      return;
    }

    const env = decodeVoucherHeader(voucherHeader);
    // Idempotent per quote id: a retry gets the same receipt and bytes, never a second charge.
    const prior = o.payee.existing(env.quoteId);
    if (prior) {
      if (prior.payer !== payer) throw new PayeeError("UNKNOWN_QUOTE", "unknown quote", 400);
      if (prior.status === "inflight" || !prior.receipt) {
        throw new PayeeError("TICKET_BUSY", "this quote is being served", 409);
      }
      const replay = prior.response ?? json({ replay: true }); // a stream's events are not kept
      await reply
        .status(200)
        .header(LIVEPAY_RECEIPT_HEADER, encodeReceiptHeader(prior.receipt))
        .header("content-type", replay.contentType)
        .send(asBuffer(replay.body));
      return;
    }
    const admitted = await o.payee.admit(payer, env, request.hash, request.content);

    const controller = new AbortController();
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
    await route.serve({ o, runner, job, request, admitted, controller, reply });
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
  const empty = emptyOutputContent(s.runner.pipeline);
  let result: { output: unknown; usage: { units: bigint } };
  try {
    result = await runJob(s.runner, s.job.request, s.controller.signal);
  } catch (e) {
    // Cancelled: charge what was produced; any other failure delivered nothing.
    const produced = e instanceof RunnerError && e.code === "CANCELLED" ? (e.usage?.units ?? 0n) : 0n;
    const signed = s.o.payee.finish(s.admitted, produced, empty);
    if (!s.reply.raw.headersSent) s.reply.header(LIVEPAY_RECEIPT_HEADER, encodeReceiptHeader(signed));
    throw e;
  }
  let r: Rendered;
  try {
    r = render(result.output, result.usage.units);
  } catch (e) {
    // An output this payee cannot answer with was not delivered: a zero-unit receipt frees the ticket.
    const signed = s.o.payee.finish(s.admitted, 0n, empty);
    s.reply.header(LIVEPAY_RECEIPT_HEADER, encodeReceiptHeader(signed));
    throw e;
  }
  // Persisted before it is sent (finish commits the receipt and the response bytes).
  const signed = s.o.payee.finish(s.admitted, r.units, r.outputContent, r.response);
  await s.reply
    .status(200)
    .header("content-type", r.response.contentType)
    .header(LIVEPAY_RECEIPT_HEADER, encodeReceiptHeader(signed))
    .send(asBuffer(r.response.body));
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
    const signed = o.payee.finish(admitted, 0n, emptyOutputContent("llm"));
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
