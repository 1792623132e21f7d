// The Runner interface the orchestrator calls, one runner per (pipeline, model), and its
// implementation over an Engine.
import type { RunnerConfig } from "./config.js";
import type { Engine, LlmEngine, LlmProgress } from "./engine.js";
import { RunnerError } from "./errors.js";
import { probeImageSize } from "./imageSize.js";
import {
  audioBounds,
  clampUsage,
  countTextTokens,
  embeddingsBounds,
  imagePixels,
  imageToImageBounds,
  llmBounds,
  textToImageBounds,
  textToSpeechBounds,
} from "./units.js";
import { PIPELINE_UNIT } from "./types.js";
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
  LlmStream,
  LlmStreamEnd,
  Pipeline,
  RunnerHealth,
  RunOptions,
  RunResult,
  StreamOutcome,
  TextResponse,
  TextToImageRequest,
  TextToSpeechRequest,
  UnitBounds,
  UnitKind,
  Usage,
} from "./types.js";

/** What every runner has, whatever its pipeline. */
export interface RunnerCommon {
  readonly config: RunnerConfig;
  readonly pipeline: Pipeline;
  readonly modelId: string;
  readonly unit: UnitKind;
  /** Most concurrent jobs; beyond it calls fail with CAPACITY. */
  readonly capacity: number;
  /** Jobs running now (streams count until they end). */
  inFlight(): number;
  health(signal?: AbortSignal): Promise<RunnerHealth>;
  /** Refuses new jobs; running jobs finish. */
  close(): Promise<void>;
}

/**
 * A runner for requests `Req` giving `Res`. `bounds` validates the request for this runner and
 * returns the estimate and maximum units (throws BAD_REQUEST); `run` executes it.
 */
export interface JobRunner<P extends Pipeline, Req, Res> extends RunnerCommon {
  readonly pipeline: P;
  bounds(req: Req): UnitBounds;
  run(req: Req, opts?: RunOptions): Promise<RunResult<Res>>;
}

export interface LlmRunner extends JobRunner<"llm", LlmRequest, ChatCompletion> {
  /** A streamed completion; resolves when the upstream accepted it, before the first chunk. */
  stream(req: LlmRequest, opts?: RunOptions): Promise<LlmStream>;
}
export type TextToImageRunner = JobRunner<"text-to-image", TextToImageRequest, ImageResponse>;
export type ImageToImageRunner = JobRunner<"image-to-image", ImageToImageRequest, ImageResponse>;
export type AudioToTextRunner = JobRunner<"audio-to-text", AudioToTextRequest, TextResponse>;
export type TextToSpeechRunner = JobRunner<"text-to-speech", TextToSpeechRequest, AudioResponse>;
export type EmbeddingsRunner = JobRunner<"embeddings", EmbeddingsRequest, EmbeddingsResponse>;

/** Any runner; switch on `pipeline` to get the typed one. */
export type Runner =
  | LlmRunner
  | TextToImageRunner
  | ImageToImageRunner
  | AudioToTextRunner
  | TextToSpeechRunner
  | EmbeddingsRunner;
/** The runner type of one pipeline. */
export type RunnerFor<P extends Pipeline> = Extract<Runner, { pipeline: P }>;

const ZERO_USAGE: Usage = { units: 0n, estimated: false };

/** Capacity, health and error mapping shared by every pipeline. */
abstract class RunnerCore {
  readonly modelId: string;
  readonly unit: UnitKind;
  readonly capacity: number;
  private active = 0;
  private closed = false;

  constructor(
    readonly config: RunnerConfig,
    protected readonly engine: Engine,
  ) {
    this.modelId = config.modelId;
    this.unit = PIPELINE_UNIT[config.pipeline];
    this.capacity = config.capacity;
  }

  inFlight(): number {
    return this.active;
  }

  health(signal?: AbortSignal): Promise<RunnerHealth> {
    return this.engine.health(signal);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.engine.close?.();
  }

  /** Takes a slot or throws CAPACITY; the returned function frees it (idempotent). */
  protected acquire(): () => void {
    if (this.closed)
      throw new RunnerError("CAPACITY", "runner is closed", { details: { model: this.modelId } });
    if (this.active >= this.capacity) {
      throw new RunnerError("CAPACITY", `runner at capacity (${this.capacity})`, {
        details: { model: this.modelId, capacity: this.capacity },
      });
    }
    this.active++;
    let held = true;
    return () => {
      if (held) {
        held = false;
        this.active--;
      }
    };
  }

  /** Runs `fn` in a slot; failures become RunnerErrors, a caller abort becomes CANCELLED. */
  protected async exec<T>(
    opts: RunOptions | undefined,
    fn: (signal: AbortSignal) => Promise<T>,
    produced?: () => Usage,
  ): Promise<T> {
    const signal = opts?.signal ?? new AbortController().signal;
    if (signal.aborted) throw cancelled(ZERO_USAGE);
    const release = this.acquire();
    try {
      return await fn(signal);
    } catch (e) {
      throw toRunnerError(e, signal, produced);
    } finally {
      release();
    }
  }

  protected check(req: unknown): void {
    this.engine.check?.(this.config.pipeline, req);
  }
}

function cancelled(usage: Usage): RunnerError {
  return new RunnerError("CANCELLED", "cancelled by the caller", { usage });
}

function toRunnerError(e: unknown, signal: AbortSignal, produced?: () => Usage): RunnerError {
  if (signal.aborted) return cancelled(produced?.() ?? ZERO_USAGE);
  if (e instanceof RunnerError) return e;
  return new RunnerError("UPSTREAM_ERROR", `runner failed: ${e instanceof Error ? e.message : String(e)}`, {
    cause: e,
  });
}

function llmUsage(p: LlmProgress, bounds: UnitBounds): Usage {
  const reported = p.usage?.completion_tokens;
  if (typeof reported === "number" && Number.isSafeInteger(reported) && reported >= 0)
    return clampUsage(BigInt(reported), bounds, false);
  return clampUsage(BigInt(p.tokens), bounds, !p.exact);
}

class LlmRunnerImpl extends RunnerCore implements LlmRunner {
  readonly pipeline = "llm" as const;
  private readonly llm: LlmEngine;

  constructor(config: RunnerConfig, engine: Engine) {
    super(config, engine);
    if (!engine.llm) throw new RunnerError("INVALID_CONFIG", `runner ${config.runner} has no llm engine`);
    this.llm = engine.llm;
  }

  bounds(req: LlmRequest): UnitBounds {
    this.check(req);
    return llmBounds(req);
  }

  async run(req: LlmRequest, opts?: RunOptions): Promise<RunResult<ChatCompletion>> {
    const bounds = this.bounds(req);
    const progress: LlmProgress = { tokens: 0, exact: false, finishReason: null };
    const output = await this.exec(
      opts,
      (signal) => this.llm.complete(req, Number(bounds.maximum), signal, progress),
      () => llmUsage(progress, bounds),
    );
    return { output, usage: llmUsage(progress, bounds) };
  }

  async stream(req: LlmRequest, opts?: RunOptions): Promise<LlmStream> {
    const bounds = this.bounds(req);
    const caller = opts?.signal;
    if (caller?.aborted) throw cancelled(ZERO_USAGE);
    const release = this.acquire();
    const controller = new AbortController();
    const onAbort = () => controller.abort(caller?.reason);
    caller?.addEventListener("abort", onAbort, { once: true });
    const progress: LlmProgress = { tokens: 0, exact: false, finishReason: null };
    const done = () => {
      caller?.removeEventListener("abort", onAbort);
      release();
    };
    let source: AsyncIterable<ChatCompletionChunk>;
    try {
      source = await this.llm.stream(req, Number(bounds.maximum), controller.signal, progress);
    } catch (e) {
      const error = toRunnerError(e, controller.signal, () => llmUsage(progress, bounds));
      done();
      controller.abort();
      throw error;
    }
    return new LlmStreamImpl(source, progress, bounds, controller, done);
  }
}

/**
 * Wraps an engine's chunk source: one iteration; `result` settles exactly once, when the source
 * ends, fails, the caller aborts, or the consumer stops iterating (which cancels the upstream).
 */
class LlmStreamImpl implements LlmStream {
  readonly result: Promise<LlmStreamEnd>;
  private settleResult!: (end: LlmStreamEnd) => void;
  private settled = false;
  private iterated = false;

  constructor(
    private readonly source: AsyncIterable<ChatCompletionChunk>,
    private readonly progress: LlmProgress,
    private readonly bounds: UnitBounds,
    private readonly controller: AbortController,
    private readonly done: () => void,
  ) {
    this.result = new Promise((resolve) => (this.settleResult = resolve));
    // Aborted before anyone iterates: nothing will run the generator's cleanup, so settle here.
    controller.signal.addEventListener("abort", () => {
      if (!this.iterated) this.settle("cancelled");
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<ChatCompletionChunk> {
    if (this.iterated) throw new Error("an LlmStream can be iterated only once");
    this.iterated = true;
    if (this.settled) return (async function* () {})();
    return this.iterate();
  }

  private async *iterate(): AsyncGenerator<ChatCompletionChunk> {
    let outcome: StreamOutcome = "cancelled"; // stays so if the consumer stops early
    let error: RunnerError | undefined;
    try {
      for await (const chunk of this.source) yield chunk;
      outcome = "completed";
    } catch (e) {
      if (this.controller.signal.aborted) {
        outcome = "cancelled"; // the caller's own abort ends the iteration quietly
      } else {
        outcome = "failed";
        error = toRunnerError(e, this.controller.signal);
        throw error;
      }
    } finally {
      this.controller.abort(); // stop the engine whatever happened (no-op when it finished)
      this.settle(outcome, error);
    }
  }

  private settle(outcome: StreamOutcome, error?: RunnerError): void {
    if (this.settled) return;
    this.settled = true;
    this.done();
    const end: { -readonly [K in keyof LlmStreamEnd]: LlmStreamEnd[K] } = {
      outcome,
      usage: llmUsage(this.progress, this.bounds),
      finishReason: this.progress.finishReason,
    };
    const prompt = this.progress.usage?.prompt_tokens ?? this.progress.promptTokens;
    if (typeof prompt === "number") end.promptTokens = prompt;
    if (error) end.error = error;
    this.settleResult(end);
  }
}

class TextToImageRunnerImpl extends RunnerCore implements TextToImageRunner {
  readonly pipeline = "text-to-image" as const;

  bounds(req: TextToImageRequest): UnitBounds {
    this.check(req);
    return textToImageBounds(req);
  }

  async run(req: TextToImageRequest, opts?: RunOptions): Promise<RunResult<ImageResponse>> {
    const bounds = this.bounds(req);
    const output = await this.exec(opts, (signal) => this.engine.textToImage!(req, signal));
    const delivered = Math.min(output.images.length, req.num_images_per_prompt);
    return { output, usage: clampUsage(imagePixels(req.width, req.height, delivered), bounds, false) };
  }
}

class ImageToImageRunnerImpl extends RunnerCore implements ImageToImageRunner {
  readonly pipeline = "image-to-image" as const;

  bounds(req: ImageToImageRequest): UnitBounds {
    this.check(req);
    return imageToImageBounds(req);
  }

  async run(req: ImageToImageRequest, opts?: RunOptions): Promise<RunResult<ImageResponse>> {
    const bounds = this.bounds(req);
    const { width, height } = probeImageSize(req.image.data);
    const output = await this.exec(opts, (signal) => this.engine.imageToImage!(req, signal));
    const delivered = Math.min(output.images.length, req.num_images_per_prompt);
    return { output, usage: clampUsage(imagePixels(width, height, delivered), bounds, false) };
  }
}

class AudioToTextRunnerImpl extends RunnerCore implements AudioToTextRunner {
  readonly pipeline = "audio-to-text" as const;

  bounds(req: AudioToTextRequest): UnitBounds {
    this.check(req);
    const { estimate, maximum } = audioBounds(req);
    return { estimate, maximum };
  }

  async run(req: AudioToTextRequest, opts?: RunOptions): Promise<RunResult<TextResponse>> {
    this.check(req);
    const bounds = audioBounds(req);
    const output = await this.exec(opts, (signal) => this.engine.audioToText!(req, bounds, signal));
    // Decoded input duration; a declared duration is the client's word, so marked estimated.
    return { output, usage: clampUsage(bounds.maximum, bounds, !bounds.decoded) };
  }
}

class TextToSpeechRunnerImpl extends RunnerCore implements TextToSpeechRunner {
  readonly pipeline = "text-to-speech" as const;

  bounds(req: TextToSpeechRequest): UnitBounds {
    this.check(req);
    return textToSpeechBounds(req);
  }

  async run(req: TextToSpeechRequest, opts?: RunOptions): Promise<RunResult<AudioResponse>> {
    const bounds = this.bounds(req);
    const output = await this.exec(opts, (signal) => this.engine.textToSpeech!(req, signal));
    return { output, usage: clampUsage(bounds.maximum, bounds, false) };
  }
}

class EmbeddingsRunnerImpl extends RunnerCore implements EmbeddingsRunner {
  readonly pipeline = "embeddings" as const;

  bounds(req: EmbeddingsRequest): UnitBounds {
    this.check(req);
    return embeddingsBounds(req);
  }

  async run(req: EmbeddingsRequest, opts?: RunOptions): Promise<RunResult<EmbeddingsResponse>> {
    const bounds = this.bounds(req);
    const { output, promptTokens } = await this.exec(opts, (signal) => this.engine.embeddings!(req, signal));
    if (promptTokens !== undefined) return { output, usage: clampUsage(BigInt(promptTokens), bounds, false) };
    const inputs = typeof req.input === "string" ? [req.input] : req.input;
    const counted = inputs.reduce((n, s) => n + countTextTokens(s), 0);
    return { output, usage: clampUsage(BigInt(counted), bounds, true) };
  }
}

const METHOD: Record<Pipeline, keyof Engine> = {
  llm: "llm",
  "text-to-image": "textToImage",
  "image-to-image": "imageToImage",
  "audio-to-text": "audioToText",
  "text-to-speech": "textToSpeech",
  embeddings: "embeddings",
};

/**
 * Wraps an engine as the runner of `config.pipeline`. Engines come from createRunner; tests and
 * custom backends may build their own.
 *
 * @example
 * const runner = runnerFromEngine(parseRunnerConfig(entry), new SyntheticEngine(opts));
 */
export function runnerFromEngine(config: RunnerConfig, engine: Engine): Runner {
  if (engine[METHOD[config.pipeline]] === undefined) {
    throw new RunnerError("INVALID_CONFIG", `runner ${config.runner} does not serve ${config.pipeline}`);
  }
  switch (config.pipeline) {
    case "llm":
      return new LlmRunnerImpl(config, engine);
    case "text-to-image":
      return new TextToImageRunnerImpl(config, engine);
    case "image-to-image":
      return new ImageToImageRunnerImpl(config, engine);
    case "audio-to-text":
      return new AudioToTextRunnerImpl(config, engine);
    case "text-to-speech":
      return new TextToSpeechRunnerImpl(config, engine);
    case "embeddings":
      return new EmbeddingsRunnerImpl(config, engine);
  }
}
