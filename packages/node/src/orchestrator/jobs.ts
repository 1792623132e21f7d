// From an HTTP body to a typed job for one runner: which model, which request, which bounds.
import { RunnerError } from "../runners/errors.js";
import {
  parseAudioToTextForm,
  parseEmbeddingsRequest,
  parseImageToImageForm,
  parseLlmRequest,
  parseTextToImageRequest,
  parseTextToSpeechRequest,
} from "../runners/requests.js";
import type { Runner } from "../runners/runner.js";
import type { Pipeline, UnitBounds } from "../runners/types.js";
import { OrchestratorError } from "./errors.js";

/** A request body as received: parsed JSON, or a multipart form. */
export type JobBody = { kind: "json"; value: unknown } | { kind: "form"; value: FormData };

/** Pipelines whose requests are multipart forms (ai-runner's API). */
export const MULTIPART_PIPELINES: ReadonlySet<Pipeline> = new Set(["image-to-image", "audio-to-text"]);

/**
 * The model a body asks for: `model` for llm and embeddings (OpenAI / ai-runner `/llm`), `model_id`
 * elsewhere (ai-runner), undefined when absent.
 * @example requestedModelId("llm", { kind: "json", value: { model: "m" } }) // "m"
 */
export function requestedModelId(pipeline: Pipeline, body: JobBody): string | undefined {
  const field = pipeline === "llm" || pipeline === "embeddings" ? "model" : "model_id";
  let v: unknown;
  if (body.kind === "form") v = body.value.get(field);
  else if (typeof body.value === "object" && body.value !== null)
    v = (body.value as Record<string, unknown>)[field];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/**
 * The runner for a request: the named model, or the pipeline's only model when none is named.
 * Throws MODEL_NOT_FOUND (400).
 * @example const runner = pickRunner(runners, "llm", "meta-llama/Llama-3.1-8B-Instruct")
 */
export function pickRunner(
  runners: readonly Runner[],
  pipeline: Pipeline,
  modelId: string | undefined,
): Runner {
  const candidates = runners.filter((r) => r.pipeline === pipeline);
  const found =
    modelId === undefined
      ? candidates.length === 1
        ? candidates[0]
        : undefined
      : candidates.find((r) => r.modelId === modelId);
  if (!found) {
    throw new OrchestratorError(
      "MODEL_NOT_FOUND",
      modelId === undefined
        ? `model is required: this orchestrator serves ${candidates.length} ${pipeline} models`
        : `model ${modelId} is not served for ${pipeline}`,
      400,
      { served: candidates.map((r) => r.modelId) },
    );
  }
  return found;
}

/** A parsed job and its unit bounds. */
export interface ParsedJob {
  request: unknown;
  bounds: UnitBounds;
  /** LLM only: the client asked for an SSE stream. */
  stream: boolean;
}

/**
 * Parses the body for the runner's pipeline and asks the runner for its bounds (both throw
 * RunnerError BAD_REQUEST on bad input).
 * @example const { request, bounds } = await parseJob(runner, body)
 */
export async function parseJob(runner: Runner, body: JobBody): Promise<ParsedJob> {
  const json = (): unknown => {
    if (body.kind !== "json") throw new RunnerError("BAD_REQUEST", "expected a JSON body");
    return body.value;
  };
  const form = (): FormData => {
    if (body.kind !== "form") throw new RunnerError("BAD_REQUEST", "expected a multipart/form-data body");
    return body.value;
  };
  switch (runner.pipeline) {
    case "llm": {
      const request = parseLlmRequest(json());
      return { request, bounds: runner.bounds(request), stream: request.stream === true };
    }
    case "text-to-image": {
      const request = parseTextToImageRequest(json());
      return { request, bounds: runner.bounds(request), stream: false };
    }
    case "image-to-image": {
      const request = await parseImageToImageForm(form());
      return { request, bounds: runner.bounds(request), stream: false };
    }
    case "audio-to-text": {
      const request = await parseAudioToTextForm(form());
      return { request, bounds: runner.bounds(request), stream: false };
    }
    case "text-to-speech": {
      const request = parseTextToSpeechRequest(json());
      return { request, bounds: runner.bounds(request), stream: false };
    }
    case "embeddings": {
      const request = parseEmbeddingsRequest(json());
      return { request, bounds: runner.bounds(request), stream: false };
    }
  }
}

/**
 * Runs a non-streamed job on its runner.
 * @example const { output, usage } = await runJob(runner, job.request, signal)
 */
export function runJob(
  runner: Runner,
  request: unknown,
  signal: AbortSignal,
): Promise<{ output: unknown; usage: { units: bigint } }> {
  // The request was parsed for this runner's pipeline by parseJob.
  return (
    runner.run as (
      req: unknown,
      opts: { signal: AbortSignal },
    ) => Promise<{ output: unknown; usage: { units: bigint } }>
  )(request, { signal });
}
