import type { OrchestratorInfo } from "@livepay/protocol";
import type { Logger } from "pino";
import type { Pipeline } from "../runners/types.js";
import { offeredModels, type CapabilityMap } from "./capabilities.js";
import type { DiscoveredOrchestrator } from "./discovery.js";
import type { GatewayMetrics } from "./metrics.js";
import type { OrchestratorRpc } from "../net/orchestratorRpc.js";

/** What the gateway knows about one orchestrator. */
export interface OrchestratorState {
  uri: string;
  /** On-chain address: from the registry, else the ticket recipient it advertises. */
  address: string | undefined;
  /** Total stake in wei (0 when unknown). */
  stake: bigint;
  /** The last capability-less GetOrchestrator answer. */
  info: OrchestratorInfo | undefined;
  models: Map<Pipeline, Set<string>>;
  /** Moving average of observed latency (GetOrchestrator round trips and time to response headers), ms. */
  latencyMs: number | undefined;
  /** Moving average of request outcomes, 1 = always succeeds. */
  successRate: number;
  consecutiveFailures: number;
  /** Not selected before this time (ms) after failures. */
  downUntil: number;
  lastError: string | undefined;
}

const EWMA_ALPHA = 0.2;
const MAX_BACKOFF_MS = 30_000;

/**
 * The orchestrators discovery found, probed with GetOrchestrator (no capabilities: which models
 * they serve), with the latency and success statistics selection weighs. Failed orchestrators are
 * kept out of selection for a backoff that doubles per consecutive failure (1 s … 30 s).
 *
 * @example
 * const pool = new OrchestratorPool({ discover, rpc, caps, log, metrics });
 * await pool.refresh(); pool.offering("llm", "synthetic-llm")
 */
export class OrchestratorPool {
  readonly #states = new Map<string, OrchestratorState>();
  readonly #discover: () => Promise<DiscoveredOrchestrator[]>;
  readonly #rpc: OrchestratorRpc;
  readonly #caps: CapabilityMap;
  readonly #log: Logger;
  readonly #metrics: GatewayMetrics;
  readonly #now: () => number;
  readonly #stakeOf: ((address: string) => Promise<bigint>) | undefined;
  #refreshing: Promise<void> | undefined;

  constructor(opts: {
    discover: () => Promise<DiscoveredOrchestrator[]>;
    rpc: OrchestratorRpc;
    caps: CapabilityMap;
    log: Logger;
    metrics: GatewayMetrics;
    /** Reads an orchestrator's stake (for orchestrators from a static list, whose stake discovery does not know). */
    stakeOf?: (address: string) => Promise<bigint>;
    now?: () => number;
  }) {
    this.#discover = opts.discover;
    this.#rpc = opts.rpc;
    this.#caps = opts.caps;
    this.#log = opts.log;
    this.#metrics = opts.metrics;
    this.#now = opts.now ?? Date.now;
    this.#stakeOf = opts.stakeOf;
  }

  /** Every known orchestrator. */
  all(): OrchestratorState[] {
    return [...this.#states.values()];
  }

  /** One orchestrator by URI. */
  get(uri: string): OrchestratorState | undefined {
    return this.#states.get(uri);
  }

  /**
   * Re-runs discovery and probes every orchestrator (concurrent calls share one refresh).
   * Orchestrators that left the registry are dropped.
   * @example await pool.refresh()
   */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    let found: DiscoveredOrchestrator[];
    try {
      found = await this.#discover();
    } catch (e) {
      this.#log.warn({ err: e }, "orchestrator discovery failed; keeping the previous list");
      return;
    }
    const uris = new Set(found.map((f) => f.uri));
    for (const uri of this.#states.keys()) if (!uris.has(uri)) this.#states.delete(uri);
    await Promise.all(
      found.map(async (f) => {
        let s = this.#states.get(f.uri);
        if (!s) {
          s = {
            uri: f.uri,
            address: f.address,
            stake: f.stake,
            info: undefined,
            models: new Map(),
            latencyMs: undefined,
            successRate: 1,
            consecutiveFailures: 0,
            downUntil: 0,
            lastError: undefined,
          };
          this.#states.set(f.uri, s);
        }
        if (f.address !== undefined) {
          s.address = f.address;
          s.stake = f.stake;
        }
        await this.probe(s);
      }),
    );
    this.#updateGauge();
    this.#log.debug(
      { orchestrators: this.all().map((s) => ({ uri: s.uri, up: s.info !== undefined })) },
      "orchestrators refreshed",
    );
  }

  /** GetOrchestrator without capabilities: learns the models and measures the round trip. */
  async probe(s: OrchestratorState): Promise<boolean> {
    const t0 = this.#now();
    try {
      const info = await this.#rpc.getOrchestrator(s.uri);
      s.info = info;
      s.models = offeredModels(info, this.#caps);
      this.#observeLatency(s, this.#now() - t0);
      if (s.address === undefined && this.#stakeOf) {
        const addr = info.ticketParams?.recipient ?? info.address;
        if (addr !== undefined) {
          s.address = addr;
          s.stake = await this.#stakeOf(addr).catch(() => 0n);
        }
      }
      if (s.consecutiveFailures > 0) this.#log.info({ orchestrator: s.uri }, "orchestrator reachable again");
      s.consecutiveFailures = 0;
      s.downUntil = 0;
      s.lastError = undefined;
      return true;
    } catch (e) {
      this.markFailure(s.uri, (e as Error).message);
      return false;
    }
  }

  /**
   * Orchestrators offering `(pipeline, model)`, including ones that are down (callers filter with
   * `isUp`). An orchestrator whose advertised models are unknown is included: its GetOrchestrator
   * answer for the job tells.
   */
  offering(pipeline: Pipeline, model: string): OrchestratorState[] {
    return this.all().filter(
      (s) => s.info !== undefined && (s.models.size === 0 || s.models.get(pipeline)?.has(model)),
    );
  }

  /** Models offered per pipeline, over all reachable orchestrators. */
  models(): Map<string, Set<Pipeline>> {
    const out = new Map<string, Set<Pipeline>>();
    for (const s of this.all()) {
      if (!s.info) continue;
      for (const [p, ms] of s.models) {
        for (const m of ms) {
          if (!out.has(m)) out.set(m, new Set());
          out.get(m)!.add(p);
        }
      }
    }
    return out;
  }

  /** Whether an orchestrator may be selected now. */
  isUp(s: OrchestratorState): boolean {
    return s.downUntil <= this.#now();
  }

  /** Records a successful request and its time to the response headers. */
  markSuccess(uri: string, latencyMs: number): void {
    const s = this.#states.get(uri);
    if (!s) return;
    this.#observeLatency(s, latencyMs);
    s.successRate = s.successRate * (1 - EWMA_ALPHA) + EWMA_ALPHA;
    s.consecutiveFailures = 0;
    s.downUntil = 0;
  }

  /** Records a failure and keeps the orchestrator out of selection for a while. */
  markFailure(uri: string, reason: string): void {
    const s = this.#states.get(uri);
    if (!s) return;
    s.successRate *= 1 - EWMA_ALPHA;
    s.consecutiveFailures++;
    s.lastError = reason;
    s.downUntil = this.#now() + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(s.consecutiveFailures - 1, 15));
    this.#log.warn({ orchestrator: uri, reason, failures: s.consecutiveFailures }, "orchestrator failed");
    this.#updateGauge();
  }

  #observeLatency(s: OrchestratorState, ms: number): void {
    s.latencyMs = s.latencyMs === undefined ? ms : s.latencyMs * (1 - EWMA_ALPHA) + ms * EWMA_ALPHA;
  }

  #updateGauge(): void {
    let up = 0;
    let down = 0;
    for (const s of this.all()) {
      if (s.info !== undefined && this.isUp(s)) up++;
      else down++;
    }
    this.#metrics.orchestrators.set({ state: "up" }, up);
    this.#metrics.orchestrators.set({ state: "down" }, down);
  }
}
