// The synthetic runner's engine: deterministic outputs of the requested size with configurable
// latency and token rate, for the devnet and tests. Counting is exact by construction: one
// emitted piece is one token, images are exactly the requested size, audio durations are decoded.
import { setImmediate as yieldToLoop, setTimeout as delay } from "node:timers/promises";
import { toDataUri } from "./dataUri.js";
import type { Engine, LlmProgress } from "./engine.js";
import { badRequest, RunnerError } from "./errors.js";
import { probeImageSize } from "./imageSize.js";
import { encodePngRgb } from "./png.js";
import { Prng, sha256Hex } from "./prng.js";
import { countTextTokens, scalarCount } from "./units.js";
import type { AudioBounds } from "./units.js";
import type {
  AudioResponse,
  AudioToTextRequest,
  ChatCompletion,
  ChatCompletionChunk,
  ChatMessage,
  EmbeddingsRequest,
  EmbeddingsResponse,
  ImageResponse,
  ImageToImageRequest,
  LlmRequest,
  Media,
  Pipeline,
  RunnerHealth,
  TextChunk,
  TextResponse,
  TextToImageRequest,
  TextToSpeechRequest,
} from "./types.js";
import { encodeWavPcm16, parseWav } from "./wav.js";

/** Largest synthetic image side. */
export const SYNTHETIC_MAX_IMAGE_SIDE = 2048;
/** Synthetic speech: 16 kHz mono, 50 ms per Unicode scalar value of the input. */
export const SYNTHETIC_TTS_SAMPLE_RATE = 16_000;
export const SYNTHETIC_TTS_MS_PER_CHAR = 50;
/** Synthetic transcription speed: one word per 400 ms of audio. */
export const SYNTHETIC_MS_PER_WORD = 400;
/** Default synthetic embedding size. */
export const SYNTHETIC_EMBEDDING_DIMENSIONS = 32;

export interface SyntheticOptions {
  readonly modelId: string;
  /** Time to first token / image / result, ms. */
  readonly latencyMs?: number;
  /** Output tokens per second; undefined emits as fast as possible. */
  readonly tokensPerSecond?: number;
}

const SYLLABLES = [
  "ka",
  "lo",
  "mi",
  "ra",
  "te",
  "su",
  "no",
  "vi",
  "pe",
  "da",
  "zu",
  "ne",
  "ro",
  "fa",
  "li",
  "mo",
];

/** The deterministic piece generator: pseudo-words, commas and full stops, one piece per token. */
class PieceSource {
  private index = 0;
  private capitalize = true;
  constructor(private readonly prng: Prng) {}

  next(): string {
    const first = this.index++ === 0;
    const roll = this.prng.nextInt(12);
    if (!first && !this.capitalize && roll === 0) {
      this.capitalize = true;
      return ".";
    }
    if (!first && !this.capitalize && roll === 1) return ",";
    let word = "";
    const syllables = 1 + this.prng.nextInt(3);
    for (let i = 0; i < syllables; i++) word += SYLLABLES[this.prng.nextInt(SYLLABLES.length)];
    if (this.capitalize) word = word[0]!.toUpperCase() + word.slice(1);
    this.capitalize = false;
    return first ? word : ` ${word}`;
  }
}

function messageText(m: ChatMessage): string {
  if (typeof m.content === "string") return m.content;
  if (Array.isArray(m.content)) {
    return m.content
      .map((p: unknown) =>
        typeof p === "object" && p !== null && typeof (p as { text?: unknown }).text === "string"
          ? (p as { text: string }).text
          : "",
      )
      .join(" ");
  }
  return "";
}

function cancelledError(): RunnerError {
  return new RunnerError("CANCELLED", "cancelled by the caller");
}

/**
 * Deterministic engine for every pipeline.
 *
 * @example
 * const runner = runnerFromEngine(config, new SyntheticEngine({ modelId: "m", tokensPerSecond: 50 }));
 */
export class SyntheticEngine implements Engine {
  private readonly latencyMs: number;
  private readonly tokensPerSecond: number | undefined;

  constructor(private readonly opts: SyntheticOptions) {
    this.latencyMs = opts.latencyMs ?? 0;
    this.tokensPerSecond = opts.tokensPerSecond;
  }

  async health(): Promise<RunnerHealth> {
    return { ok: true, status: "OK" };
  }

  check(pipeline: Pipeline, req: unknown): void {
    if (pipeline === "text-to-image") {
      const r = req as TextToImageRequest;
      if (r.width > SYNTHETIC_MAX_IMAGE_SIDE || r.height > SYNTHETIC_MAX_IMAGE_SIDE) {
        throw badRequest(
          `synthetic images are at most ${SYNTHETIC_MAX_IMAGE_SIDE}x${SYNTHETIC_MAX_IMAGE_SIDE}`,
          { width: r.width, height: r.height },
        );
      }
    } else if (pipeline === "image-to-image") {
      const { width, height } = probeImageSize((req as ImageToImageRequest).image.data);
      if (width > SYNTHETIC_MAX_IMAGE_SIDE || height > SYNTHETIC_MAX_IMAGE_SIDE) {
        throw badRequest(
          `synthetic images are at most ${SYNTHETIC_MAX_IMAGE_SIDE}x${SYNTHETIC_MAX_IMAGE_SIDE}`,
          { width, height },
        );
      }
    } else if (pipeline === "audio-to-text") {
      parseWav((req as AudioToTextRequest).audio.data); // only WAV is decodable here: a clear BAD_REQUEST otherwise
    }
  }

  private async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw cancelledError();
    if (ms <= 0) return;
    try {
      await delay(ms, undefined, { signal });
    } catch {
      throw cancelledError();
    }
  }

  // -------------------------------------------------------------------------------------------
  // LLM

  readonly llm = {
    stream: async (
      req: LlmRequest,
      maxTokens: number,
      signal: AbortSignal,
      progress: LlmProgress,
    ): Promise<AsyncIterable<ChatCompletionChunk>> => {
      if (signal.aborted) throw cancelledError();
      return this.generate(req, maxTokens, signal, progress);
    },
    complete: async (
      req: LlmRequest,
      maxTokens: number,
      signal: AbortSignal,
      progress: LlmProgress,
    ): Promise<ChatCompletion> => {
      let content = "";
      for await (const chunk of this.generate(req, maxTokens, signal, progress))
        content += chunk.choices[0]?.delta.content ?? "";
      const meta = this.llmMeta(req);
      const completion = progress.tokens;
      return {
        id: meta.id,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: meta.model,
        choices: [
          { index: 0, message: { role: "assistant", content }, finish_reason: progress.finishReason },
        ],
        usage: {
          prompt_tokens: meta.promptTokens,
          completion_tokens: completion,
          total_tokens: meta.promptTokens + completion,
        },
      };
    },
  };

  private llmMeta(req: LlmRequest) {
    // Stop sequences and max_tokens only cut the text short: they are not part of the seed.
    const material = JSON.stringify([
      this.opts.modelId,
      req.messages,
      req.temperature ?? null,
      req.seed ?? null,
    ]);
    return {
      material,
      id: `chatcmpl-syn-${sha256Hex(material).slice(0, 24)}`,
      model: req.model || this.opts.modelId,
      promptTokens: req.messages.reduce((n, m) => n + countTextTokens(messageText(m)), 0),
    };
  }

  private async *generate(
    req: LlmRequest,
    maxTokens: number,
    signal: AbortSignal,
    progress: LlmProgress,
  ): AsyncGenerator<ChatCompletionChunk> {
    progress.exact = true;
    const meta = this.llmMeta(req);
    progress.promptTokens = meta.promptTokens;
    const pieces = new PieceSource(Prng.fromMaterial(meta.material));
    const created = Math.floor(Date.now() / 1000);
    const chunk = (
      delta: ChatCompletionChunk["choices"][number]["delta"],
      finish: string | null,
    ): ChatCompletionChunk => ({
      id: meta.id,
      object: "chat.completion.chunk",
      created,
      model: meta.model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    await this.wait(this.latencyMs, signal);
    const t0 = performance.now();
    const interval = this.tokensPerSecond ? 1000 / this.tokensPerSecond : 0;
    let text = "";
    let finish = "length";
    for (let i = 0; i < maxTokens; i++) {
      if (signal.aborted) throw cancelledError();
      if (interval > 0) await this.wait(t0 + i * interval - performance.now(), signal);
      else if (i % 64 === 63) await yieldToLoop(); // unpaced: still let timers (and aborts) run
      const piece = pieces.next();
      // A stop sequence ends generation before the piece that would complete it.
      if (req.stop?.some((s) => (text + piece).includes(s))) {
        finish = "stop";
        break;
      }
      text += piece;
      progress.tokens++;
      yield chunk(i === 0 ? { role: "assistant", content: piece } : { content: piece }, null);
    }
    if (signal.aborted) throw cancelledError();
    progress.finishReason = finish;
    yield chunk({}, finish);
  }

  // -------------------------------------------------------------------------------------------
  // Images

  private images(width: number, height: number, n: number, baseSeed: number): Media[] {
    const out: Media[] = [];
    for (let i = 0; i < n; i++) {
      const seed = (baseSeed + i) % 2 ** 32;
      out.push({ url: toDataUri("image/png", syntheticPng(width, height, seed)), seed, nsfw: false });
    }
    return out;
  }

  async textToImage(req: TextToImageRequest, signal: AbortSignal): Promise<ImageResponse> {
    await this.wait(this.latencyMs, signal);
    const seed =
      req.seed ??
      Prng.fromMaterial(JSON.stringify([this.opts.modelId, req.prompt, req.negative_prompt ?? ""])).nextU32();
    return { images: this.images(req.width, req.height, req.num_images_per_prompt, seed) };
  }

  async imageToImage(req: ImageToImageRequest, signal: AbortSignal): Promise<ImageResponse> {
    const { width, height } = probeImageSize(req.image.data);
    await this.wait(this.latencyMs, signal);
    const seed = req.seed ?? Prng.fromMaterial(sha256Hex(req.image.data) + req.prompt).nextU32();
    return { images: this.images(width, height, req.num_images_per_prompt, seed) };
  }

  // -------------------------------------------------------------------------------------------
  // Audio

  async audioToText(
    req: AudioToTextRequest,
    _bounds: AudioBounds,
    signal: AbortSignal,
  ): Promise<TextResponse> {
    const wav = parseWav(req.audio.data);
    await this.wait(this.latencyMs, signal);
    const ms = Number(wav.durationMs);
    const words = Math.max(1, Math.ceil(ms / SYNTHETIC_MS_PER_WORD));
    const pieces = new PieceSource(Prng.fromMaterial(req.audio.data));
    const all: string[] = [];
    while (all.length < words) {
      const p = pieces.next().trim();
      if (p !== "." && p !== ",") all.push(p);
    }
    const chunks: TextChunk[] = [];
    const perChunk = 6;
    for (let i = 0; i < all.length; i += perChunk) {
      const start = Math.round((i * ms) / words) / 1000;
      const end = Math.round((Math.min(i + perChunk, words) * ms) / words) / 1000;
      chunks.push({ timestamp: [start, end], text: " " + all.slice(i, i + perChunk).join(" ") });
    }
    return { text: chunks.map((c) => c.text).join(""), chunks };
  }

  async textToSpeech(req: TextToSpeechRequest, signal: AbortSignal): Promise<AudioResponse> {
    await this.wait(this.latencyMs, signal);
    return { audio: { url: toDataUri("audio/wav", syntheticSpeech(req.text)) } };
  }

  // -------------------------------------------------------------------------------------------
  // Embeddings

  async embeddings(
    req: EmbeddingsRequest,
    signal: AbortSignal,
  ): Promise<{ output: EmbeddingsResponse; promptTokens: number }> {
    await this.wait(this.latencyMs, signal);
    const inputs = typeof req.input === "string" ? [req.input] : req.input;
    const dims = req.dimensions ?? SYNTHETIC_EMBEDDING_DIMENSIONS;
    const tokens = inputs.reduce((n, s) => n + countTextTokens(s), 0);
    const data = inputs.map((s, index) => {
      const prng = Prng.fromMaterial(`${this.opts.modelId}\u0000${s}`);
      const v = new Float32Array(dims);
      let norm = 0;
      for (let i = 0; i < dims; i++) {
        v[i] = prng.nextFloat() * 2 - 1;
        norm += v[i]! * v[i]!;
      }
      const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let i = 0; i < dims; i++) v[i] = v[i]! * scale;
      const embedding =
        req.encoding_format === "base64" ? Buffer.from(v.buffer).toString("base64") : Array.from(v);
      return { object: "embedding" as const, index, embedding };
    });
    return {
      output: {
        object: "list",
        data,
        model: req.model || this.opts.modelId,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      },
      promptTokens: tokens,
    };
  }
}

/**
 * A deterministic banded PNG of exactly `width × height` (eight horizontal colour bands).
 *
 * @example
 * readPng(syntheticPng(64, 32, 7)).width // 64
 */
export function syntheticPng(width: number, height: number, seed: number): Buffer {
  const prng = Prng.fromMaterial(`png:${seed}`);
  const bands = Math.min(8, height);
  const rows: Uint8Array[] = [];
  for (let b = 0; b < bands; b++) {
    const [r, g, bl] = [prng.nextInt(256), prng.nextInt(256), prng.nextInt(256)];
    const row = Buffer.alloc(width * 3);
    for (let x = 0; x < width; x++) {
      row[x * 3] = r;
      row[x * 3 + 1] = g;
      row[x * 3 + 2] = bl;
    }
    rows.push(row);
  }
  return encodePngRgb(width, height, (y) => rows[Math.floor((y * bands) / height)]!);
}

/**
 * Synthetic speech: a 16 kHz mono 16-bit WAV lasting 50 ms per Unicode scalar value of the NFC
 * text, one tone per character.
 *
 * @example
 * parseWav(syntheticSpeech("hi")).durationMs // 100n
 */
export function syntheticSpeech(text: string): Buffer {
  const chars = [...text.normalize("NFC")];
  const perChar = (SYNTHETIC_TTS_SAMPLE_RATE * SYNTHETIC_TTS_MS_PER_CHAR) / 1000;
  const samples = new Int16Array(Number(scalarCount(text)) * perChar);
  chars.forEach((ch, i) => {
    const freq = 180 + (ch.codePointAt(0)! % 64) * 10;
    const step = (2 * Math.PI * freq) / SYNTHETIC_TTS_SAMPLE_RATE;
    for (let k = 0; k < perChar; k++) samples[i * perChar + k] = Math.round(6000 * Math.sin(step * k));
  });
  return encodeWavPcm16(samples, SYNTHETIC_TTS_SAMPLE_RATE);
}
