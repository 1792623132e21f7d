// Engine proxying to Livepeer's ai-runner HTTP API: /text-to-image (JSON), /image-to-image and
// /audio-to-text (multipart), /text-to-speech (JSON), /llm (JSON, SSE when streamed), /health.
// Requests always carry explicit sizes and max_tokens, so what runs matches what is billed.
import type { Engine, LlmProgress } from "./engine.js";
import { RunnerError } from "./errors.js";
import { chatChunks, completionFromJson, expectEventStream } from "./proxyLlm.js";
import type { AudioBounds } from "./units.js";
import { UpstreamCall } from "./upstream.js";
import type { UpstreamOptions } from "./upstream.js";
import type {
  AudioResponse,
  AudioToTextRequest,
  ChatCompletion,
  ChatCompletionChunk,
  ImageResponse,
  ImageToImageRequest,
  LlmRequest,
  Media,
  RunnerHealth,
  TextChunk,
  TextResponse,
  TextToImageRequest,
  TextToSpeechRequest,
} from "./types.js";

export interface AiRunnerEngineOptions extends UpstreamOptions {
  /** The model the ai-runner container was started with (sent as model_id / model). */
  readonly modelId: string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function shapeError(what: string, body: unknown): RunnerError {
  return new RunnerError("UPSTREAM_ERROR", `unexpected ${what} response from ai-runner`, {
    details: { body: JSON.stringify(body)?.slice(0, 200) },
  });
}

function imageResponse(j: unknown): ImageResponse {
  if (!isObj(j) || !Array.isArray(j.images)) throw shapeError("image", j);
  const images: Media[] = j.images.map((m: unknown) => {
    if (!isObj(m) || typeof m.url !== "string") throw shapeError("image", j);
    return { url: m.url, seed: typeof m.seed === "number" ? m.seed : 0, nsfw: m.nsfw === true };
  });
  return { images };
}

/** Copies the defined optional fields of `src` into a form as strings. */
function appendFields(form: FormData, src: Obj, keys: readonly string[]): void {
  for (const k of keys) if (src[k] !== undefined) form.append(k, String(src[k]));
}

/**
 * The `ai-runner` runner's engine.
 *
 * @example
 * const engine = new AiRunnerEngine({ baseUrl: "http://127.0.0.1:8000", modelId: "ByteDance/SDXL-Lightning", timeoutMs: 120_000 });
 */
export class AiRunnerEngine implements Engine {
  constructor(private readonly opts: AiRunnerEngineOptions) {}

  private call(signal?: AbortSignal): UpstreamCall {
    return new UpstreamCall(this.opts, signal);
  }

  private async json(path: string, body: unknown, signal: AbortSignal): Promise<unknown> {
    const call = this.call(signal);
    try {
      return await call.readJson(await call.send({ method: "POST", path, json: body }));
    } finally {
      call.dispose();
    }
  }

  private async form(path: string, form: FormData, signal: AbortSignal): Promise<unknown> {
    const call = this.call(signal);
    try {
      return await call.readJson(await call.send({ method: "POST", path, form }));
    } finally {
      call.dispose();
    }
  }

  async health(signal?: AbortSignal): Promise<RunnerHealth> {
    const call = this.call(signal);
    try {
      const j = await call.readJson(await call.send({ method: "GET", path: "/health" }));
      const status = isObj(j) && typeof j.status === "string" ? j.status : "UNKNOWN";
      return { ok: status === "OK" || status === "IDLE", status };
    } catch (e) {
      return { ok: false, status: e instanceof Error ? e.message : String(e) };
    } finally {
      call.dispose();
    }
  }

  private llmBody(req: LlmRequest, maxTokens: number, stream: boolean): Obj {
    const body: Obj = { model: this.opts.modelId, messages: req.messages, max_tokens: maxTokens, stream };
    for (const k of ["temperature", "top_p", "top_k"] as const) if (req[k] !== undefined) body[k] = req[k];
    return body;
  }

  readonly llm = {
    complete: async (
      req: LlmRequest,
      maxTokens: number,
      signal: AbortSignal,
      progress: LlmProgress,
    ): Promise<ChatCompletion> => {
      const j = await this.json("/llm", this.llmBody(req, maxTokens, false), signal);
      return completionFromJson(j, req.model || this.opts.modelId, progress);
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
          path: "/llm",
          json: this.llmBody(req, maxTokens, true),
        });
        expectEventStream(res);
        return chatChunks(call, res, req.model || this.opts.modelId, progress);
      } catch (e) {
        call.dispose();
        throw e;
      }
    },
  };

  async textToImage(req: TextToImageRequest, signal: AbortSignal): Promise<ImageResponse> {
    const body: Obj = { ...req, model_id: this.opts.modelId };
    return imageResponse(await this.json("/text-to-image", body, signal));
  }

  async imageToImage(req: ImageToImageRequest, signal: AbortSignal): Promise<ImageResponse> {
    const form = new FormData();
    form.append("prompt", req.prompt);
    form.append(
      "image",
      new Blob([new Uint8Array(req.image.data)], {
        type: req.image.contentType ?? "application/octet-stream",
      }),
      req.image.filename ?? "image",
    );
    form.append("model_id", this.opts.modelId);
    appendFields(form, req as unknown as Obj, [
      "num_images_per_prompt",
      "seed",
      "strength",
      "guidance_scale",
      "image_guidance_scale",
      "negative_prompt",
      "num_inference_steps",
      "safety_check",
      "loras",
    ]);
    return imageResponse(await this.form("/image-to-image", form, signal));
  }

  async audioToText(
    req: AudioToTextRequest,
    _bounds: AudioBounds,
    signal: AbortSignal,
  ): Promise<TextResponse> {
    const form = new FormData();
    form.append(
      "audio",
      new Blob([new Uint8Array(req.audio.data)], {
        type: req.audio.contentType ?? "application/octet-stream",
      }),
      req.audio.filename ?? "audio",
    );
    form.append("model_id", this.opts.modelId);
    if (req.return_timestamps !== undefined) form.append("return_timestamps", req.return_timestamps);
    const j = await this.form("/audio-to-text", form, signal);
    if (!isObj(j) || typeof j.text !== "string") throw shapeError("audio-to-text", j);
    const chunks: TextChunk[] = Array.isArray(j.chunks)
      ? j.chunks
          .filter((c: unknown): c is Obj => isObj(c) && typeof c.text === "string")
          .map((c) => {
            const ts = Array.isArray(c.timestamp) ? c.timestamp : [];
            return { timestamp: [Number(ts[0] ?? 0), Number(ts[1] ?? 0)] as const, text: c.text as string };
          })
      : [];
    return { text: j.text, chunks };
  }

  async textToSpeech(req: TextToSpeechRequest, signal: AbortSignal): Promise<AudioResponse> {
    const body: Obj = { model_id: this.opts.modelId, text: req.text };
    if (req.description !== undefined) body.description = req.description;
    const j = await this.json("/text-to-speech", body, signal);
    if (!isObj(j) || !isObj(j.audio) || typeof j.audio.url !== "string")
      throw shapeError("text-to-speech", j);
    return { audio: { url: j.audio.url } };
  }
}
