// The factory: one validated models-file entry → one runner.
import { AiRunnerEngine } from "./aiRunner.js";
import { parseRunnerConfig } from "./config.js";
import type { RunnerConfig, RunnerConfigEntry } from "./config.js";
import type { Engine } from "./engine.js";
import { OpenAiEngine } from "./openai.js";
import { runnerFromEngine } from "./runner.js";
import type { Runner } from "./runner.js";
import { SyntheticEngine } from "./synthetic.js";

/**
 * Validates a models-file entry (throws INVALID_CONFIG with a clear message) and builds its
 * runner. An already-validated RunnerConfig is accepted too.
 *
 * @example
 * const runner = createRunner({ pipeline: "llm", model_id: "m", runner: "synthetic", tokens_per_second: 50 });
 * if (runner.pipeline === "llm") for await (const c of await runner.stream(req)) process.stdout.write(c.choices[0]?.delta.content ?? "");
 */
export function createRunner(entry: RunnerConfigEntry | RunnerConfig | unknown): Runner {
  const config = isRunnerConfig(entry) ? entry : parseRunnerConfig(entry);
  return runnerFromEngine(config, engineFor(config));
}

function isRunnerConfig(v: unknown): v is RunnerConfig {
  return (
    typeof v === "object" &&
    v !== null &&
    "modelId" in v &&
    typeof (v as RunnerConfig).pixelsPerUnit === "bigint"
  );
}

function engineFor(c: RunnerConfig): Engine {
  switch (c.runner) {
    case "synthetic":
      return new SyntheticEngine({
        modelId: c.modelId,
        latencyMs: c.latencyMs,
        ...(c.tokensPerSecond === undefined ? {} : { tokensPerSecond: c.tokensPerSecond }),
      });
    case "openai":
      return new OpenAiEngine({
        baseUrl: stripV1(c.url!),
        modelId: c.modelId,
        upstreamModel: c.upstreamModel,
        timeoutMs: c.timeoutMs,
        ...(c.token === undefined ? {} : { token: c.token }),
      });
    case "ai-runner":
      return new AiRunnerEngine({
        baseUrl: c.url!,
        modelId: c.modelId,
        timeoutMs: c.timeoutMs,
        ...(c.token === undefined ? {} : { token: c.token }),
      });
  }
}

/** OpenAI base URLs are often written with "/v1"; our paths include it. */
function stripV1(url: string): string {
  return url.replace(/\/v1\/?$/, "");
}
