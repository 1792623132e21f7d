// Request, response and billing types of the runners. Shapes follow Livepeer's ai-runner API
// (the AI routes go-livepeer serves) and, for LLM and embeddings, the OpenAI API; see README.md.

/** Pipelines a runner can serve (Livepeer capability names; "embeddings" is livepay's addition). */
export const PIPELINES = [
  "llm",
  "text-to-image",
  "image-to-image",
  "audio-to-text",
  "text-to-speech",
  "embeddings",
] as const;
export type Pipeline = (typeof PIPELINES)[number];

/** What one billing unit is, per pipeline (DESIGN "Units and rounding"). */
export type UnitKind = "token" | "pixel" | "millisecond" | "character";

/** The unit each pipeline bills in. */
export const PIPELINE_UNIT: Readonly<Record<Pipeline, UnitKind>> = {
  llm: "token", // completion tokens, reasoning included
  "text-to-image": "pixel", // width × height × delivered images
  "image-to-image": "pixel", // input width × height × delivered images
  "audio-to-text": "millisecond", // decoded input duration
  "text-to-speech": "character", // Unicode scalar values of the NFC input text
  embeddings: "token", // prompt tokens
};

/** Units known before a job runs: what the orchestrator quotes and the most it may charge. */
export interface UnitBounds {
  /** Expected units (the quote's estimate). */
  readonly estimate: bigint;
  /** Hard cap: the runner never reports more units than this for the request. */
  readonly maximum: bigint;
}

/** Units a job actually consumed. */
export interface Usage {
  readonly units: bigint;
  /** True when the units are not an exact measure (e.g. an upstream that sent no `usage`). */
  readonly estimated: boolean;
  /** What the upstream reported when that exceeded `maximum` (units are then clamped). */
  readonly reported?: bigint;
}

/** A job's output with its usage. */
export interface RunResult<T> {
  readonly output: T;
  readonly usage: Usage;
}

/** Per-call options. */
export interface RunOptions {
  /** Abort to cancel: generation stops within a bounded time and produced units are reported. */
  readonly signal?: AbortSignal;
}

/** An uploaded file (image or audio). */
export interface BinaryInput {
  readonly data: Uint8Array;
  readonly filename?: string;
  readonly contentType?: string;
}

// ---------------------------------------------------------------------------------------------
// LLM (ai-runner /llm and OpenAI /v1/chat/completions)

/** One chat message. Content may be a string or OpenAI content parts; other keys pass through. */
export interface ChatMessage {
  readonly role: string;
  readonly content?: string | readonly unknown[] | null;
  readonly [key: string]: unknown;
}

export interface LlmRequest {
  /** Model name as the client sent it (ai-runner `model`, OpenAI `model`). */
  readonly model?: string;
  readonly messages: readonly ChatMessage[];
  /** Completion-token cap; absent means 256 (the go-livepeer gateway default). */
  readonly max_tokens?: number;
  readonly temperature?: number;
  readonly top_p?: number;
  readonly top_k?: number;
  readonly stream?: boolean;
  readonly stop?: readonly string[];
  readonly seed?: number;
  /** Other OpenAI fields (tools, response_format, ...): forwarded by the `openai` runner only. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface TokenUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  readonly [key: string]: unknown;
}

export interface ChatCompletionMessage {
  readonly role: string;
  readonly content: string | null;
  readonly reasoning_content?: string;
  readonly [key: string]: unknown;
}

export interface ChatCompletionChoice {
  readonly index: number;
  readonly message: ChatCompletionMessage;
  readonly finish_reason: string | null;
  readonly [key: string]: unknown;
}

/** OpenAI `chat.completion` object. */
export interface ChatCompletion {
  readonly id: string;
  readonly object: "chat.completion";
  readonly created: number;
  readonly model: string;
  readonly choices: readonly ChatCompletionChoice[];
  readonly usage?: TokenUsage;
  readonly [key: string]: unknown;
}

export interface ChatCompletionDelta {
  readonly role?: string;
  readonly content?: string | null;
  readonly reasoning_content?: string | null;
  readonly [key: string]: unknown;
}

export interface ChatCompletionChunkChoice {
  readonly index: number;
  readonly delta: ChatCompletionDelta;
  readonly finish_reason: string | null;
  readonly [key: string]: unknown;
}

/** OpenAI `chat.completion.chunk` object (ai-runner /llm chunks are normalized to it). */
export interface ChatCompletionChunk {
  readonly id: string;
  readonly object: "chat.completion.chunk";
  readonly created: number;
  readonly model: string;
  readonly choices: readonly ChatCompletionChunkChoice[];
  readonly [key: string]: unknown;
}

/** How a stream ended. */
export type StreamOutcome = "completed" | "cancelled" | "failed";

/** Final record of an LLM stream: always resolves (never rejects), whatever the outcome. */
export interface LlmStreamEnd {
  readonly outcome: StreamOutcome;
  readonly usage: Usage;
  /** Last finish_reason seen (`stop`, `length`, ...), null when the stream did not finish. */
  readonly finishReason: string | null;
  /** Prompt tokens when the runner knows them. */
  readonly promptTokens?: number;
  /** The failure, when `outcome` is "failed". */
  readonly error?: Error;
}

/**
 * A streamed completion: iterate the chunks (once); `result` resolves when the stream ends,
 * is cancelled (signal aborted or iteration stopped early) or fails. Chunks carrying only
 * `usage` are not yielded: usage is in `result`.
 */
export interface LlmStream extends AsyncIterable<ChatCompletionChunk> {
  readonly result: Promise<LlmStreamEnd>;
}

// ---------------------------------------------------------------------------------------------
// Images (ai-runner /text-to-image, /image-to-image; OpenAI /v1/images/generations)

export interface TextToImageRequest {
  readonly prompt: string;
  readonly model_id?: string;
  /** Pixels; default 512 (go-livepeer's billing default, sent explicitly upstream). */
  readonly width: number;
  readonly height: number;
  /** Default 1. */
  readonly num_images_per_prompt: number;
  readonly seed?: number;
  readonly negative_prompt?: string;
  readonly guidance_scale?: number;
  readonly num_inference_steps?: number;
  readonly safety_check?: boolean;
  readonly loras?: string;
}

export interface ImageToImageRequest {
  readonly prompt: string;
  readonly image: BinaryInput;
  readonly model_id?: string;
  readonly num_images_per_prompt: number;
  readonly seed?: number;
  readonly strength?: number;
  readonly guidance_scale?: number;
  readonly image_guidance_scale?: number;
  readonly negative_prompt?: string;
  readonly num_inference_steps?: number;
  readonly safety_check?: boolean;
  readonly loras?: string;
}

export interface Media {
  /** A `data:` URI (or an http URL when the upstream returns one). */
  readonly url: string;
  readonly seed: number;
  readonly nsfw: boolean;
}

/** ai-runner `ImageResponse`. */
export interface ImageResponse {
  readonly images: readonly Media[];
}

// ---------------------------------------------------------------------------------------------
// Audio (ai-runner /audio-to-text, /text-to-speech)

export interface AudioToTextRequest {
  readonly audio: BinaryInput;
  readonly model_id?: string;
  /** ai-runner: "true" | "false" | "sentence" | "word". */
  readonly return_timestamps?: string;
  /** Duration the client declares, used only when the audio cannot be decoded here. */
  readonly duration_ms?: number;
}

export interface TextChunk {
  readonly timestamp: readonly [number, number];
  readonly text: string;
}

/** ai-runner `TextResponse`. */
export interface TextResponse {
  readonly text: string;
  readonly chunks: readonly TextChunk[];
}

export interface TextToSpeechRequest {
  readonly text: string;
  readonly model_id?: string;
  /** Speaker description (ai-runner) or voice name (OpenAI). */
  readonly description?: string;
}

/** ai-runner `AudioResponse`: `url` is a `data:audio/...;base64,` URI. */
export interface AudioResponse {
  readonly audio: { readonly url: string };
}

// ---------------------------------------------------------------------------------------------
// Embeddings (OpenAI /v1/embeddings)

export interface EmbeddingsRequest {
  readonly model?: string;
  readonly input: string | readonly string[];
  readonly encoding_format?: "float" | "base64";
  readonly dimensions?: number;
}

export interface Embedding {
  readonly object: "embedding";
  readonly index: number;
  readonly embedding: readonly number[] | string;
}

export interface EmbeddingsResponse {
  readonly object: "list";
  readonly data: readonly Embedding[];
  readonly model: string;
  readonly usage: { readonly prompt_tokens: number; readonly total_tokens: number };
}

// ---------------------------------------------------------------------------------------------
// Health

export interface RunnerHealth {
  readonly ok: boolean;
  /** "OK", "IDLE", "ERROR" (ai-runner) or a short reason. */
  readonly status: string;
}
