import { Rational } from "@livepay/protocol";
import { describe, expect, it } from "vitest";
import { resolveGatewayConfig } from "./config.js";
import { EstimateAccuracy } from "./persistentAccuracy.js";
import { resolvePersistentGatewayConfig } from "./persistentConfig.js";
import { rankCandidates, type Candidate } from "./selection.js";

describe("estimate accuracy", () => {
  it("is a moving average of receipt units / quote estUnits, scored min(r, 1/r)", () => {
    const a = new EstimateAccuracy(0.5);
    expect(a.score("o")).toBeUndefined();
    expect(a.observe("o", 50n, 100n)).toEqual({ ratio: 0.5, score: 0.5, samples: 1 });
    const f = a.observe("o", 200n, 100n); // 0.5 + 0.5 × (2 − 0.5)
    expect(f.ratio).toBe(1.25);
    expect(f.score).toBeCloseTo(0.8, 12);
    expect(a.observe("z", 0n, 0n).score).toBe(1);
  });

  it("feeds selection: a less accurate orchestrator drops below an equal one", () => {
    const weights = resolveGatewayConfig({}).selection.weights;
    const c = (uri: string, accuracy?: number): Candidate<null> => ({
      uri,
      price: Rational.of(1n),
      stake: 1n,
      latencyMs: undefined,
      successRate: 1,
      accuracy,
      value: null,
    });
    const both = [c("a", 0.4), c("b", 0.9)];
    expect(rankCandidates(both, weights).map((x) => x.uri)).toEqual(["a", "b"]); // weight 0: ignored
    expect(rankCandidates(both, weights, Math.random, 0.15).map((x) => x.uri)).toEqual(["b", "a"]);
    expect(rankCandidates([c("a", 0.4), c("n")], weights, Math.random, 0.15)[0]!.uri).toBe("n");
  });

  it("validates the persistent config section", () => {
    expect(resolvePersistentGatewayConfig(undefined)).toMatchObject({
      mode: "off",
      feeWei: 0n,
      accuracyWeight: 0.15,
    });
    expect(resolvePersistentGatewayConfig({ mode: "relay", feeWei: "0.000001eth" }).feeWei).toBe(10n ** 12n);
    expect(() => resolvePersistentGatewayConfig({ mode: "both" })).toThrow(/persistent.mode/);
    expect(() => resolvePersistentGatewayConfig({ accuracyAlpha: 0 })).toThrow(/accuracyAlpha/);
    expect(resolveGatewayConfig({ persistent: { mode: "gateway" } }).persistent.mode).toBe("gateway");
  });
});
