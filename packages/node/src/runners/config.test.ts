import { describe, expect, it } from "vitest";
import { parseRunnerConfig, parseRunnerConfigs, redactRunnerConfig } from "./config.js";
import { createRunner } from "./createRunner.js";
import { isRunnerError } from "./errors.js";

function invalid(entry: unknown, message: RegExp): void {
  try {
    parseRunnerConfig(entry);
  } catch (e) {
    expect(isRunnerError(e, "INVALID_CONFIG")).toBe(true);
    expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error("expected INVALID_CONFIG");
}

describe("runner config", () => {
  it("validates an aiModels.json-style entry and carries pricing through exactly", () => {
    const c = parseRunnerConfig({
      pipeline: "text-to-image",
      model_id: "ByteDance/SDXL-Lightning",
      price_per_unit: "4768371",
      pixels_per_unit: 1,
      warm: true,
      capacity: 2,
      url: "http://127.0.0.1:8000/",
      token: "secret",
    });
    expect(c).toMatchObject({
      pipeline: "text-to-image",
      modelId: "ByteDance/SDXL-Lightning",
      pricePerUnit: "4768371",
      pixelsPerUnit: 1n,
      warm: true,
      capacity: 2,
      runner: "ai-runner", // url without runner: go-livepeer's external container
      url: "http://127.0.0.1:8000",
      timeoutMs: 120_000,
    });
    expect(redactRunnerConfig(c).token).toBe("***");
    expect(
      parseRunnerConfig({ pipeline: "llm", model_id: "m", runner: "synthetic", price_per_unit: 0.5 })
        .pricePerUnit,
    ).toBe("0.5");
    expect(
      parseRunnerConfig({
        pipeline: "llm",
        model_id: "m",
        runner: "synthetic",
        pixels_per_unit: "1000000000000000000000",
      }).pixelsPerUnit,
    ).toBe(10n ** 21n);
  });

  it("gives clear errors for bad entries", () => {
    invalid({ pipeline: "llm" }, /model_id is required/);
    invalid({ pipeline: "video", model_id: "m", runner: "synthetic" }, /unknown pipeline "video"/);
    invalid({ pipeline: "llm", model_id: "m" }, /runner is required/);
    invalid({ pipeline: "llm", model_id: "m", runner: "magic" }, /unknown runner "magic"/);
    invalid({ pipeline: "llm", model_id: "m", runner: "openai" }, /url is required/);
    invalid({ pipeline: "llm", model_id: "m", runner: "openai", url: "ftp://x" }, /http or https/);
    invalid({ pipeline: "llm", model_id: "m", runner: "openai", url: "not a url" }, /not a valid URL/);
    invalid(
      { pipeline: "image-to-image", model_id: "m", runner: "openai", url: "http://x" },
      /does not serve image-to-image/,
    );
    invalid(
      { pipeline: "embeddings", model_id: "m", url: "http://x" },
      /ai-runner does not serve embeddings/,
    );
    invalid(
      { pipeline: "llm", model_id: "m", runner: "synthetic", capacity: 0 },
      /capacity must be an integer >= 1/,
    );
    invalid(
      { pipeline: "llm", model_id: "m", runner: "synthetic", price_per_unit: "-1" },
      /non-negative decimal/,
    );
    invalid({ pipeline: "llm", model_id: "m", runner: "synthetic", pixels_per_unit: 1.5 }, /pixels_per_unit/);
    invalid(
      { pipeline: "llm", model_id: "m", runner: "synthetic", tokens_per_second: 0 },
      /tokens_per_second must be > 0/,
    );
    invalid({ pipeline: "llm", model_id: "m", runner: "synthetic", url: "http://x" }, /url does not apply/);
    invalid(
      { pipeline: "llm", model_id: "m", runner: "openai", url: "http://x", latency_ms: 5 },
      /synthetic runner only/,
    );
    invalid(
      { pipeline: "llm", model_id: "m", runner: "synthetic", pricePerUnit: 1 },
      /unknown field\(s\) pricePerUnit/,
    );
    invalid([], /must be an object/);
  });

  it("refuses duplicate (pipeline, model) entries in a file", () => {
    const e = { pipeline: "llm", model_id: "m", runner: "synthetic" };
    expect(parseRunnerConfigs([e, { ...e, pipeline: "embeddings" }])).toHaveLength(2);
    expect(() => parseRunnerConfigs([e, e])).toThrow(/#1: duplicate llm m/);
  });

  it("createRunner builds the runner of the entry's pipeline", () => {
    const r = createRunner({ pipeline: "text-to-speech", model_id: "tts", runner: "synthetic", capacity: 3 });
    expect([r.pipeline, r.unit, r.capacity, r.inFlight()]).toEqual(["text-to-speech", "character", 3, 0]);
    expect(() => createRunner({ pipeline: "llm" })).toThrow(/model_id is required/);
  });
});
