// Billing units per DESIGN "Units and rounding": exact bigint counts, estimates before a job runs
// and the maximum the orchestrator may charge for it.
import { badRequest } from "./errors.js";
import { probeImageSize } from "./imageSize.js";
import type {
  AudioToTextRequest,
  EmbeddingsRequest,
  ImageToImageRequest,
  LlmRequest,
  TextToImageRequest,
  TextToSpeechRequest,
  UnitBounds,
  Usage,
} from "./types.js";
import { parseWav } from "./wav.js";

/** go-livepeer's gateway default when an LLM request has no `max_tokens`. */
export const DEFAULT_MAX_TOKENS = 256;

/**
 * LLM bounds: `max_tokens` (default 256) is both the estimate and the cap; runners send it
 * upstream explicitly so the cap holds.
 *
 * @example
 * llmBounds({ messages: [{ role: "user", content: "hi" }] }) // { estimate: 256n, maximum: 256n }
 */
export function llmBounds(req: LlmRequest): UnitBounds {
  const max = BigInt(req.max_tokens ?? DEFAULT_MAX_TOKENS);
  return { estimate: max, maximum: max };
}

/**
 * Pixels billed for `count` images of `width × height`.
 *
 * @example
 * imagePixels(512, 512, 2) // 524288n
 */
export function imagePixels(width: number, height: number, count: number): bigint {
  return BigInt(width) * BigInt(height) * BigInt(count);
}

/**
 * text-to-image bounds: `width × height × num_images_per_prompt`.
 *
 * @example
 * textToImageBounds({ prompt: "a cat", width: 512, height: 512, num_images_per_prompt: 1 }).maximum // 262144n
 */
export function textToImageBounds(req: TextToImageRequest): UnitBounds {
  const px = imagePixels(req.width, req.height, req.num_images_per_prompt);
  return { estimate: px, maximum: px };
}

/**
 * image-to-image bounds: input `width × height` (read from the image header) × images requested.
 *
 * @example
 * imageToImageBounds({ prompt: "x", image: { data: png512 }, num_images_per_prompt: 1 }).maximum // 262144n
 */
export function imageToImageBounds(req: ImageToImageRequest): UnitBounds {
  const { width, height } = probeImageSize(req.image.data);
  const px = imagePixels(width, height, req.num_images_per_prompt);
  return { estimate: px, maximum: px };
}

/** Audio bounds, saying whether the duration was decoded from the input or declared. */
export interface AudioBounds extends UnitBounds {
  readonly decoded: boolean;
}

/**
 * audio-to-text bounds in milliseconds: the decoded duration when the input is a WAV file, else
 * the declared `duration_ms`; neither is a `BAD_REQUEST` (nothing would cap the charge).
 *
 * @example
 * audioBounds({ audio: { data: wav1500ms } }) // { estimate: 1500n, maximum: 1500n, decoded: true }
 */
export function audioBounds(req: AudioToTextRequest): AudioBounds {
  try {
    const ms = parseWav(req.audio.data).durationMs;
    return { estimate: ms, maximum: ms, decoded: true };
  } catch (e) {
    if (req.duration_ms === undefined) {
      throw badRequest(
        `audio duration unknown: ${(e as Error).message}; send WAV audio or declare duration_ms`,
      );
    }
    const ms = BigInt(req.duration_ms);
    return { estimate: ms, maximum: ms, decoded: false };
  }
}

/**
 * Unicode scalar values of `text` after NFC normalisation (a lone surrogate counts as one, as the
 * U+FFFD it becomes on the wire).
 *
 * @example
 * scalarCount("e\u0301") // 1n (NFC composes it to "é")
 */
export function scalarCount(text: string): bigint {
  let n = 0;
  for (const _ of text.normalize("NFC")) n++;
  return BigInt(n);
}

/**
 * text-to-speech bounds: scalar values of the NFC input text, known exactly in advance.
 *
 * @example
 * textToSpeechBounds({ text: "héllo" }) // { estimate: 5n, maximum: 5n }
 */
export function textToSpeechBounds(req: TextToSpeechRequest): UnitBounds {
  const n = scalarCount(req.text);
  return { estimate: n, maximum: n };
}

/**
 * Approximate token count of text: one per run of letters/digits and one per other visible
 * character. Used for estimates and by the synthetic runner, whose tokens are exactly these pieces.
 *
 * @example
 * countTextTokens("Hello, world!") // 4
 */
export function countTextTokens(text: string): number {
  return textPieces(text).length;
}

/**
 * Splits text into the word pieces `countTextTokens` counts (leading whitespace kept on a piece).
 *
 * @example
 * textPieces("Hi, you") // ["Hi", ",", " you"]
 */
export function textPieces(text: string): string[] {
  return text.match(/\s*(?:[\p{L}\p{M}\p{N}]+|[^\s\p{L}\p{M}\p{N}])/gu) ?? [];
}

/** Tokens any tokenizer may add around one input (BOS, EOS, separators). */
const SPECIAL_TOKENS_PER_INPUT = 4n;

/**
 * Embeddings bounds in prompt tokens: estimate from word pieces; the maximum is the UTF-8 byte
 * count plus a few special tokens per input, since byte-level tokenizers never emit more
 * tokens than bytes.
 *
 * @example
 * embeddingsBounds({ input: "hello world" }) // { estimate: 2n, maximum: 15n }
 */
export function embeddingsBounds(req: EmbeddingsRequest): UnitBounds {
  const inputs = typeof req.input === "string" ? [req.input] : req.input;
  let estimate = 0n;
  let maximum = 0n;
  for (const s of inputs) {
    estimate += BigInt(countTextTokens(s));
    maximum += BigInt(Buffer.byteLength(s, "utf8")) + SPECIAL_TOKENS_PER_INPUT;
  }
  return { estimate, maximum };
}

/**
 * Usage from a measured or reported count, clamped to the request's maximum (the upstream's
 * figure is kept in `reported` when it was higher).
 *
 * @example
 * clampUsage(300n, { estimate: 256n, maximum: 256n }, false) // { units: 256n, estimated: false, reported: 300n }
 */
export function clampUsage(units: bigint, bounds: UnitBounds, estimated: boolean): Usage {
  if (units < 0n) units = 0n;
  if (units > bounds.maximum) return { units: bounds.maximum, estimated, reported: units };
  return { units, estimated };
}
