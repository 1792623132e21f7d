import type { Rational } from "@livepay/protocol";
import type { Pipeline } from "../runners/types.js";
import type { PriceCap, SelectionWeights } from "./config.js";

/** One orchestrator able to serve a job, with what selection weighs. */
export interface Candidate<T = unknown> {
  uri: string;
  /** Wei per unit, exact. */
  price: Rational;
  stake: bigint;
  /** Observed latency (ms), undefined before the first observation. */
  latencyMs: number | undefined;
  /** 0..1 */
  successRate: number;
  /** Estimate accuracy score in [0, 1] (`EstimateAccuracy.score`), undefined before any receipt. */
  accuracy?: number | undefined;
  /** Whatever the caller attaches (the priced session). */
  value: T;
}

/**
 * The price cap for a (pipeline, model) (spec §6.2): the entry for that model, else the pipeline's
 * "default" entry, else the global cap; undefined means no cap.
 * @example maxPriceFor("llm", "m", config.maxPrice) // Rational 30000/1 or undefined
 */
export function maxPriceFor(
  pipeline: Pipeline,
  model: string,
  caps: { global: Rational | undefined; capabilities: readonly PriceCap[] },
): Rational | undefined {
  const exact = caps.capabilities.find((c) => c.pipeline === pipeline && c.model === model);
  if (exact) return exact.price;
  const pipelineDefault = caps.capabilities.find((c) => c.pipeline === pipeline && c.model === undefined);
  return pipelineDefault?.price ?? caps.global;
}

/**
 * Orders candidates best first by a weighted score in [0, 1] (operator-set weights, normalized):
 *
 *   price:       cheapest price / price (the cheapest scores 1; a free one scores 1)
 *   stake:       stake / largest stake (1 for all when no stake is known)
 *   latency:     lowest latency / latency (unknown latency scores like the best: new nodes get tried)
 *   successRate: the moving average of request outcomes
 *   random:      a uniform draw, to spread load when wanted
 *
 * With `accuracyWeight` w > 0 (persistent tickets), score = (1 − w) × score + w × accuracy, where
 * accuracy = min(ratio, 1/ratio) of the moving average of receipt units / quote estUnits
 * (`persistentAccuracy.ts`); an orchestrator without receipts scores 1 (new nodes get tried).
 *
 * Floats are fine here: scores only order candidates, they never touch amounts. Ties keep a
 * deterministic order (by URI).
 *
 * @example rankCandidates(candidates, config.selection.weights)[0]
 */
export function rankCandidates<T>(
  candidates: readonly Candidate<T>[],
  weights: SelectionWeights,
  random: () => number = Math.random,
  accuracyWeight = 0,
): Candidate<T>[] {
  if (candidates.length === 0) return [];
  // Decimal string to float: only the order matters (exact to ~16 digits, any magnitude).
  const prices = candidates.map((c) => Number(c.price.toFixed(18)));
  const minPrice = Math.min(...prices);
  const maxStake = candidates.reduce((m, c) => (c.stake > m ? c.stake : m), 0n);
  const latencies = candidates.map((c) => c.latencyMs).filter((l): l is number => l !== undefined);
  const minLatency = latencies.length > 0 ? Math.max(1, Math.min(...latencies)) : 1;
  const scored = candidates.map((c, i) => {
    const p = prices[i]!;
    const priceScore = p <= 0 ? 1 : minPrice / p;
    const stakeScore = maxStake === 0n ? 1 : Number((c.stake * 1_000_000n) / maxStake) / 1_000_000;
    const latencyScore = c.latencyMs === undefined ? 1 : minLatency / Math.max(1, c.latencyMs);
    const base =
      weights.price * priceScore +
      weights.stake * stakeScore +
      weights.latency * latencyScore +
      weights.successRate * c.successRate +
      (weights.random > 0 ? weights.random * random() : 0);
    const score =
      accuracyWeight > 0 ? (1 - accuracyWeight) * base + accuracyWeight * (c.accuracy ?? 1) : base;
    return { c, score };
  });
  scored.sort((a, b) => b.score - a.score || (a.c.uri < b.c.uri ? -1 : a.c.uri > b.c.uri ? 1 : 0));
  return scored.map((s) => s.c);
}
