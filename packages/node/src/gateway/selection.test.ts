import { Rational } from "@livepay/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { resolveGatewayConfig } from "./config.js";
import { maxPriceFor, rankCandidates, type Candidate } from "./selection.js";

const cand = (
  uri: string,
  price: bigint,
  stake: bigint,
  latencyMs?: number,
  successRate = 1,
): Candidate<string> => ({
  uri,
  price: Rational.of(price),
  stake,
  latencyMs,
  successRate,
  value: uri,
});

describe("rankCandidates", () => {
  const defaults = resolveGatewayConfig({}).selection.weights;

  it("prefers the cheapest with the default (price-heavy) weights", () => {
    const ranked = rankCandidates([cand("a", 5n, 300n), cand("b", 1n, 200n), cand("c", 2n, 100n)], defaults);
    expect(ranked.map((c) => c.uri)).toEqual(["b", "c", "a"]);
  });

  it("follows stake when only stake weighs", () => {
    const w = resolveGatewayConfig({
      selection: { weights: { price: 0, stake: 1, latency: 0, successRate: 0 } },
    }).selection.weights;
    expect(rankCandidates([cand("a", 5n, 300n), cand("b", 1n, 200n)], w)[0]!.uri).toBe("a");
  });

  it("moves a failing or slow orchestrator down", () => {
    const w = resolveGatewayConfig({
      selection: { weights: { price: 0.2, stake: 0, latency: 0.4, successRate: 0.4 } },
    }).selection.weights;
    const ranked = rankCandidates(
      [cand("flaky", 1n, 0n, 10, 0.2), cand("slow", 1n, 0n, 1000, 1), cand("good", 1n, 0n, 12, 1)],
      w,
    );
    expect(ranked.map((c) => c.uri)).toEqual(["good", "flaky", "slow"]);
  });

  it("is a permutation, deterministic without a random weight", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            price: fc.bigInt({ min: 0n, max: 10n ** 20n }),
            stake: fc.bigInt({ min: 0n, max: 10n ** 24n }),
          }),
          {
            maxLength: 8,
          },
        ),
        (xs) => {
          const cs = xs.map((x, i) => cand(`o${i}`, x.price, x.stake));
          const a = rankCandidates(cs, defaults);
          expect(a.map((c) => c.uri).sort()).toEqual(cs.map((c) => c.uri).sort());
          expect(rankCandidates([...cs].reverse(), defaults).map((c) => c.uri)).toEqual(a.map((c) => c.uri));
        },
      ),
    );
  });
});

describe("maxPriceFor", () => {
  const caps = resolveGatewayConfig({
    maxPrice: {
      global: "100",
      capabilities: [
        { pipeline: "llm", model_id: "big", price_per_unit: "50" },
        { pipeline: "llm", price_per_unit: "10" },
      ],
    },
  }).maxPrice;

  it("uses the model's cap, then the pipeline default, then the global cap", () => {
    expect(maxPriceFor("llm", "big", caps)!.eq(50n)).toBe(true);
    expect(maxPriceFor("llm", "small", caps)!.eq(10n)).toBe(true);
    expect(maxPriceFor("text-to-image", "sd", caps)!.eq(100n)).toBe(true);
    expect(maxPriceFor("llm", "x", resolveGatewayConfig({}).maxPrice)).toBeUndefined();
  });
});
