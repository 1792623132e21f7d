// The narrow interface each backend (synthetic, openai, ai-runner) implements. Runners (runner.ts)
// wrap an engine with what is common: validation, bounds, capacity, cancellation and usage.
import type { AudioBounds } from "./units.js";
import type {
  AudioResponse,
  AudioToTextRequest,
  ChatCompletion,
  ChatCompletionChunk,
  EmbeddingsRequest,
  EmbeddingsResponse,
  ImageResponse,
  ImageToImageRequest,
  LlmRequest,
  Pipeline,
  RunnerHealth,
  TextResponse,
  TextToImageRequest,
  TextToSpeechRequest,
  TokenUsage,
} from "./types.js";

/**
 * What an LLM engine has produced so far; the engine updates it as it goes, so that a cancelled
 * or failed job still reports the units produced before the stop.
 */
export interface LlmProgress {
  /** Output tokens produced (counted by the engine: emitted pieces or content chunks). */
  tokens: number;
  /** Whether `tokens` is an exact count (synthetic) or a chunk count (proxies). */
  exact: boolean;
  /** The upstream's own usage, when it sent one: it wins over `tokens`. */
  usage?: TokenUsage;
  finishReason: string | null;
  promptTokens?: number;
}

export interface LlmEngine {
  /** A whole completion (non-streamed). `maxTokens` must be enforced (sent upstream). */
  complete(
    req: LlmRequest,
    maxTokens: number,
    signal: AbortSignal,
    progress: LlmProgress,
  ): Promise<ChatCompletion>;
  /**
   * Starts a stream; resolves once the upstream accepted it (before any chunk), so failures
   * before the first byte surface here. Chunks with no choices (usage-only) are not yielded.
   */
  stream(
    req: LlmRequest,
    maxTokens: number,
    signal: AbortSignal,
    progress: LlmProgress,
  ): Promise<AsyncIterable<ChatCompletionChunk>>;
}

export interface Engine {
  health(signal?: AbortSignal): Promise<RunnerHealth>;
  close?(): Promise<void>;
  /** Engine-specific limits on a request (e.g. the synthetic image size cap): throw BAD_REQUEST. */
  check?(pipeline: Pipeline, req: unknown): void;
  llm?: LlmEngine;
  textToImage?(req: TextToImageRequest, signal: AbortSignal): Promise<ImageResponse>;
  imageToImage?(req: ImageToImageRequest, signal: AbortSignal): Promise<ImageResponse>;
  audioToText?(req: AudioToTextRequest, bounds: AudioBounds, signal: AbortSignal): Promise<TextResponse>;
  textToSpeech?(req: TextToSpeechRequest, signal: AbortSignal): Promise<AudioResponse>;
  /** `promptTokens` from the upstream's usage when present. */
  embeddings?(
    req: EmbeddingsRequest,
    signal: AbortSignal,
  ): Promise<{ output: EmbeddingsResponse; promptTokens?: number }>;
}
