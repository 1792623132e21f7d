import { InvalidInputError } from "../errors.js";
import { Rational } from "../money/rational.js";
import { isWav, wavDuration } from "./wav.js";

/** The pipelines persistent tickets bill, by Livepeer pipeline name (a quote's `capability`). */
export type Pipeline =
  "llm" | "text-to-image" | "image-to-image" | "audio-to-text" | "text-to-speech" | "live-video-to-video";

/** What one unit is for each pipeline, and who measures it. */
export interface UnitDefinition {
  /** A quote's `unit` string for this pipeline. */
  unit: string;
  /** How the payee counts units. */
  measure: string;
}

/**
 * The unit table (DESIGN "Units and rounding"). Units are integers; the ticket keeps the exact
 * rational total of units × price and receipts carry its ceiling, so rounding costs < 1 wei per ticket.
 */
export const UNIT_TABLE: Readonly<Record<Pipeline, UnitDefinition>> = Object.freeze({
  llm: { unit: "token", measure: "completion tokens reported by the runner, reasoning included" },
  "text-to-image": { unit: "pixel", measure: "width × height × delivered image count" },
  "image-to-image": { unit: "pixel", measure: "width × height × delivered image count" },
  "audio-to-text": { unit: "ms", measure: "decoded input duration, milliseconds rounded up" },
  "text-to-speech": { unit: "char", measure: "Unicode scalar values of the input text after NFC" },
  "live-video-to-video": { unit: "ms", measure: "elapsed session milliseconds" },
});

/**
 * Whether a capability string is a pipeline of the unit table.
 * @example isPipeline("llm") // true
 */
export function isPipeline(capability: string): capability is Pipeline {
  return Object.prototype.hasOwnProperty.call(UNIT_TABLE, capability);
}

/** What the payee measured, per pipeline (the `result` argument of `unitsFor`). */
export interface UnitResults {
  llm: { completionTokens: bigint | number };
  "text-to-image": { delivered: number };
  "image-to-image": { delivered: number };
  "audio-to-text": { durationMs: bigint | number };
  "text-to-speech": Record<string, never>;
  "live-video-to-video": { elapsedMs: bigint | number };
}

function count(value: unknown, field: string): bigint {
  const v = typeof value === "bigint" ? value : Number.isSafeInteger(value) ? BigInt(value as number) : -1n;
  if (v < 0n || v >> 64n !== 0n) {
    throw new InvalidInputError("INVALID_UNITS", `${field} must be a non-negative integer below 2^64`, {
      field,
    });
  }
  return v;
}

function obj(request: unknown): Record<string, unknown> {
  return typeof request === "object" && request !== null && !Array.isArray(request)
    ? (request as Record<string, unknown>)
    : {};
}

function positive(value: unknown, field: string): bigint {
  const v = count(value, field);
  if (v === 0n) throw new InvalidInputError("INVALID_UNITS", `${field} must be positive`, { field });
  return v;
}

/**
 * Output image size of an image request: `width`/`height` (Livepeer) or `size: "WxH"` (OpenAI), else
 * Livepeer's default 512 × 512.
 * @example imageSize({ size: "1024x768" }) // { width: 1024n, height: 768n }
 */
export function imageSize(request: unknown): { width: bigint; height: bigint } {
  const r = obj(request);
  if (r.width !== undefined || r.height !== undefined) {
    return { width: positive(r.width ?? 512, "width"), height: positive(r.height ?? 512, "height") };
  }
  if (typeof r.size === "string") {
    const m = /^(\d{1,6})x(\d{1,6})$/.exec(r.size);
    if (!m) throw new InvalidInputError("INVALID_UNITS", "size must be WIDTHxHEIGHT", { size: r.size });
    return { width: positive(Number(m[1]), "width"), height: positive(Number(m[2]), "height") };
  }
  return { width: 512n, height: 512n };
}

/**
 * Number of images requested: `n` (OpenAI) or `num_images_per_prompt` (Livepeer), default 1.
 * @example imageCount({ n: 2 }) // 2n
 */
export function imageCount(request: unknown): bigint {
  const r = obj(request);
  return positive(r.n ?? r.num_images_per_prompt ?? 1, "n");
}

/**
 * Text-to-speech units: Unicode scalar values of the input (`input`, OpenAI, or `text`, Livepeer)
 * after NFC normalization, so "é" costs 1 whether sent composed or decomposed.
 * @example ttsUnits("e\u0301") // 1n
 */
export function ttsUnits(text: string): bigint {
  let n = 0n;
  // for...of walks code points; a lone surrogate counts as one (it is sent as U+FFFD).
  for (const _ of text.normalize("NFC")) n++;
  return n;
}

function ttsText(request: unknown): string {
  const r = obj(request);
  const text = r.input ?? r.text;
  if (typeof text !== "string") {
    throw new InvalidInputError("INVALID_UNITS", "text-to-speech request needs a string input or text");
  }
  return text;
}

/**
 * Milliseconds of audio from a sample count, rounded up (a partial millisecond is billed as one).
 * @example msFromSamples(16_001n, 16_000n) // 1001n
 */
export function msFromSamples(samples: bigint, sampleRate: bigint): bigint {
  if (samples < 0n || sampleRate <= 0n) {
    throw new InvalidInputError("INVALID_UNITS", "samples must be >= 0 and sampleRate > 0");
  }
  return Rational.of(samples * 1000n, sampleRate).ceil();
}

/**
 * Milliseconds from a decimal duration in seconds (as runners report it), rounded up, exactly.
 * @example msFromSeconds("2.0005") // 2001n
 */
export function msFromSeconds(seconds: string | Rational): bigint {
  const s = typeof seconds === "string" ? Rational.parse(seconds) : seconds;
  if (s.sign() < 0) throw new InvalidInputError("INVALID_UNITS", "duration must be >= 0");
  return s.mul(1000n).ceil();
}

/**
 * The units a request is charged for (the unit table), from the request body and what the payee
 * measured: LLM completion tokens; images width × height × delivered; audio decoded ms; TTS NFC
 * scalar values of the input; live elapsed ms.
 * @example unitsFor("text-to-image", { width: 512, height: 512 }, { delivered: 2 }) // 524288n
 */
export function unitsFor<P extends Pipeline>(pipeline: P, request: unknown, result: UnitResults[P]): bigint {
  const res = result as Record<string, unknown>;
  switch (pipeline) {
    case "llm":
      return count(res.completionTokens, "completionTokens");
    case "text-to-image":
    case "image-to-image": {
      const { width, height } = imageSize(request);
      return width * height * count(res.delivered, "delivered");
    }
    case "audio-to-text":
      return count(res.durationMs, "durationMs");
    case "text-to-speech":
      return ttsUnits(ttsText(request));
    case "live-video-to-video":
      return count(res.elapsedMs, "elapsedMs");
    default:
      throw new InvalidInputError("UNKNOWN_PIPELINE", "pipeline is not in the unit table", { pipeline });
  }
}

/**
 * The decoded duration of an audio-to-text request's input when it is a WAV file: the request view
 * of a multipart form (`formRequestView`) carries the file bytes as `file` (OpenAI) or `audio`
 * (Livepeer). Undefined for any other format (it cannot be measured here); a malformed WAV throws
 * `INVALID_WAV`.
 * @example audioRequestMs({ file: wav1500ms }) // 1500n
 */
export function audioRequestMs(request: unknown): bigint | undefined {
  const r = obj(request);
  const file = r.file ?? r.audio;
  if (!(file instanceof Uint8Array) || !isWav(file)) return undefined;
  return wavDuration(file).durationMs;
}

/**
 * The most units the request itself allows, when it says: LLM `max_completion_tokens` or
 * `max_tokens`; images width × height × n; audio the duration of a WAV input (`audioRequestMs`); TTS
 * the exact count. Undefined when the request does not bound it (other audio formats, live, an LLM
 * request without a token limit). A payer rejects a quote whose `maxUnits` exceeds it.
 * @example requestUnitBound("llm", { max_tokens: 256 }) // 256n
 */
export function requestUnitBound(pipeline: Pipeline, request: unknown): bigint | undefined {
  const r = obj(request);
  switch (pipeline) {
    case "llm": {
      const m = r.max_completion_tokens ?? r.max_tokens;
      return m === undefined || m === null ? undefined : count(m, "max_tokens");
    }
    case "text-to-image":
    case "image-to-image": {
      const { width, height } = imageSize(request);
      return width * height * imageCount(request);
    }
    case "audio-to-text":
      return audioRequestMs(request);
    case "text-to-speech":
      return ttsUnits(ttsText(request));
    default:
      return undefined;
  }
}
