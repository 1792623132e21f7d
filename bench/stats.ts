// Small timing helpers shared by the benchmarks. Figures are reported next to a baseline measured in
// the same run, because absolute numbers on shared 2-core machines are noisy.

/** Runs `fn` repeatedly for about `ms` milliseconds (after a warm-up) and returns calls per second. */
export function rate(fn: () => void, ms = 700): number {
  const warmEnd = performance.now() + Math.min(200, ms / 3);
  while (performance.now() < warmEnd) fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 16; i++) fn();
    n += 16;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

/** Median of three `rate` runs: one noisy slice does not decide the figure. */
export function medianRate(fn: () => void, ms = 700): number {
  const runs = [rate(fn, ms), rate(fn, ms), rate(fn, ms)].sort((a, b) => a - b);
  return runs[1]!;
}

/** Percentile (0..100) of a list of samples. */
export function percentile(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export function fmtRate(x: number): string {
  return `${Math.round(x).toLocaleString("en-US")}/s`;
}

export function printTable(title: string, rows: (string | number)[][], header: string[]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  console.log(`\n${title}`);
  for (const [k, r] of cells.entries()) {
    console.log("  " + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
    if (k === 0) console.log("  " + widths.map((w) => "-".repeat(w)).join("  "));
  }
}

/** A timed interval [start, end] on the `performance.now()` clock (ms). */
export type Span = readonly [number, number];

/** GC pauses seen by a `PerformanceObserver` ('gc' entries), as spans on the `performance.now()` clock. */
export interface GcWatch {
  /** Every pause so far, sorted by start; waits a tick so entries buffered during sync loops arrive. */
  pauses(): Promise<Span[]>;
  stop(): void;
}

/**
 * Starts recording GC pauses, to tell samples that overlapped a pause from those that did not.
 * @example const gc = watchGc(); run(); const hit = overlapsAny(await gc.pauses(), [t0, t1]); gc.stop()
 */
export function watchGc(): GcWatch {
  const seen: Span[] = [];
  const take = (list: PerformanceEntryList) => {
    for (const e of list) seen.push([e.startTime, e.startTime + e.duration]);
  };
  const obs = new PerformanceObserver((l) => take(l.getEntries()));
  obs.observe({ entryTypes: ["gc"] });
  return {
    async pauses() {
      await new Promise((r) => setTimeout(r, 20));
      take(obs.takeRecords());
      return [...seen].sort((a, b) => a[0] - b[0]);
    },
    stop: () => obs.disconnect(),
  };
}

/** Whether `s` overlaps any of the sorted, non-nested `pauses` (binary search on their starts). */
export function overlapsAny(pauses: readonly Span[], s: Span): boolean {
  let lo = 0;
  let hi = pauses.length;
  // First pause starting at or after s's end; only pauses before it can overlap.
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pauses[mid]![0] < s[1]) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo - 1; i >= 0 && i >= lo - 4; i--) if (pauses[i]![1] > s[0]) return true;
  return false;
}
