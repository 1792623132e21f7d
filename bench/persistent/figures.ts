// Figures of the persistent-ticket bench: samples per replay pass, percentiles raw and with GC
// pauses taken apart, and the result types.
import { overlapsAny, percentile, type Span } from "../stats.js";

/** Timed replay passes after the warm-up pass. */
export const PASSES = 5;

/** One timed sample: its wall span (for the GC check) and the time it counts (ms). */
export interface Sample {
  t0: number;
  t1: number;
  ms: number;
}

/** Samples of one step, pass by pass (index i = the run's i-th measured request in every pass). */
export type Passes = Sample[][];

/** Percentiles of one step (ms), raw and with the noise taken apart. */
export interface StepFigures {
  /** Samples per pass. */
  n: number;
  passes: number;
  /** Raw, first timed pass (what a single-pass bench reports). */
  p50: number;
  p99: number;
  /** Raw, every timed pass. */
  p99All: number;
  /** Every timed pass, without the samples whose interval overlapped a GC pause. */
  p99NoGc: number;
  /** Samples (of every pass) that overlapped a GC pause. */
  gcHit: number;
  /** p99 over requests of each request's median over the passes (NaN with one pass). */
  p99Median: number;
}

export interface PathFigures {
  /** Replayed payment work per request, per side; undefined when the side does none. */
  client?: StepFigures;
  gateway?: StepFigures;
  orchestrator: StepFigures;
  /** Per request: the sum over the sides of that request's samples (same pass). */
  sum: StepFigures;
  wallMs: number;
}

export interface PersistentBench {
  requests: number;
  direct: PathFigures;
  funded: PathFigures;
  relay: PathFigures;
  /** Live: the SDK's in-process time in payer.fetch outside the network (direct run). */
  sdkWall: StepFigures;
  /** Live: the gateway-funded payer's in-process time in payer.fetch outside the network and the store. */
  gatewayWall: StepFigures;
  /** Live durable commits (ms). */
  commitVoucher: StepFigures;
  commitReceipt: StepFigures;
  gatewayRecords: StepFigures;
  gatewayReserve: StepFigures;
  gatewayCommit: StepFigures;
  relayBilling: StepFigures;
  /** Yardstick: one bare secp256k1 recover, timed after each direct client replay sample. */
  recover: StepFigures;
  gcPauses: { count: number; p50: number; max: number };
  ticketsUsed: number;
  totalCharged: bigint;
  claim: { txs: number; gas: bigint; entries: number; gasPrice: bigint };
  fundGas: bigint;
  unlockGas: bigint;
  withdrawGas: bigint;
  /** The baseline: one redeemWinningTicket per request (measureGas(), steady state, this run). */
  redeemGas: number;
  perRequest: {
    faceValue: bigint;
    winProb: bigint;
    ev: bigint;
    tickets: bigint;
    expectedGasPerRequest: number;
  };
}

/** Figures of a step from its passes, checked against the GC pauses. */
export function figures(p: Passes, pauses: readonly Span[]): StepFigures {
  const first = p[0] ?? [];
  if (first.length === 0)
    return { n: 0, passes: 0, p50: NaN, p99: NaN, p99All: NaN, p99NoGc: NaN, gcHit: 0, p99Median: NaN };
  const all = p.flat();
  const clean = all.filter((s) => !overlapsAny(pauses, [s.t0, s.t1]));
  const ms = (l: Sample[]) => l.map((s) => s.ms);
  const medians =
    p.length < 2
      ? []
      : first.map((_, i) => {
          const v = p.map((pass) => pass[i]!.ms).sort((a, b) => a - b);
          return v[v.length >> 1]!;
        });
  return {
    n: first.length,
    passes: p.length,
    p50: percentile(ms(first), 50),
    p99: percentile(ms(first), 99),
    p99All: percentile(ms(all), 99),
    p99NoGc: clean.length > 0 ? percentile(ms(clean), 99) : NaN,
    gcHit: all.length - clean.length,
    p99Median: medians.length > 0 ? percentile(medians, 99) : NaN,
  };
}

/** Per request and pass, the sum of the sides' samples (span: the union, so a GC hit on any side counts). */
export function sumPasses(...sides: Passes[]): Passes {
  const [a, ...rest] = sides;
  return a!.map((pass, k) =>
    pass.map((s, i) => {
      const parts = [s, ...rest.map((r) => r[k]![i]!)];
      return {
        t0: Math.min(...parts.map((x) => x.t0)),
        t1: Math.max(...parts.map((x) => x.t1)),
        ms: parts.reduce((x, y) => x + y.ms, 0),
        spans: parts,
      };
    }),
  );
}

/** Like `figures`, for sums: a sum is GC-hit when any of its parts overlapped a pause. */
export function sumFigures(sides: Passes[], pauses: readonly Span[]): StepFigures {
  const sums = sumPasses(...sides);
  const f = figures(sums, []);
  const clean: number[] = [];
  let hit = 0;
  for (const [k, pass] of sums.entries())
    for (const [i, s] of pass.entries()) {
      if (sides.some((side) => overlapsAny(pauses, [side[k]![i]!.t0, side[k]![i]!.t1]))) hit++;
      else clean.push(s.ms);
    }
  return { ...f, p99NoGc: clean.length > 0 ? percentile(clean, 99) : NaN, gcHit: hit };
}

/** Runs `pass` once to warm the JIT, then `passes` timed times. */
export function replay(passes: number, pass: (timed: boolean) => Sample[]): Passes {
  pass(false);
  const out: Passes = [];
  for (let k = 0; k < passes; k++) out.push(pass(true));
  return out;
}

/** Length of the union of `spans`, clipped to `within` (ms). */
export function unionMs(spans: Span[], within: Sample): number {
  const s = spans
    .map(([a, b]): Span => [Math.max(a, within.t0), Math.min(b, within.t1)])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of s) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

/** Live samples (one pass). */
export const live = (s: Sample[]): Passes => [s];
export const spanOf = (t0: number, t1: number, ms = t1 - t0): Sample => ({ t0, t1, ms });
