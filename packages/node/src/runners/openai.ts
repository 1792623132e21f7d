// Engine proxying to any OpenAI-compatible server (vLLM, llama.cpp, Ollama, ...):
// /v1/chat/completions (streamed or not), /v1/embeddings, /v1/images/generations,
// /v1/audio/transcriptions and /v1/audio/speech. Units come from the server's `usage`.
import { toDataUri } from "./dataUri.js";
import type { Engine, LlmProgress } from "./engine.js";
import { RunnerError } from "./errors.js";
import { probeImageSize } from "./imageSize.js";
import { chatChunks, completionFromJson, expectEventStream } from "./proxyLlm.js";
import type { AudioBounds } from "./units.js";
import { UpstreamCall } from "./upstream.js";
import type { UpstreamOptions } from "./upstream.js";
import type {
  AudioResponse,
  AudioToTextRequest,
  ChatCompletion,
  ChatCompletionChunk,
  Embedding,
  EmbeddingsRequest,
  EmbeddingsResponse,
  ImageResponse,
  LlmRequest,
  RunnerHealth,
  TextChunk,
  TextResponse,
  TextToImageRequest,
  TextToSpeechRequest,
} from "./types.js";

export interface OpenAiEngineOptions extends UpstreamOptions {
  /** Our model id (what clients asked for, put back in responses). */
  readonly modelId: string;
  /** The model name sent upstream. */
  readonly upstreamModel: string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function shapeError(what: string): RunnerError {
  return new RunnerError("UPSTREAM_ERROR", `unexpected ${what} response from upstream`);
}

/**
 * The `openai` runner's engine.
 *
 * @example
 * const engine = new OpenAiEngine({ baseUrl: "http://127.0.0.1:11434", modelId: "llama", upstreamModel: "llama3.1:8b", timeoutMs: 60_000 });
 */
export class OpenAiEngine implements Engine {
  constructor(private readonly opts: OpenAiEngineOptions) {}

  private call(signal?: AbortSignal): UpstreamCall {
    return new UpstreamCall(this.opts, signal);
  }

  async health(signal?: AbortSignal): Promise<RunnerHealth> {
    const call = this.call(signal);
    try {
      const res = await call.send({ method: "GET", path: "/v1/models" });
      await call.readText(res, 1024 * 1024);
      return { ok: true, status: "OK" };
    } catch (e) {
      return { ok: false, status: e instanceof Error ? e.message : String(e) };
    } finally {
      call.dispose();
    }
  }

  private chatBody(req: LlmRequest, maxTokens: number, stream: boolean): Obj {
    const body: Obj = {
      ...req.extra,
      model: this.opts.upstreamModel,
      messages: req.messages,
      max_tokens: maxTokens,
      stream,
    };
    for (const k of ["temperature", "top_p", "top_k", "stop", "seed"] as const)
      if (req[k] !== undefined) body[k] = req[k];
    if (stream) body.stream_options = { include_usage: true };
    return body;
  }

  private modelName(req: { model?: string }): string {
    return req.model || this.opts.modelId;
  }

  readonly llm = {
    complete: async (
      req: LlmRequest,
      maxTokens: number,
      signal: AbortSignal,
      progress: LlmProgress,
    ): Promise<ChatCompletion> => {
      const call = this.call(signal);
      try {
        const res = await call.send({
          method: "POST",
          path: "/v1/chat/completions",
          json: this.chatBody(req, maxTokens, false),
        });
        return completionFromJson(await call.readJson(res), this.modelName(req), progress);
      } finally {
        call.dispose();
      }
    },
    stream: async (
      req: LlmRequest,
      maxTokens: number,
      signal: AbortSignal,
      progress: LlmProgress,
    ): Promise<AsyncIterable<ChatCompletionChunk>> => {
      const call = this.call(signal);
      try {
        const res = await call.send({
          method: "POST",
          path: "/v1/chat/completions",
          json: this.chatBody(req, maxTokens, true),
        });
        expectEventStream(res);
        return chatChunks(call, res, this.modelName(req), progress);
      } catch (e) {
        call.dispose();
        throw e;
      }
    },
  };

  async embeddings(
    req: EmbeddingsRequest,
    signal: AbortSignal,
  ): Promise<{ output: EmbeddingsResponse; promptTokens?: number }> {
    const call = this.call(signal);
    try {
      const body: Obj = { model: this.opts.upstreamModel, input: req.input };
      if (req.encoding_format) body.encoding_format = req.encoding_format;
      if (req.dimensions) body.dimensions = req.dimensions;
      const res = await call.send({ method: "POST", path: "/v1/embeddings", json: body });
      const j = await call.readJson(res);
      if (!isObj(j) || !Array.isArray(j.data)) throw shapeError("embeddings");
      const data: Embedding[] = j.data.map((d: unknown, i: number) => {
        if (!isObj(d) || !(Array.isArray(d.embedding) || typeof d.embedding === "string"))
          throw shapeError("embeddings");
        return {
          object: "embedding",
          index: typeof d.index === "number" ? d.index : i,
          embedding: d.embedding as number[] | string,
        };
      });
      const usage = isObj(j.usage) ? j.usage : {};
      const prompt = usage.prompt_tokens;
      const promptTokens =
        typeof prompt === "number" && Number.isSafeInteger(prompt) && prompt >= 0 ? prompt : undefined;
      const output: EmbeddingsResponse = {
        object: "list",
        data,
        model: this.modelName(req),
        usage: {
          prompt_tokens: promptTokens ?? 0,
          total_tokens: typeof usage.total_tokens === "number" ? usage.total_tokens : (promptTokens ?? 0),
        },
      };
      return promptTokens === undefined ? { output } : { output, promptTokens };
    } finally {
      call.dispose();
    }
  }

  async textToImage(req: TextToImageRequest, signal: AbortSignal): Promise<ImageResponse> {
    const call = this.call(signal);
    try {
      const body: Obj = {
        model: this.opts.upstreamModel,
        prompt: req.prompt,
        n: req.num_images_per_prompt,
        size: `${req.width}x${req.height}`,
        response_format: "b64_json",
      };
      if (req.seed !== undefined) body.seed = req.seed;
      const res = await call.send({ method: "POST", path: "/v1/images/generations", json: body });
      const j = await call.readJson(res);
      if (!isObj(j) || !Array.isArray(j.data)) throw shapeError("images");
      const seed = req.seed ?? 0;
      return {
        images: j.data.map((d: unknown, i: number) => {
          if (isObj(d) && typeof d.b64_json === "string") {
            const bytes = Buffer.from(d.b64_json, "base64");
            let type = "image/png";
            try {
              type = `image/${probeImageSize(bytes).format}`;
            } catch {
              // unknown format: keep image/png
            }
            return { url: toDataUri(type, bytes), seed: seed + i, nsfw: false };
          }
          if (isObj(d) && typeof d.url === "string") return { url: d.url, seed: seed + i, nsfw: false };
          throw shapeError("images");
        }),
      };
    } finally {
      call.dispose();
    }
  }

  async audioToText(
    req: AudioToTextRequest,
    _bounds: AudioBounds,
    signal: AbortSignal,
  ): Promise<TextResponse> {
    const call = this.call(signal);
    try {
      const form = new FormData();
      form.append(
        "file",
        new Blob([new Uint8Array(req.audio.data)], {
          type: req.audio.contentType ?? "application/octet-stream",
        }),
        req.audio.filename ?? "audio.wav",
      );
      form.append("model", this.opts.upstreamModel);
      form.append("response_format", "json");
      const res = await call.send({ method: "POST", path: "/v1/audio/transcriptions", form });
      const j = await call.readJson(res);
      if (!isObj(j) || typeof j.text !== "string") throw shapeError("transcription");
      const chunks: TextChunk[] = Array.isArray(j.segments)
        ? j.segments
            .filter(
              (s: unknown): s is Obj =>
                isObj(s) &&
                typeof s.start === "number" &&
                typeof s.end === "number" &&
                typeof s.text === "string",
            )
            .map((s) => ({
              timestamp: [s.start as number, s.end as number] as const,
              text: s.text as string,
            }))
        : [];
      return { text: j.text, chunks };
    } finally {
      call.dispose();
    }
  }

  async textToSpeech(req: TextToSpeechRequest, signal: AbortSignal): Promise<AudioResponse> {
    const call = this.call(signal);
    try {
      const body = {
        model: this.opts.upstreamModel,
        input: req.text,
        voice: req.description || "alloy",
        response_format: "wav",
      };
      const res = await call.send({ method: "POST", path: "/v1/audio/speech", json: body });
      const type = (res.headers.get("content-type") ?? "audio/wav").split(";")[0]!.trim();
      if (!type.startsWith("audio/")) throw shapeError("speech");
      return { audio: { url: toDataUri(type, await call.readBytes(res)) } };
    } finally {
      call.dispose();
    }
  }
}
