// Model/runner configuration entries in the spirit of go-livepeer's aiModels.json, validated into
// one typed object per (pipeline, model). Pricing fields are carried through untouched (exact
// decimal strings); pricing itself lives elsewhere.
import { RunnerError } from "./errors.js";
import { PIPELINES } from "./types.js";
import type { Pipeline } from "./types.js";

export const RUNNER_KINDS = ["synthetic", "openai", "ai-runner"] as const;
export type RunnerKind = (typeof RUNNER_KINDS)[number];

/** Which pipelines each runner kind serves. */
export const RUNNER_PIPELINES: Readonly<Record<RunnerKind, readonly Pipeline[]>> = {
  synthetic: PIPELINES,
  openai: ["llm", "embeddings", "text-to-image", "audio-to-text", "text-to-speech"],
  "ai-runner": ["llm", "text-to-image", "image-to-image", "audio-to-text", "text-to-speech"],
};

/** Default time allowed for an upstream answer, or for each wait on a stream. */
export const DEFAULT_TIMEOUT_MS = 120_000;

/** One entry as written in the models file (snake_case, like aiModels.json). */
export interface RunnerConfigEntry {
  readonly pipeline: string;
  readonly model_id: string;
  /** Wei per `pixels_per_unit` units; a JSON number or, to stay exact, a decimal string. */
  readonly price_per_unit?: number | string;
  readonly pixels_per_unit?: number | string;
  readonly currency?: string;
  readonly warm?: boolean;
  readonly capacity?: number;
  /** Defaults to "ai-runner" when `url` is set (go-livepeer's external container). */
  readonly runner?: RunnerKind;
  readonly url?: string;
  readonly token?: string;
  /** synthetic: time to first token / image, ms. */
  readonly latency_ms?: number;
  /** synthetic: output tokens per second (absent: as fast as possible). */
  readonly tokens_per_second?: number;
  /** openai / ai-runner: upstream answer timeout, ms. */
  readonly timeout_ms?: number;
  /** openai: model name the upstream knows (e.g. Ollama's "llama3.1:8b"); default model_id. */
  readonly upstream_model?: string;
  /** go-livepeer fields, carried through. */
  readonly gateway?: string;
  readonly optimization_flags?: Readonly<Record<string, unknown>>;
}

/** A validated entry. */
export interface RunnerConfig {
  readonly pipeline: Pipeline;
  readonly modelId: string;
  /** Exact decimal string as configured; undefined means "use the node's default price". */
  readonly pricePerUnit: string | undefined;
  readonly pixelsPerUnit: bigint;
  /** "" (wei), "wei", "eth" or a fiat symbol; carried through. */
  readonly currency: string;
  readonly warm: boolean;
  /** Concurrent jobs this runner accepts; more get a CAPACITY error. */
  readonly capacity: number;
  readonly runner: RunnerKind;
  readonly url: string | undefined;
  readonly token: string | undefined;
  readonly latencyMs: number;
  readonly tokensPerSecond: number | undefined;
  readonly timeoutMs: number;
  readonly upstreamModel: string;
  readonly gateway: string | undefined;
  readonly optimizationFlags: Readonly<Record<string, unknown>> | undefined;
}

const KEYS = new Set([
  "pipeline",
  "model_id",
  "price_per_unit",
  "pixels_per_unit",
  "currency",
  "warm",
  "capacity",
  "runner",
  "url",
  "token",
  "latency_ms",
  "tokens_per_second",
  "timeout_ms",
  "upstream_model",
  "gateway",
  "optimization_flags",
]);

const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Validates one models-file entry. Errors are `INVALID_CONFIG` naming the entry and field.
 *
 * @example
 * parseRunnerConfig({ pipeline: "llm", model_id: "m", runner: "synthetic", price_per_unit: "0.5" })
 */
export function parseRunnerConfig(entry: unknown, where = "model entry"): RunnerConfig {
  const fail = (msg: string, details?: Record<string, unknown>): never => {
    throw new RunnerError("INVALID_CONFIG", `${where}: ${msg}`, details === undefined ? {} : { details });
  };
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return fail("must be an object");
  const o = entry as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KEYS.has(k));
  if (unknown.length > 0) fail(`unknown field(s) ${unknown.join(", ")}; allowed: ${[...KEYS].join(", ")}`);

  const str = (k: string): string | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") return fail(`${k} must be a string`);
    return v;
  };
  const num = (k: string, min: number, integer: boolean): number | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || (integer && !Number.isSafeInteger(v))) {
      return fail(`${k} must be ${integer ? "an integer" : "a number"} >= ${min}`, { [k]: v });
    }
    return v;
  };

  const pipeline = str("pipeline");
  if (pipeline === undefined) fail("pipeline is required");
  if (!(PIPELINES as readonly string[]).includes(pipeline!))
    fail(`unknown pipeline "${pipeline}"; expected one of ${PIPELINES.join(", ")}`);
  const modelId = str("model_id");
  if (modelId === undefined || modelId.trim() === "") fail("model_id is required");
  where = `${where} (${pipeline} ${modelId})`;

  let pricePerUnit: string | undefined;
  const p = o.price_per_unit;
  if (typeof p === "number") {
    if (!Number.isFinite(p) || p < 0)
      fail("price_per_unit must be a non-negative number", { price_per_unit: p });
    pricePerUnit = String(p);
  } else if (typeof p === "string") {
    if (!DECIMAL.test(p.trim())) fail("price_per_unit must be a non-negative decimal", { price_per_unit: p });
    pricePerUnit = p.trim();
  } else if (p !== undefined && p !== null) {
    fail("price_per_unit must be a number or a decimal string");
  }

  let pixelsPerUnit = 1n;
  const ppu = o.pixels_per_unit;
  if (ppu !== undefined && ppu !== null) {
    const ok =
      (typeof ppu === "number" && Number.isSafeInteger(ppu) && ppu > 0) ||
      (typeof ppu === "string" && /^[1-9]\d*$/.test(ppu));
    if (!ok) fail("pixels_per_unit must be a positive integer", { pixels_per_unit: ppu });
    pixelsPerUnit = BigInt(ppu as number | string);
  }

  const url = str("url");
  let runner = o.runner as string | undefined;
  if (runner === undefined) {
    if (url === undefined)
      fail(
        `runner is required (${RUNNER_KINDS.join(", ")}); go-livepeer's managed containers are not supported`,
      );
    runner = "ai-runner";
  }
  if (!(RUNNER_KINDS as readonly string[]).includes(runner!))
    fail(`unknown runner "${runner}"; expected one of ${RUNNER_KINDS.join(", ")}`);
  const kind = runner as RunnerKind;
  if (!RUNNER_PIPELINES[kind].includes(pipeline as Pipeline)) {
    fail(`runner ${kind} does not serve ${pipeline}; it serves ${RUNNER_PIPELINES[kind].join(", ")}`);
  }
  if (kind === "synthetic") {
    if (url !== undefined) fail("url does not apply to the synthetic runner");
    for (const k of ["timeout_ms", "upstream_model", "token"])
      if (o[k] !== undefined) fail(`${k} does not apply to the synthetic runner`);
  } else {
    if (url === undefined) fail(`url is required for runner ${kind}`);
    let parsed: URL;
    try {
      parsed = new URL(url!);
    } catch {
      return fail("url is not a valid URL", { url });
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
      fail("url must be http or https", { url });
    for (const k of ["latency_ms", "tokens_per_second"])
      if (o[k] !== undefined) fail(`${k} applies to the synthetic runner only`);
    if (kind === "ai-runner" && o.upstream_model !== undefined)
      fail("upstream_model applies to the openai runner only");
  }

  const warm = o.warm;
  if (warm !== undefined && typeof warm !== "boolean") fail("warm must be a boolean");
  const flags = o.optimization_flags;
  if (flags !== undefined && (typeof flags !== "object" || flags === null || Array.isArray(flags)))
    fail("optimization_flags must be an object");
  const tps = num("tokens_per_second", 0, false);
  if (tps === 0) fail("tokens_per_second must be > 0 (omit it for unpaced output)");
  const timeoutMs = num("timeout_ms", 1, true) ?? DEFAULT_TIMEOUT_MS;

  return {
    pipeline: pipeline as Pipeline,
    modelId: modelId!,
    pricePerUnit,
    pixelsPerUnit,
    currency: str("currency") ?? "",
    warm: (warm as boolean | undefined) ?? false,
    capacity: num("capacity", 1, true) ?? 1,
    runner: kind,
    url: url === undefined ? undefined : url.replace(/\/+$/, ""),
    token: str("token"),
    latencyMs: num("latency_ms", 0, false) ?? 0,
    tokensPerSecond: tps,
    timeoutMs,
    upstreamModel: str("upstream_model") ?? modelId!,
    gateway: str("gateway"),
    optimizationFlags: flags as Record<string, unknown> | undefined,
  };
}

/**
 * Validates a whole models file (an array); (pipeline, model_id) pairs must be unique.
 *
 * @example
 * parseRunnerConfigs(JSON.parse(readFileSync("models.json", "utf8")))
 */
export function parseRunnerConfigs(entries: unknown): RunnerConfig[] {
  if (!Array.isArray(entries))
    throw new RunnerError("INVALID_CONFIG", "models config must be an array of entries");
  const seen = new Set<string>();
  return entries.map((e, i) => {
    const c = parseRunnerConfig(e, `model entry #${i}`);
    const key = `${c.pipeline}\u0000${c.modelId}`;
    if (seen.has(key))
      throw new RunnerError("INVALID_CONFIG", `model entry #${i}: duplicate ${c.pipeline} ${c.modelId}`);
    seen.add(key);
    return c;
  });
}

/**
 * A copy safe to log: the token is masked.
 *
 * @example
 * console.log(redactRunnerConfig(config)) // token: "***"
 */
export function redactRunnerConfig(c: RunnerConfig): RunnerConfig {
  return c.token === undefined ? c : { ...c, token: "***" };
}
