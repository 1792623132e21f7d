// Estimate accuracy as reputation: how close an orchestrator's quoted estimate (estUnits) is to what
// its receipts then charge (units), per orchestrator and pipeline, as an exponential moving average.

/**
 * The subject figures are kept for: one orchestrator's estimates for one pipeline (an LLM's token
 * estimates say nothing about its image estimates, which are exact by construction).
 * @example accuracy.observe(accuracySubject(uri, "llm"), units, estUnits)
 */
export function accuracySubject(orchestrator: string, pipeline: string): string {
  return `${pipeline} ${orchestrator}`;
}

/** One orchestrator's accuracy figures. */
export interface AccuracyFigure {
  /** Moving average of actual / estimated (receipt units / quote estUnits). 1 = exact. */
  ratio: number;
  /** The score selection uses: min(ratio, 1/ratio) in (0, 1]. */
  score: number;
  /** Receipts observed. */
  samples: number;
}

/**
 * Per-subject (`accuracySubject`: orchestrator and pipeline) moving average of actual / estimated units:
 *
 *   r_i = units_i / estUnits_i            (one receipt; estUnits 0 counts as exact when units is 0)
 *   ratio ← ratio + alpha × (r_i − ratio) (the first sample sets ratio = r_i)
 *   score = min(ratio, 1 / ratio)         (1 when estimates are exact; symmetric in log space, so
 *                                          over- and under-estimating by the same factor weigh the same)
 *
 * Over-estimates tie up more of the payer's approval (and the key's reservation) than needed;
 * under-estimates surprise it. Floats are fine: the score only orders candidates, never touches money.
 * An orchestrator without samples has no score (selection treats it as exact, so new nodes get tried).
 *
 * @example const a = new EstimateAccuracy(0.2); a.observe(uri, 97n, 128n); a.score(uri) // ≈ 0.76
 */
export class EstimateAccuracy {
  readonly #alpha: number;
  readonly #figures = new Map<string, AccuracyFigure>();

  constructor(alpha = 0.2) {
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError("alpha must be in (0, 1]");
    this.#alpha = alpha;
  }

  /** Records one receipt against its quote's estimate. @example a.observe(uri, units, estUnits) */
  observe(orchestrator: string, units: bigint, estUnits: bigint): AccuracyFigure {
    // Ratios of bigints: scaled to 1e6 first, so huge unit counts (pixels) keep their precision.
    const r =
      estUnits === 0n ? (units === 0n ? 1 : 1_000_000) : Number((units * 1_000_000n) / estUnits) / 1e6;
    const prev = this.#figures.get(orchestrator);
    const ratio = prev === undefined ? r : prev.ratio + this.#alpha * (r - prev.ratio);
    const f: AccuracyFigure = {
      ratio,
      score: ratio <= 0 ? 0 : Math.min(ratio, 1 / ratio),
      samples: (prev?.samples ?? 0) + 1,
    };
    this.#figures.set(orchestrator, f);
    return f;
  }

  /** The selection score in [0, 1], undefined before the first receipt. @example a.score(uri) */
  score(orchestrator: string): number | undefined {
    return this.#figures.get(orchestrator)?.score;
  }

  /** The figures of one orchestrator. @example a.figure(uri)?.ratio */
  figure(orchestrator: string): AccuracyFigure | undefined {
    const f = this.#figures.get(orchestrator);
    return f === undefined ? undefined : { ...f };
  }

  /** Every orchestrator's figures. @example Object.fromEntries(a.all()) */
  all(): [string, AccuracyFigure][] {
    return [...this.#figures].map(([k, v]) => [k, { ...v }]);
  }
}
