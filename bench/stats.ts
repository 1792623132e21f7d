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
