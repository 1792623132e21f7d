import type { Rational } from "@livepay/protocol";
import {
  MAX_SENDER_NONCES,
  PARAMS_EXPIRY_BUFFER,
  balanceKey,
  priceInfoToRational,
  ticketEV,
  type OrchestratorInfo,
  type WireTicketParams,
} from "@livepay/protocol";
import type { Pipeline } from "../runners/types.js";
import { jobCapabilities, manifestIdFor } from "../net/capabilities.js";
import type { CapabilityMap } from "./capabilities.js";
import type { GatewayMetrics } from "./metrics.js";
import type { OrchestratorRpc } from "../net/orchestratorRpc.js";

/**
 * One orchestrator's ticket params and price for one (capability, model): what the gateway pays
 * with (go-livepeer's BroadcastSession for AI). Immutable except the ticket counter.
 */
export interface PricedSession {
  /** Service URI (GetOrchestrator). */
  uri: string;
  /** Base URL of the AI routes: the `transcoder` the orchestrator advertised, else `uri`. */
  httpBase: string;
  pipeline: Pipeline;
  capability: number;
  model: string;
  manifestId: string;
  info: OrchestratorInfo;
  params: WireTicketParams;
  /** Wei per unit, exact. */
  price: Rational;
  /** The price when the gateway first priced this (orchestrator, capability, model): go-livepeer's InitialPrice. */
  initialPrice: Rational;
  /** The PM session id: lowercase recipientRandHash. */
  sessionId: string;
  /** Gateway balance key: (recipient, auth token session id), spec §3.4. */
  balanceKey: string;
  authSessionId: string;
  fetchedAtMs: number;
  /** Tickets signed against these params (the orchestrator accepts 600 distinct nonces per params). */
  ticketsSigned: number;
  /** EV of one ticket, exact. */
  ev: Rational;
  /** The signed `Livepeer-Segment` header, once the payer built it (constant for the session). */
  segmentHeader?: string;
  /** The `Livepeer-Payment` header without tickets, once built (constant for the session). */
  ticketlessPaymentHeader?: string;
}

/** Why a session was (re)fetched; a metric label. */
export type RefreshReason =
  "new" | "params_expired" | "auth_expiring" | "nonces_used" | "orchestrator_refused";

/** An orchestrator's GetOrchestrator answer cannot be paid against. */
export function badInfo(message: string): Error {
  return Object.assign(new Error(message), { code: "BAD_ORCHESTRATOR_INFO" });
}

/**
 * Ticket params per (orchestrator, capability, model), fetched with GetOrchestrator carrying the
 * job's capabilities and cached until they must be refreshed (spec §3.6): the params are about to
 * expire (`expirationBlock - lastSeenL1Block <= 1`), the auth token is in the last 10 % of its
 * lifetime, the params' nonce budget is nearly used, or the orchestrator refused them. Concurrent
 * requests for the same session share one fetch.
 *
 * @example const s = await sessions.get(uri, "llm", "synthetic-llm", view.lastSeenL1Block)
 */
export class SessionCache {
  readonly #rpc: OrchestratorRpc;
  readonly #caps: CapabilityMap;
  readonly #metrics: GatewayMetrics;
  readonly #now: () => number;
  readonly #sessions = new Map<string, PricedSession>();
  readonly #pending = new Map<string, Promise<PricedSession>>();
  readonly #initialPrices = new Map<string, Rational>();
  /** Called with every new session (the payer loads persisted balances). */
  onNewSession: ((s: PricedSession) => Promise<void>) | undefined;

  constructor(opts: {
    rpc: OrchestratorRpc;
    caps: CapabilityMap;
    metrics: GatewayMetrics;
    now?: () => number;
  }) {
    this.#rpc = opts.rpc;
    this.#caps = opts.caps;
    this.#metrics = opts.metrics;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * A usable session, fetching or refreshing it as needed. Rejects with the GetOrchestrator error or
   * a `BAD_ORCHESTRATOR_INFO` error for answers without params or price.
   */
  async get(uri: string, pipeline: Pipeline, model: string, lastSeenL1Block: bigint): Promise<PricedSession> {
    const key = sessionKey(uri, pipeline, model);
    const s = this.#sessions.get(key);
    const reason = s === undefined ? "new" : this.refreshReason(s, lastSeenL1Block);
    if (s !== undefined && reason === undefined) return s;
    return this.#fetch(key, uri, pipeline, model, reason ?? "new");
  }

  /** The cached session, if any, without refreshing. */
  peek(uri: string, pipeline: Pipeline, model: string): PricedSession | undefined {
    return this.#sessions.get(sessionKey(uri, pipeline, model));
  }

  /**
   * Why a cached session must be refreshed now, or undefined if it is still good.
   * @example sessions.refreshReason(s, view.lastSeenL1Block) // "params_expired"
   */
  refreshReason(s: PricedSession, lastSeenL1Block: bigint, ticketsNeeded = 0): RefreshReason | undefined {
    if (s.params.expirationBlock - lastSeenL1Block <= PARAMS_EXPIRY_BUFFER) return "params_expired";
    const token = s.info.authToken;
    if (token !== undefined) {
      const nowS = this.#now() / 1000;
      const lifetime = Number(token.expiration) - s.fetchedAtMs / 1000;
      // go-livepeer refreshes in the last 10 % of the 30-minute token; the lifetime here is observed.
      if (nowS > Number(token.expiration) - 0.1 * Math.max(lifetime, 0)) return "auth_expiring";
    }
    if (s.ticketsSigned + ticketsNeeded > MAX_SENDER_NONCES) return "nonces_used";
    return undefined;
  }

  /**
   * Fetches new params now (after the orchestrator refused the cached ones, or the nonce budget ran
   * out); returns the new session.
   */
  refresh(s: PricedSession, reason: RefreshReason): Promise<PricedSession> {
    return this.#fetch(sessionKey(s.uri, s.pipeline, s.model), s.uri, s.pipeline, s.model, reason, s);
  }

  /** Forgets every session of an orchestrator (it failed). */
  dropOrchestrator(uri: string): void {
    for (const [k, s] of this.#sessions) if (s.uri === uri) this.#sessions.delete(k);
  }

  #fetch(
    key: string,
    uri: string,
    pipeline: Pipeline,
    model: string,
    reason: RefreshReason,
    stale?: PricedSession,
  ): Promise<PricedSession> {
    const pending = this.#pending.get(key);
    // A refresh asked for because of a session that was already replaced returns the replacement.
    const current = this.#sessions.get(key);
    if (stale && current && current !== stale) return Promise.resolve(current);
    if (pending) return pending;
    const p = this.#load(key, uri, pipeline, model, reason).finally(() => this.#pending.delete(key));
    this.#pending.set(key, p);
    return p;
  }

  async #load(
    key: string,
    uri: string,
    pipeline: Pipeline,
    model: string,
    reason: RefreshReason,
  ): Promise<PricedSession> {
    this.#metrics.sessionRefreshes.inc({ reason });
    const capability = this.#caps.id(pipeline);
    const info = await this.#rpc.getOrchestrator(uri, jobCapabilities(capability, model));
    const params = info.ticketParams;
    if (!params) throw badInfo(`${uri} sent no ticket params for ${pipeline} ${model}`);
    if (!info.authToken) throw badInfo(`${uri} sent no auth token`);
    let price: Rational;
    try {
      price = priceInfoToRational(info.priceInfo);
    } catch (e) {
      throw badInfo(`${uri}: ${(e as Error).message}`);
    }
    if (price.sign() < 0) throw badInfo(`${uri} advertised a negative price`);
    const initialPrice = this.#initialPrices.get(key) ?? price;
    this.#initialPrices.set(key, initialPrice);
    const session: PricedSession = {
      uri,
      httpBase: /^https?:\/\//.test(info.transcoder) ? info.transcoder.replace(/\/+$/, "") : uri,
      pipeline,
      capability,
      model,
      manifestId: manifestIdFor(capability, model),
      info,
      params,
      price,
      initialPrice,
      sessionId: params.recipientRandHash.toLowerCase(),
      balanceKey: balanceKey(params.recipient, info.authToken.sessionId),
      authSessionId: info.authToken.sessionId,
      fetchedAtMs: this.#now(),
      ticketsSigned: 0,
      ev: ticketEV(params.faceValue, params.winProb),
    };
    await this.onNewSession?.(session);
    this.#sessions.set(key, session);
    return session;
  }
}

function sessionKey(uri: string, pipeline: Pipeline, model: string): string {
  return `${uri}\u0000${pipeline}\u0000${model}`;
}
