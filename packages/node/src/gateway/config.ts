import { readFile } from "node:fs/promises";
import { Rational } from "@livepay/protocol";
import type { DevnetManifest } from "../chain/manifest.js";
import { AmountError, parseAmount } from "../config/amount.js";
import { ConfigError, parsePrivateKey } from "../config/chainOptions.js";
import { PIPELINES, type Pipeline } from "../runners/types.js";
import {
  resolvePersistentGatewayConfig,
  type PersistentGatewayConfig,
  type PersistentGatewayConfigInput,
} from "./persistentConfig.js";

/**
 * The gateway configuration as written in a JSON file (and as `startGateway` accepts it): amounts
 * are strings like `"0.1eth"` or wei, prices are exact decimal strings (`"0.001"`) or `"a/b"`.
 * Every field is optional except where `resolveGatewayConfig` says otherwise.
 */
export interface GatewayConfigInput {
  /** Listen address (default 127.0.0.1) and port (default 8937; 0 picks a free port). */
  host?: string;
  port?: number;
  /** SQLite path (default `.livepay/gateway.db`) or a `postgres://` url. */
  store?: { path?: string; url?: string };
  /** Where the TicketBroker and the orchestrator registry live (default: the devnet manifest). */
  chain?: {
    network?: "devnet" | "arbitrum-one";
    /** Devnet manifest: a path (default `.livepay/devnet.json`) or the manifest itself. */
    manifest?: string | DevnetManifest;
    rpcUrl?: string;
    /** Devnet account that pays when no `privateKey` is given (default "gateway"). */
    account?: string;
    /** Block/round polling interval (default 500 ms on a local RPC, 2000 ms otherwise). */
    pollIntervalMs?: number;
  };
  /** The gateway's (ticket sender's) key; on the devnet it defaults to the manifest account. */
  privateKey?: string;
  /** Static orchestrator list (service URIs). Without it orchestrators come from the on-chain registry. */
  orchestrators?: string[];
  discovery?: {
    /** How often to re-read the registry and re-probe orchestrators (default 60 s). */
    refreshIntervalMs?: number;
    /** The contract serving `getServiceURI` (Livepeer's ServiceRegistry); default the registry itself. */
    serviceRegistry?: string;
    /** GetOrchestrator timeout (default 2500 ms, go-livepeer's refresh timeout). */
    timeoutMs?: number;
  };
  selection?: {
    /** Relative weights (any non-negative numbers; normalized). Default price 0.6, stake 0.1, latency 0.15, successRate 0.15, random 0. */
    weights?: Partial<SelectionWeights>;
    /** Other orchestrators to try when one fails before the first byte (default 2). */
    maxFailovers?: number;
  };
  /**
   * Price caps in wei per unit (spec §6.2). `global` applies to everything without a more specific
   * entry; `capabilities` entries are per pipeline and model (`model_id` absent or "default": the
   * whole pipeline).
   */
  maxPrice?: {
    global?: string | number;
    capabilities?: {
      pipeline: string;
      model_id?: string;
      price_per_unit: string | number;
      pixels_per_unit?: string | number;
    }[];
  };
  payments?: {
    /** Refuse tickets whose EV exceeds this (default 3e12 wei, go-livepeer's -maxTicketEV). */
    maxTicketEV?: string;
    /** Refuse batches whose total EV exceeds this (default 2e13 wei). */
    maxTotalEV?: string;
    depositMultiplier?: number;
    /** Nonces reserved per store write (default 16): a crash skips at most this many, never reuses one. */
    nonceBlock?: number;
  };
  funds?: {
    /** Warn (log + metric) when the gateway's deposit falls below this (default 0.05 ETH). */
    warnDepositBelow?: string;
    /** Warn when the reserve falls below this (default 0.05 ETH). */
    warnReserveBelow?: string;
  };
  /** Bearer token of the `/admin` endpoints; they are disabled without it. */
  adminToken?: string;
  /** pino level (default "info"). */
  logLevel?: string;
  /** Longest a request may take upstream, streams included (default 120 s). */
  requestTimeoutMs?: number;
  /** Capability ids per pipeline, for orchestrators that number them differently. */
  capabilityIds?: Partial<Record<Pipeline, number>>;
  /** Persistent tickets toward orchestrators that support them (`persistentConfig.ts`); default off. */
  persistent?: PersistentGatewayConfigInput;
}

/** Selection weights (normalized to sum 1). */
export interface SelectionWeights {
  price: number;
  stake: number;
  latency: number;
  successRate: number;
  random: number;
}

/** A resolved price cap entry. */
export interface PriceCap {
  pipeline: Pipeline;
  /** undefined: every model of the pipeline. */
  model: string | undefined;
  price: Rational;
}

/** The validated configuration `startGateway` runs with. */
export interface GatewayConfig {
  host: string;
  port: number;
  store: { path: string } | { url: string };
  chain: {
    network: "devnet" | "arbitrum-one";
    manifest: string | DevnetManifest | undefined;
    rpcUrl: string | undefined;
    account: string;
    pollIntervalMs: number | undefined;
  };
  privateKey: `0x${string}` | undefined;
  orchestrators: string[] | undefined;
  discovery: { refreshIntervalMs: number; serviceRegistry: `0x${string}` | undefined; timeoutMs: number };
  selection: { weights: SelectionWeights; maxFailovers: number };
  maxPrice: { global: Rational | undefined; capabilities: PriceCap[] };
  payments: { maxTicketEV: bigint; maxTotalEV: bigint; depositMultiplier: bigint; nonceBlock: number };
  funds: { warnDepositBelow: bigint; warnReserveBelow: bigint };
  adminToken: string | undefined;
  logLevel: string;
  requestTimeoutMs: number;
  capabilityIds: Partial<Record<Pipeline, number>>;
  persistent: PersistentGatewayConfig;
}

export const DEFAULT_GATEWAY_PORT = 8937;
export const DEFAULT_GATEWAY_STORE = ".livepay/gateway.db";
/** Price-heavy by default (DESIGN: "price-heavy by default"). */
export const DEFAULT_SELECTION_WEIGHTS: Readonly<SelectionWeights> = {
  price: 0.6,
  stake: 0.1,
  latency: 0.15,
  successRate: 0.15,
  random: 0,
};

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

function bad(field: string, why: string): ConfigError {
  return new ConfigError("CONFIG_GATEWAY", `gateway config: ${field} ${why}`, { field });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function int(v: unknown, field: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    throw bad(field, `must be an integer in [${min}, ${max}]`);
  }
  return v;
}

function amount(v: unknown, field: string, dflt: bigint): bigint {
  if (v === undefined) return dflt;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v !== "string") throw bad(field, 'must be an amount such as "0.1eth" or "1000" (wei)');
  try {
    return parseAmount(v);
  } catch (e) {
    if (e instanceof AmountError) throw bad(field, `is invalid: ${e.message}`);
    throw e;
  }
}

/**
 * Parses a price in wei per unit exactly: a decimal string ("0.001"), a fraction ("1/3") or an
 * integer. JSON numbers are accepted only when they are integers, so a float never sneaks in.
 * @example parsePrice("0.25", "maxPrice.global") // Rational 1/4
 */
export function parsePrice(v: unknown, field: string): Rational {
  let r: Rational;
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw bad(field, "must be a string when it is not a whole number");
    r = Rational.of(BigInt(v));
  } else if (typeof v === "string") {
    try {
      r = Rational.parse(v);
    } catch {
      throw bad(field, `is not a number: "${v.slice(0, 40)}"`);
    }
  } else throw bad(field, "must be a decimal string");
  if (r.sign() < 0) throw bad(field, "must not be negative");
  return r;
}

function pipelineOf(v: unknown, field: string): Pipeline {
  if (typeof v !== "string" || !(PIPELINES as readonly string[]).includes(v)) {
    throw bad(field, `must be one of ${PIPELINES.join(", ")}`);
  }
  return v as Pipeline;
}

function uri(v: unknown, field: string): string {
  if (typeof v !== "string" || !/^https?:\/\/[^\s/]+/.test(v)) throw bad(field, "must be an http(s) URI");
  return v.replace(/\/+$/, "");
}

const KNOWN_KEYS = new Set([
  "host",
  "port",
  "store",
  "chain",
  "privateKey",
  "orchestrators",
  "discovery",
  "selection",
  "maxPrice",
  "payments",
  "funds",
  "adminToken",
  "logLevel",
  "requestTimeoutMs",
  "capabilityIds",
  "persistent",
]);

/**
 * Validates a gateway configuration and fills the defaults; throws `ConfigError` naming the first
 * bad field (unknown top-level keys too, so typos fail loudly).
 * @example const config = resolveGatewayConfig({ port: 0, orchestrators: ["http://127.0.0.1:8935"] })
 */
export function resolveGatewayConfig(input: GatewayConfigInput): GatewayConfig {
  if (!isObject(input)) throw bad("root", "must be an object");
  for (const k of Object.keys(input)) if (!KNOWN_KEYS.has(k)) throw bad(k, "is not a gateway setting");
  const i = input as GatewayConfigInput;

  let store: GatewayConfig["store"];
  if (i.store?.url !== undefined && i.store.path !== undefined)
    throw bad("store", "takes path or url, not both");
  if (i.store?.url !== undefined) store = { url: String(i.store.url) };
  else store = { path: i.store?.path ?? DEFAULT_GATEWAY_STORE };

  const network = i.chain?.network ?? "devnet";
  if (network !== "devnet" && network !== "arbitrum-one")
    throw bad("chain.network", 'must be "devnet" or "arbitrum-one"');

  const weights = { ...DEFAULT_SELECTION_WEIGHTS, ...(i.selection?.weights ?? {}) };
  let total = 0;
  for (const [k, w] of Object.entries(weights)) {
    if (!(k in DEFAULT_SELECTION_WEIGHTS)) throw bad(`selection.weights.${k}`, "is not a weight");
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0)
      throw bad(`selection.weights.${k}`, "must be >= 0");
    total += w;
  }
  if (total <= 0) throw bad("selection.weights", "must not all be 0");
  for (const k of Object.keys(weights) as (keyof SelectionWeights)[]) weights[k] /= total;

  const capabilities: PriceCap[] = (i.maxPrice?.capabilities ?? []).map((c, n) => {
    const f = `maxPrice.capabilities[${n}]`;
    if (!isObject(c)) throw bad(f, "must be an object");
    const price = parsePrice(c.price_per_unit, `${f}.price_per_unit`);
    const ppu =
      c.pixels_per_unit === undefined ? Rational.ONE : parsePrice(c.pixels_per_unit, `${f}.pixels_per_unit`);
    if (ppu.sign() <= 0) throw bad(`${f}.pixels_per_unit`, "must be positive");
    const model = c.model_id === undefined || c.model_id === "default" ? undefined : String(c.model_id);
    return { pipeline: pipelineOf(c.pipeline, `${f}.pipeline`), model, price: price.div(ppu) };
  });

  const capabilityIds: Partial<Record<Pipeline, number>> = {};
  for (const [p, id] of Object.entries(i.capabilityIds ?? {})) {
    capabilityIds[pipelineOf(p, `capabilityIds.${p}`)] = int(id, `capabilityIds.${p}`, 0, 2 ** 32 - 1, 0);
  }

  const logLevel = i.logLevel ?? "info";
  if (!LOG_LEVELS.includes(logLevel)) throw bad("logLevel", `must be one of ${LOG_LEVELS.join(", ")}`);
  if (i.orchestrators !== undefined && !Array.isArray(i.orchestrators))
    throw bad("orchestrators", "must be a list of URIs");
  const serviceRegistry = i.discovery?.serviceRegistry;
  if (serviceRegistry !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(serviceRegistry)) {
    throw bad("discovery.serviceRegistry", "must be an address");
  }
  if (i.adminToken !== undefined && (typeof i.adminToken !== "string" || i.adminToken.length < 16)) {
    throw bad("adminToken", "must be a string of at least 16 characters");
  }

  return {
    host: i.host ?? "127.0.0.1",
    port: int(i.port, "port", 0, 65535, DEFAULT_GATEWAY_PORT),
    store,
    chain: {
      network,
      manifest: i.chain?.manifest,
      rpcUrl: i.chain?.rpcUrl,
      account: i.chain?.account ?? "gateway",
      pollIntervalMs:
        i.chain?.pollIntervalMs === undefined
          ? undefined
          : int(i.chain.pollIntervalMs, "chain.pollIntervalMs", 10, 600_000, 0),
    },
    privateKey: i.privateKey === undefined ? undefined : parsePrivateKey(i.privateKey, "gateway privateKey"),
    orchestrators: i.orchestrators?.map((o, n) => uri(o, `orchestrators[${n}]`)),
    discovery: {
      refreshIntervalMs: int(
        i.discovery?.refreshIntervalMs,
        "discovery.refreshIntervalMs",
        100,
        86_400_000,
        60_000,
      ),
      serviceRegistry: serviceRegistry as `0x${string}` | undefined,
      timeoutMs: int(i.discovery?.timeoutMs, "discovery.timeoutMs", 10, 600_000, 2500),
    },
    selection: { weights, maxFailovers: int(i.selection?.maxFailovers, "selection.maxFailovers", 0, 16, 2) },
    maxPrice: {
      global: i.maxPrice?.global === undefined ? undefined : parsePrice(i.maxPrice.global, "maxPrice.global"),
      capabilities,
    },
    payments: {
      maxTicketEV: amount(i.payments?.maxTicketEV, "payments.maxTicketEV", 3_000_000_000_000n),
      maxTotalEV: amount(i.payments?.maxTotalEV, "payments.maxTotalEV", 20_000_000_000_000n),
      depositMultiplier: BigInt(
        int(i.payments?.depositMultiplier, "payments.depositMultiplier", 1, 1_000_000, 1),
      ),
      nonceBlock: int(i.payments?.nonceBlock, "payments.nonceBlock", 1, 600, 16),
    },
    funds: {
      warnDepositBelow: amount(i.funds?.warnDepositBelow, "funds.warnDepositBelow", 5n * 10n ** 16n),
      warnReserveBelow: amount(i.funds?.warnReserveBelow, "funds.warnReserveBelow", 5n * 10n ** 16n),
    },
    adminToken: i.adminToken,
    logLevel,
    requestTimeoutMs: int(i.requestTimeoutMs, "requestTimeoutMs", 100, 3_600_000, 120_000),
    capabilityIds,
    persistent: resolvePersistentGatewayConfig(i.persistent),
  };
}

/** Environment variables the gateway reads (flags win over them, they win over the file). */
export const GATEWAY_ENV = {
  host: "LIVEPAY_GATEWAY_HOST",
  port: "LIVEPAY_GATEWAY_PORT",
  store: "LIVEPAY_GATEWAY_STORE",
  adminToken: "LIVEPAY_GATEWAY_ADMIN_TOKEN",
  orchestrators: "LIVEPAY_GATEWAY_ORCHESTRATORS",
  logLevel: "LIVEPAY_GATEWAY_LOG_LEVEL",
  network: "LIVEPAY_NETWORK",
  manifest: "LIVEPAY_MANIFEST",
  rpcUrl: "LIVEPAY_RPC_URL",
  privateKey: "LIVEPAY_PRIVATE_KEY",
  account: "LIVEPAY_ACCOUNT",
} as const;

/** Settings that flags and environment variables can set (strings, as they arrive). */
export type GatewayOverrides = Partial<Record<keyof typeof GATEWAY_ENV, string>>;

/**
 * Reads the overridable settings from the environment.
 * @example gatewayOverridesFromEnv(process.env).port
 */
export function gatewayOverridesFromEnv(env: Record<string, string | undefined>): GatewayOverrides {
  const out: GatewayOverrides = {};
  for (const [k, name] of Object.entries(GATEWAY_ENV) as [keyof GatewayOverrides, string][]) {
    const v = env[name];
    if (v !== undefined && v !== "") out[k] = v;
  }
  return out;
}

/**
 * Applies override layers (earlier layers win: pass flags, then environment) onto a file config.
 * @example applyGatewayOverrides(fileConfig, flags, gatewayOverridesFromEnv(process.env))
 */
export function applyGatewayOverrides(
  file: GatewayConfigInput,
  ...layers: GatewayOverrides[]
): GatewayConfigInput {
  const pick = (k: keyof GatewayOverrides) => layers.find((l) => l[k] !== undefined)?.[k];
  const out: GatewayConfigInput = { ...file, chain: { ...(file.chain ?? {}) } };
  const v = {
    host: pick("host"),
    port: pick("port"),
    store: pick("store"),
    adminToken: pick("adminToken"),
    orchestrators: pick("orchestrators"),
    logLevel: pick("logLevel"),
    network: pick("network"),
    manifest: pick("manifest"),
    rpcUrl: pick("rpcUrl"),
    privateKey: pick("privateKey"),
    account: pick("account"),
  };
  if (v.host !== undefined) out.host = v.host;
  if (v.port !== undefined) {
    const n = Number(v.port);
    if (!/^\d+$/.test(v.port) || n > 65535) throw bad("port", "must be an integer in [0, 65535]");
    out.port = n;
  }
  if (v.store !== undefined)
    out.store = /^postgres(ql)?:\/\//i.test(v.store) ? { url: v.store } : { path: v.store };
  if (v.adminToken !== undefined) out.adminToken = v.adminToken;
  if (v.orchestrators !== undefined) {
    out.orchestrators = v.orchestrators
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
  }
  if (v.logLevel !== undefined) out.logLevel = v.logLevel;
  if (v.network !== undefined) out.chain!.network = v.network as "devnet" | "arbitrum-one";
  if (v.manifest !== undefined) out.chain!.manifest = v.manifest;
  if (v.rpcUrl !== undefined) out.chain!.rpcUrl = v.rpcUrl;
  if (v.account !== undefined) out.chain!.account = v.account;
  if (v.privateKey !== undefined) out.privateKey = v.privateKey;
  return out;
}

/**
 * Reads a JSON config file (unknown keys are errors later, in `resolveGatewayConfig`).
 * @example const input = await readGatewayConfigFile("gateway.json")
 */
export async function readGatewayConfigFile(path: string): Promise<GatewayConfigInput> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new ConfigError("CONFIG_FILE", `cannot read gateway config ${path}: ${(e as Error).message}`, {
      path,
    });
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (!isObject(v)) throw new Error("not a JSON object");
    return v as GatewayConfigInput;
  } catch (e) {
    throw new ConfigError(
      "CONFIG_FILE",
      `gateway config ${path} is not valid JSON: ${(e as Error).message}`,
      { path },
    );
  }
}

/**
 * The configuration as safe to print at start-up: keys and tokens masked, passwords removed from
 * database URLs, prices and amounts as strings.
 * @example log.info({ config: redactGatewayConfig(config) }, "starting gateway")
 */
export function redactGatewayConfig(c: GatewayConfig): Record<string, unknown> {
  const mask = (s: string | undefined) => (s === undefined ? undefined : "***");
  const store =
    "url" in c.store ? { url: c.store.url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@") } : c.store;
  return JSON.parse(
    JSON.stringify(
      {
        ...c,
        store,
        chain: {
          ...c.chain,
          manifest: typeof c.chain.manifest === "object" ? "(in memory)" : c.chain.manifest,
        },
        privateKey: mask(c.privateKey),
        adminToken: mask(c.adminToken),
      },
      (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v instanceof Rational ? v.toString() : v),
    ),
  ) as Record<string, unknown>;
}
