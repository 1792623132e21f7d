// What each gateway route asks of an orchestrator: the pipeline and model, the units it may cost
// (runner-style estimates: LLM max_tokens default 256; images width × height × n; audio decoded
// milliseconds; text-to-speech Unicode scalars after NFC), the body to send to the orchestrator's AI
// route, and how to turn its answer into the client's (OpenAI shapes on /v1, unchanged on the
// Livepeer routes) while counting the units actually delivered.
import { createHash } from "node:crypto";
import { parseDataUri } from "../runners/dataUri.js";
import { RunnerError } from "../runners/errors.js";
import {
  parseAudioToTextForm,
  parseEmbeddingsRequest,
  parseImageToImageForm,
  parseLlmRequest,
  parseTextToImageRequest,
  parseTextToSpeechRequest,
} from "../runners/requests.js";
import type { BinaryInput, Pipeline, UnitBounds } from "../runners/types.js";
import {
  audioBounds,
  countTextTokens,
  embeddingsBounds,
  imageToImageBounds,
  llmBounds,
  textToImageBounds,
  textToSpeechBounds,
} from "../runners/units.js";
import { invalidRequest } from "./errors.js";

/** A request body for the orchestrator. */
export interface UpstreamBody {
  contentType: string;
  body: Buffer;
}

/** What the client gets back, and the units it consumed. */
export interface ClientResult {
  units: bigint;
  contentType: string;
  body: Buffer;
}

/** One client request, ready to be routed and paid. */
export interface Job {
  pipeline: Pipeline;
  /** The model asked for; undefined on Livepeer routes that leave it out (the only offered model is used). */
  model: string | undefined;
  units: UnitBounds;
  /** LLM streaming (SSE). */
  stream: boolean;
  /** OpenAI `stream_options.include_usage`: end the stream with a usage chunk. */
  includeUsage: boolean;
  /** "openai": /v1 shapes; "livepeer": the orchestrator's answer passes through unchanged. */
  api: "openai" | "livepeer";
  /** Hash of the canonical request, for `Idempotency-Key`. */
  fingerprint: string;
  /** The body to POST to the orchestrator's route for `model`. */
  upstream(model: string): Promise<UpstreamBody>;
  /** Converts the orchestrator's 200 answer; throws (an orchestrator fault) when it is malformed. */
  finish(body: Buffer, model: string): ClientResult;
}

type Obj = Record<string, unknown>;

/** Canonical JSON (sorted keys) so that equal requests hash equally whatever the key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object") {
    return `{${Object.keys(v as Obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Obj)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/**
 * Request fingerprint for idempotency: SHA-256 of the route and the canonical body.
 * @example fingerprint("/v1/chat/completions", body) // "9f2c..."
 */
export function fingerprint(route: string, body: unknown): string {
  return createHash("sha256").update(route).update("\u0000").update(canonical(body)).digest("hex");
}

/** Fingerprint of a multipart form: fields and SHA-256 of files, sorted (boundaries differ per send). */
async function formFingerprint(route: string, form: FormData): Promise<string> {
  const parts: string[] = [];
  const entries: [string, FormDataEntryValue][] = [];
  form.forEach((v, k) => entries.push([k, v]));
  for (const [k, v] of entries) {
    if (typeof v === "string") parts.push(`${k}=${v}`);
    else {
      const h = createHash("sha256")
        .update(Buffer.from(await v.arrayBuffer()))
        .digest("hex");
      parts.push(`${k}@${v.name}:${v.type}:${h}`);
    }
  }
  return fingerprint(route, parts.sort());
}

/** A runners/ parser's BAD_REQUEST as the gateway's 400; any other error as it is. */
function asInvalidRequest(e: unknown): unknown {
  return e instanceof RunnerError
    ? invalidRequest(e.message, e.details as Record<string, unknown> | undefined)
    : e;
}

/** Runs a runners/ parser, turning its BAD_REQUEST into the gateway's 400. */
function parsed<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw asInvalidRequest(e);
  }
}

/** `parsed` for the async (multipart) parsers. */
async function parsedAsync<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw asInvalidRequest(e);
  }
}

/** The fields of a job that is answered in one piece (only LLM jobs stream). */
const UNARY = { stream: false, includeUsage: false } as const;

/** A Livepeer-route answer: the orchestrator's JSON passes through unchanged, billed `units`. */
function passThrough(body: Buffer, units: bigint): ClientResult {
  return { units, contentType: "application/json", body };
}

/** Units of delivered images: width × height × count (never above max). */
function pixelUnits(req: { width: number; height: number }, count: number, max: bigint): bigint {
  return clamp(BigInt(req.width) * BigInt(req.height) * BigInt(count), max);
}

/** The string fields of a form except `skip` (re-sent as they are; files are re-attached explicitly). */
function stringFields(form: FormData, ...skip: string[]): [string, string | BinaryInput][] {
  const fields: [string, string | BinaryInput][] = [];
  form.forEach((v, k) => {
    if (typeof v === "string" && !skip.includes(k)) fields.push([k, v]);
  });
  return fields;
}

function asObject(body: unknown): Obj {
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw invalidRequest("body must be a JSON object");
  return body as Obj;
}

function json(v: unknown): UpstreamBody {
  return { contentType: "application/json", body: Buffer.from(JSON.stringify(v)) };
}

function parseJson(body: Buffer): Obj {
  const v = JSON.parse(body.toString("utf8")) as unknown;
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw new Error("orchestrator answer is not a JSON object");
  return v as Obj;
}

function clamp(units: bigint, max: bigint): bigint {
  return units < 0n ? 0n : units > max ? max : units;
}

function optModel(o: Obj, field: string): string | undefined {
  const m = o[field];
  if (m === undefined || m === null || m === "") return undefined;
  if (typeof m !== "string") throw invalidRequest(`${field} must be a string`);
  return m;
}

async function encodeForm(fields: [string, string | BinaryInput][]): Promise<UpstreamBody> {
  const fd = new FormData();
  for (const [k, v] of fields) {
    if (typeof v === "string") fd.append(k, v);
    else
      fd.append(
        k,
        new Blob([new Uint8Array(v.data)], { type: v.contentType ?? "application/octet-stream" }),
        v.filename ?? k,
      );
  }
  const r = new Response(fd);
  return { contentType: r.headers.get("content-type")!, body: Buffer.from(await r.arrayBuffer()) };
}

/** Completion tokens of a chat completion: its usage, else a count of the text (never above max). */
function completionUnits(o: Obj, max: bigint): bigint {
  const usage = o.usage as Obj | undefined;
  if (usage && typeof usage.completion_tokens === "number" && Number.isSafeInteger(usage.completion_tokens)) {
    return clamp(BigInt(usage.completion_tokens), max);
  }
  const choices = Array.isArray(o.choices) ? (o.choices as Obj[]) : [];
  let n = 0;
  for (const c of choices) {
    const msg = c.message as Obj | undefined;
    if (typeof msg?.content === "string") n += countTextTokens(msg.content);
  }
  return clamp(BigInt(n), max);
}

function llmJob(route: string, body: unknown, api: "openai" | "livepeer"): Job {
  const o = asObject(body);
  const req = parsed(() => parseLlmRequest(o));
  const units = llmBounds(req);
  const so = o.stream_options as Obj | undefined;
  return {
    pipeline: "llm",
    model: req.model,
    units,
    stream: req.stream === true,
    includeUsage: so !== undefined && so !== null && so.include_usage === true,
    api,
    fingerprint: fingerprint(route, o),
    upstream: async (model) => {
      const out: Obj = { ...o, model, max_tokens: Number(units.maximum) };
      // The gateway meters the stream itself; max_tokens is sent explicitly so the cap holds.
      delete out.stream_options;
      delete out.max_completion_tokens;
      return json(out);
    },
    finish: (b, model) => {
      const out = parseJson(b);
      const u = completionUnits(out, units.maximum);
      if (api === "openai") out.model = model;
      return {
        units: u,
        contentType: "application/json",
        body: api === "openai" ? Buffer.from(JSON.stringify(out)) : b,
      };
    },
  };
}

/** Images delivered in an ai-runner ImageResponse. */
function images(o: Obj): { url: string; seed?: unknown; nsfw?: unknown }[] {
  const list = o.images;
  if (!Array.isArray(list) || list.some((i) => typeof (i as Obj)?.url !== "string")) {
    throw new Error("orchestrator answer has no images");
  }
  return list as { url: string }[];
}

function imagesJob(route: string, body: unknown): Job {
  const o = asObject(body);
  const model = optModel(o, "model");
  if (o.prompt === undefined) throw invalidRequest("prompt is required");
  const size = o.size ?? "512x512";
  const m = typeof size === "string" ? /^(\d{1,5})x(\d{1,5})$/.exec(size) : null;
  if (!m) throw invalidRequest('size must be "WIDTHxHEIGHT", e.g. "512x512"');
  const format = o.response_format ?? "url";
  if (format !== "url" && format !== "b64_json")
    throw invalidRequest('response_format must be "url" or "b64_json"');
  const req = parsed(() =>
    parseTextToImageRequest({
      prompt: o.prompt,
      width: Number(m[1]),
      height: Number(m[2]),
      num_images_per_prompt: o.n ?? 1,
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.negative_prompt !== undefined ? { negative_prompt: o.negative_prompt } : {}),
    }),
  );
  const units = textToImageBounds(req);
  return {
    pipeline: "text-to-image",
    model,
    units,
    ...UNARY,
    api: "openai",
    fingerprint: fingerprint(route, o),
    upstream: async (mdl) => json({ ...req, model_id: mdl }),
    finish: (b) => {
      const imgs = images(parseJson(b));
      const data = imgs.map((img) => {
        if (format === "url") return { url: img.url };
        return {
          b64_json: img.url.startsWith("data:") ? parseDataUri(img.url).data.toString("base64") : img.url,
        };
      });
      const result = { created: Math.floor(Date.now() / 1000), data };
      return {
        units: pixelUnits(req, imgs.length, units.maximum),
        contentType: "application/json",
        body: Buffer.from(JSON.stringify(result)),
      };
    },
  };
}

function textToImageJob(route: string, body: unknown): Job {
  const o = asObject(body);
  const req = parsed(() => parseTextToImageRequest(o));
  const units = textToImageBounds(req);
  return {
    pipeline: "text-to-image",
    model: req.model_id,
    units,
    ...UNARY,
    api: "livepeer",
    fingerprint: fingerprint(route, o),
    // Width, height and count are sent explicitly so that the orchestrator bills what we estimated.
    upstream: async (model) =>
      json({
        ...o,
        model_id: model,
        width: req.width,
        height: req.height,
        num_images_per_prompt: req.num_images_per_prompt,
      }),
    finish: (b) => passThrough(b, pixelUnits(req, images(parseJson(b)).length, units.maximum)),
  };
}

async function imageToImageJob(route: string, form: FormData): Promise<Job> {
  const req = await parsedAsync(() => parseImageToImageForm(form));
  const units = parsed(() => imageToImageBounds(req));
  const perImage = req.num_images_per_prompt > 0 ? units.maximum / BigInt(req.num_images_per_prompt) : 0n;
  const fields = stringFields(form, "model_id", "num_images_per_prompt");
  return {
    pipeline: "image-to-image",
    model: req.model_id,
    units,
    ...UNARY,
    api: "livepeer",
    fingerprint: await formFingerprint(route, form),
    upstream: (model) =>
      encodeForm([
        ...fields,
        ["model_id", model],
        ["num_images_per_prompt", String(req.num_images_per_prompt)],
        ["image", req.image],
      ]),
    finish: (b) => passThrough(b, clamp(perImage * BigInt(images(parseJson(b)).length), units.maximum)),
  };
}

function textOf(o: Obj): { text: string; chunks: { timestamp: [number, number]; text: string }[] } {
  if (typeof o.text !== "string") throw new Error("orchestrator answer has no text");
  const chunks = Array.isArray(o.chunks) ? (o.chunks as { timestamp: [number, number]; text: string }[]) : [];
  return { text: o.text, chunks };
}

async function transcriptionJob(route: string, form: FormData): Promise<Job> {
  const file = form.get("file");
  if (file === null || typeof file === "string")
    throw invalidRequest('file is required (multipart field "file")');
  const model = form.get("model");
  if (model !== null && typeof model !== "string") throw invalidRequest("model must be a string");
  const format = (form.get("response_format") as string | null) ?? "json";
  if (!["json", "text", "verbose_json"].includes(format)) {
    throw invalidRequest('response_format must be "json", "text" or "verbose_json"');
  }
  // Re-shape as the ai-runner form (audio + model_id) and parse it with the runners' rules.
  const af = new FormData();
  af.append("audio", file);
  const duration = form.get("duration_ms");
  if (typeof duration === "string") af.append("duration_ms", duration);
  const req = await parsedAsync(() => parseAudioToTextForm(af));
  const units = parsed(() => audioBounds(req));
  return {
    pipeline: "audio-to-text",
    model: model === null || model === "" ? undefined : model,
    units,
    ...UNARY,
    api: "openai",
    fingerprint: await formFingerprint(route, form),
    upstream: (mdl) =>
      encodeForm([
        ["audio", req.audio],
        ["model_id", mdl],
        ...(req.duration_ms !== undefined
          ? ([["duration_ms", String(req.duration_ms)]] as [string, string][])
          : []),
        ...(format === "verbose_json" ? ([["return_timestamps", "true"]] as [string, string][]) : []),
      ]),
    finish: (b) => {
      const t = textOf(parseJson(b));
      let out: Buffer;
      let contentType = "application/json";
      if (format === "text") {
        out = Buffer.from(t.text);
        contentType = "text/plain; charset=utf-8";
      } else if (format === "verbose_json") {
        const segments = t.chunks.map((c, id) => ({
          id,
          start: c.timestamp[0],
          end: c.timestamp[1],
          text: c.text,
        }));
        out = Buffer.from(
          JSON.stringify({
            task: "transcribe",
            duration: Number(units.maximum) / 1000,
            text: t.text,
            segments,
          }),
        );
      } else out = Buffer.from(JSON.stringify({ text: t.text }));
      return { units: units.maximum, contentType, body: out };
    },
  };
}

async function audioToTextJob(route: string, form: FormData): Promise<Job> {
  const req = await parsedAsync(() => parseAudioToTextForm(form));
  const units = parsed(() => audioBounds(req));
  const fields = stringFields(form, "model_id");
  return {
    pipeline: "audio-to-text",
    model: req.model_id,
    units,
    ...UNARY,
    api: "livepeer",
    fingerprint: await formFingerprint(route, form),
    upstream: (model) => encodeForm([...fields, ["model_id", model], ["audio", req.audio]]),
    finish: (b) => {
      textOf(parseJson(b));
      return passThrough(b, units.maximum);
    },
  };
}

function audioUrl(o: Obj): string {
  const a = o.audio as Obj | undefined;
  if (typeof a?.url !== "string") throw new Error("orchestrator answer has no audio");
  return a.url;
}

function speechJob(route: string, body: unknown): Job {
  const o = asObject(body);
  const format = o.response_format ?? "wav";
  // The orchestrators' runners produce WAV; other formats would need transcoding here.
  if (format !== "wav" && format !== "pcm" && o.response_format !== undefined) {
    throw invalidRequest('response_format must be "wav" (livepay orchestrators produce WAV audio)');
  }
  const req = parsed(() =>
    parseTextToSpeechRequest({
      text: o.input,
      ...(typeof o.voice === "string" ? { description: o.voice } : {}),
    }),
  );
  const units = textToSpeechBounds(req);
  return {
    pipeline: "text-to-speech",
    model: optModel(o, "model"),
    units,
    ...UNARY,
    api: "openai",
    fingerprint: fingerprint(route, o),
    upstream: async (model) => json({ ...req, model_id: model }),
    finish: (b) => {
      const { mediaType, data } = parseDataUri(audioUrl(parseJson(b)));
      return { units: units.maximum, contentType: mediaType, body: data };
    },
  };
}

function textToSpeechJob(route: string, body: unknown): Job {
  const o = asObject(body);
  const req = parsed(() => parseTextToSpeechRequest(o));
  const units = textToSpeechBounds(req);
  return {
    pipeline: "text-to-speech",
    model: req.model_id,
    units,
    ...UNARY,
    api: "livepeer",
    fingerprint: fingerprint(route, o),
    upstream: async (model) => json({ ...o, model_id: model }),
    finish: (b) => {
      audioUrl(parseJson(b));
      return passThrough(b, units.maximum);
    },
  };
}

function embeddingsJob(route: string, body: unknown): Job {
  const o = asObject(body);
  const req = parsed(() => parseEmbeddingsRequest(o));
  const units = embeddingsBounds(req);
  return {
    pipeline: "embeddings",
    model: req.model,
    units,
    ...UNARY,
    api: "openai",
    fingerprint: fingerprint(route, o),
    upstream: async (model) => json({ ...o, model }),
    finish: (b, model) => {
      const out = parseJson(b);
      if (!Array.isArray(out.data)) throw new Error("orchestrator answer has no data");
      const usage = out.usage as Obj | undefined;
      const u =
        typeof usage?.prompt_tokens === "number" && Number.isSafeInteger(usage.prompt_tokens)
          ? clamp(BigInt(usage.prompt_tokens), units.maximum)
          : units.estimate;
      out.model = model;
      return { units: u, contentType: "application/json", body: Buffer.from(JSON.stringify(out)) };
    },
  };
}

/** The routes the gateway serves, with the job each builds. */
export const JSON_ROUTES: Readonly<Record<string, (route: string, body: unknown) => Job>> = {
  "/v1/chat/completions": (r, b) => llmJob(r, b, "openai"),
  "/v1/images/generations": imagesJob,
  "/v1/audio/speech": speechJob,
  "/v1/embeddings": embeddingsJob,
  "/llm": (r, b) => llmJob(r, b, "livepeer"),
  "/text-to-image": textToImageJob,
  "/text-to-speech": textToSpeechJob,
};

export const FORM_ROUTES: Readonly<Record<string, (route: string, form: FormData) => Promise<Job>>> = {
  "/v1/audio/transcriptions": transcriptionJob,
  "/audio-to-text": audioToTextJob,
  "/image-to-image": imageToImageJob,
};
