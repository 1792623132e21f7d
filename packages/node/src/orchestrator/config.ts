// The orchestrator's configuration: one JSON-shaped input (file, environment, flags; flags win over
// the environment, which wins over the file), validated into one typed object.
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { normalizeAddress, privateKeyToAddress, type Hex, type Rational } from "@livepay/protocol";
import type { ChainTarget } from "../chain/connect.js";
import { manifestAccount, parseManifest, readManifest, type DevnetManifest } from "../chain/manifest.js";
// persistent tickets (packages/node/src/persistent): the `persistent` config section.
import {
  resolvePersistentConfig,
  type PersistentConfig,
  type PersistentConfigInput,
} from "../persistent/startPayee.js";
import { AmountError, parseAmount } from "../config/amount.js";
import { ConfigError, DEFAULT_MANIFEST_PATH, parsePrivateKey } from "../config/chainOptions.js";
import {
  parseRunnerConfigs,
  redactRunnerConfig,
  type RunnerConfig,
  type RunnerConfigEntry,
} from "../runners/config.js";
import { RunnerError } from "../runners/errors.js";
import { DEFAULT_CAPABILITIES_VERSION } from "./capabilities.js";
import { modelPrice } from "./pricing.js";

/** go-livepeer's default orchestrator ticket EV (`-ticketEV`), wei. */
export const DEFAULT_TICKET_EV = 8_000_000_000n;
/** Redemption gas go-livepeer budgets outside Arbitrum One (`redeemGasL1`). */
export const DEFAULT_REDEEM_GAS = 350_000n;
/** Redemption gas go-livepeer budgets on Arbitrum One (`redeemGasL2`). */
export const ARBITRUM_REDEEM_GAS = 1_200_000n;
/** Auth token lifetime (go-livepeer `authTokenValidPeriod`). */
export const DEFAULT_AUTH_TOKEN_TTL_SECONDS = 30 * 60;
/** Default data directory (SQLite store) relative to the working directory. */
export const DEFAULT_DATA_DIR = ".livepay/orchestrator";

/**
 * The orchestrator configuration as written in a JSON file (and as `startOrchestrator` accepts it).
 * Amounts are strings such as `"8gwei"`, `"0.001eth"` or a whole number of wei; `models` entries are
 * go-livepeer `aiModels.json`-style (see runners/README.md), or a path to such a file.
 */
export interface OrchestratorConfigInput {
  /** Key that signs GetOrchestrator answers' address and sends redemptions. Devnet: defaults to `chain.account`'s key. */
  privateKey?: string;
  /** Payee of the tickets (the registered orchestrator address); defaults to the key's address. */
  recipient?: string;
  chain?: {
    /** "devnet" (default, reads the manifest), "arbitrum-one", or "custom" (rpcUrl + ticketBroker). */
    network?: "devnet" | "arbitrum-one" | "custom";
    /** Devnet manifest: a path (default `.livepay/devnet.json`) or the manifest itself. */
    manifest?: string | DevnetManifest;
    rpcUrl?: string;
    /** Devnet: manifest account whose key is used when no `privateKey` is given (default "orchestrator"). */
    account?: string;
    /** custom: contract addresses (RoundsManager/BondingManager are found from the broker or a controller if absent). */
    ticketBroker?: string;
    roundsManager?: string;
    bondingManager?: string;
    controller?: string;
    chainId?: number;
    /** Block/round polling interval (default 500 ms on a local RPC, 2000 ms otherwise). */
    pollIntervalMs?: number;
  };
  /** Where the SQLite store lives by default (`<dataDir>/orchestrator.db`); default `.livepay/orchestrator`. */
  dataDir?: string;
  /** SQLite path or a `postgres://` url (one orchestrator process per database). */
  store?: { path?: string; url?: string };
  /** Listen address (default 127.0.0.1); ports default 8935 (gRPC) and 8936 (HTTP); 0 picks a free port. */
  host?: string;
  grpcPort?: number;
  httpPort?: number;
  /** The `transcoder` field of OrchestratorInfo: the base URL of the AI HTTP routes (default: the HTTP listen URL). */
  serviceUri?: string;
  tickets?: {
    /** Expected value per ticket (default 8e9 wei, go-livepeer `-ticketEV`). */
    ev?: string;
    /** Cap on face values; "0" (default) disables it. Close to `ev`, tickets win often (devnet, tests). */
    maxFaceValue?: string;
    /** Gas a redemption is budgeted at (default 350000; 1200000 on arbitrum-one). */
    redeemGas?: number | string;
    /** Fixed gas price for face values (default: the RPC's gas price, clamped by min/max). */
    gasPrice?: string;
    minGasPrice?: string;
    /** "0" (default): no maximum. */
    maxGasPrice?: string;
  };
  redemption?: {
    /** Redeem winning tickets on chain (default true). */
    enabled?: boolean;
    /** Longest wait between retries of one ticket (default 5 minutes). */
    maxBackoffMs?: number;
  };
  /** aiModels.json-style entries, or the path of such a file (relative to the config file). */
  models?: RunnerConfigEntry[] | string;
  /** Auth token lifetime in seconds (default 1800). */
  authTokenTtlSeconds?: number;
  /** Largest request body (default 32 MiB). */
  maxBodyBytes?: number;
  /** pino level (default "info"). */
  logLevel?: string;
  /** Capabilities.version advertised (default "0.9.1": go-livepeer gateways compare it to their minimum). */
  capabilitiesVersion?: string;
  /** Persistent tickets (livepay's extension): `{ enabled: true }` serves POST /v1/chat/completions paid by vouchers. */
  persistent?: PersistentConfigInput;
}

/** The validated configuration `startOrchestrator` runs with. */
export interface OrchestratorConfig {
  privateKey: Hex;
  /** The key's address: OrchestratorInfo.address, the account that sends redemptions. */
  address: Hex;
  recipient: Hex;
  chain: ChainTarget;
  pollIntervalMs: number;
  store: { path: string } | { url: string };
  host: string;
  grpcPort: number;
  httpPort: number;
  serviceUri: string | undefined;
  ticketEV: bigint;
  maxFaceValue: bigint;
  redeemGas: bigint;
  gasPrice: bigint | undefined;
  minGasPrice: bigint;
  maxGasPrice: bigint;
  redemption: { enabled: boolean; maxBackoffMs: number };
  models: RunnerConfig[];
  /** Wei per unit of each model, in `models` order. */
  prices: Rational[];
  authTokenTtlSeconds: number;
  maxBodyBytes: number;
  logLevel: string;
  capabilitiesVersion: string;
  persistent: PersistentConfig;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

function fail(message: string, details?: Record<string, unknown>): never {
  throw new ConfigError("CONFIG_INVALID", message, details);
}

function amount(value: string | number | undefined, field: string, fallback: bigint): bigint {
  if (value === undefined || value === "") return fallback;
  try {
    return parseAmount(String(value));
  } catch (e) {
    if (e instanceof AmountError) fail(`${field}: ${e.message}`);
    throw e;
  }
}

function port(value: number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    fail(`${field} must be a port number (0-65535)`);
  return value;
}

function positiveInt(value: number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) fail(`${field} must be a positive integer`);
  return value;
}

function address(value: string, field: string): Hex {
  try {
    return normalizeAddress(value);
  } catch {
    return fail(`${field} is not an address: ${value}`);
  }
}

async function loadModels(
  models: OrchestratorConfigInput["models"],
  baseDir: string,
): Promise<{ models: RunnerConfig[]; prices: Rational[] }> {
  let entries: unknown = models;
  if (typeof models === "string") {
    const path = isAbsolute(models) ? models : join(baseDir, models);
    try {
      entries = JSON.parse(await readFile(path, "utf8"));
    } catch (e) {
      fail(`models: cannot read ${path}: ${(e as Error).message}`);
    }
  }
  if (entries === undefined || (Array.isArray(entries) && entries.length === 0)) {
    fail("models: at least one model entry is required");
  }
  let parsed: RunnerConfig[];
  try {
    parsed = parseRunnerConfigs(entries);
  } catch (e) {
    if (e instanceof RunnerError) fail(e.message);
    throw e;
  }
  const prices = parsed.map((m) => {
    try {
      return modelPrice(m);
    } catch (e) {
      return fail((e as Error).message);
    }
  });
  return { models: parsed, prices };
}

async function resolveChain(
  input: NonNullable<OrchestratorConfigInput["chain"]>,
  privateKey: string | undefined,
  baseDir: string,
): Promise<{ target: ChainTarget; key: Hex; local: boolean }> {
  const network = input.network ?? "devnet";
  let key =
    privateKey !== undefined && privateKey !== "" ? parsePrivateKey(privateKey, "privateKey") : undefined;
  if (input.rpcUrl !== undefined && !/^https?:\/\/\S+$/.test(input.rpcUrl))
    fail("chain.rpcUrl must be an http(s) URL");
  if (network === "devnet") {
    let manifest: DevnetManifest;
    if (typeof input.manifest === "object") manifest = parseManifest(input.manifest, "chain.manifest");
    else {
      const p = input.manifest ?? DEFAULT_MANIFEST_PATH;
      manifest = await readManifest(isAbsolute(p) ? p : resolve(baseDir, p));
    }
    if (!key) {
      const which = input.account ?? "orchestrator";
      const account = manifestAccount(manifest, which);
      if (!account?.privateKey)
        fail(`privateKey is required (the devnet manifest has no key for "${which}")`);
      key = account.privateKey;
    }
    const rpc = input.rpcUrl ?? manifest.rpcUrl;
    return { target: { network, manifest, rpcUrl: input.rpcUrl }, key, local: isLocal(rpc) };
  }
  if (!key) fail(`privateKey is required on ${network}`);
  if (network === "arbitrum-one") {
    return {
      target: {
        network,
        rpcUrl: input.rpcUrl,
        ...(input.ticketBroker ? { ticketBroker: address(input.ticketBroker, "chain.ticketBroker") } : {}),
        ...(input.controller ? { controller: address(input.controller, "chain.controller") } : {}),
        ...(input.chainId !== undefined ? { chainId: input.chainId } : {}),
      },
      key,
      local: false,
    };
  }
  if (network !== "custom")
    fail(`chain.network must be devnet, arbitrum-one or custom, got "${String(network)}"`);
  if (!input.rpcUrl) fail("chain.rpcUrl is required for a custom network");
  if (!input.ticketBroker) fail("chain.ticketBroker is required for a custom network");
  return {
    target: {
      network,
      rpcUrl: input.rpcUrl,
      ticketBroker: address(input.ticketBroker, "chain.ticketBroker"),
      ...(input.roundsManager ? { roundsManager: address(input.roundsManager, "chain.roundsManager") } : {}),
      ...(input.bondingManager
        ? { bondingManager: address(input.bondingManager, "chain.bondingManager") }
        : {}),
      ...(input.controller ? { controller: address(input.controller, "chain.controller") } : {}),
      ...(input.chainId !== undefined ? { chainId: input.chainId } : {}),
    },
    key,
    local: isLocal(input.rpcUrl),
  };
}

function isLocal(url: string): boolean {
  try {
    return ["localhost", "127.0.0.1", "[::1]", "::1"].includes(new URL(url).hostname);
  } catch {
    return false;
  }
}

/**
 * Validates a configuration input (relative paths resolve against `baseDir`, the config file's
 * directory). Throws `ConfigError` (code CONFIG_INVALID, or the chain/key codes) naming the field.
 * @example const config = await resolveOrchestratorConfig(JSON.parse(text), { baseDir: dirname(path) })
 */
export async function resolveOrchestratorConfig(
  input: OrchestratorConfigInput,
  opts: { baseDir?: string } = {},
): Promise<OrchestratorConfig> {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    fail("configuration must be a JSON object");
  const baseDir = opts.baseDir ?? process.cwd();
  const { target, key, local } = await resolveChain(input.chain ?? {}, input.privateKey, baseDir);
  const addr = privateKeyToAddress(key);
  const recipient = input.recipient ? address(input.recipient, "recipient") : addr;

  let store: OrchestratorConfig["store"];
  const s = input.store ?? {};
  if (s.url && s.path) fail("store: give either url or path, not both");
  if (s.url) store = { url: s.url };
  else {
    const dataDir = input.dataDir ?? DEFAULT_DATA_DIR;
    const p = s.path ?? join(dataDir, "orchestrator.db");
    store = { path: p === ":memory:" || isAbsolute(p) ? p : resolve(baseDir, p) };
  }

  const t = input.tickets ?? {};
  const ticketEV = amount(t.ev, "tickets.ev", DEFAULT_TICKET_EV);
  if (ticketEV <= 0n) fail("tickets.ev must be greater than 0");
  const redeemGas = amount(
    t.redeemGas,
    "tickets.redeemGas",
    target.network === "arbitrum-one" ? ARBITRUM_REDEEM_GAS : DEFAULT_REDEEM_GAS,
  );
  const gasPrice =
    t.gasPrice === undefined || t.gasPrice === "" ? undefined : amount(t.gasPrice, "tickets.gasPrice", 0n);
  const minGasPrice = amount(t.minGasPrice, "tickets.minGasPrice", 0n);
  const maxGasPrice = amount(t.maxGasPrice, "tickets.maxGasPrice", 0n);
  if (maxGasPrice > 0n && maxGasPrice < minGasPrice) fail("tickets.maxGasPrice is below tickets.minGasPrice");

  const { models, prices } = await loadModels(input.models, baseDir);
  const logLevel = input.logLevel ?? "info";
  if (!LOG_LEVELS.includes(logLevel)) fail(`logLevel must be one of ${LOG_LEVELS.join(", ")}`);
  if (input.serviceUri !== undefined && !/^https?:\/\/\S+$/.test(input.serviceUri)) {
    fail("serviceUri must be an http(s) URL");
  }
  const host = input.host ?? "127.0.0.1";
  if (typeof host !== "string" || host === "") fail("host must be a non-empty string");

  return {
    privateKey: key,
    address: addr,
    recipient,
    chain: target,
    pollIntervalMs: positiveInt(input.chain?.pollIntervalMs, "chain.pollIntervalMs", local ? 500 : 2000),
    store,
    host,
    grpcPort: port(input.grpcPort, "grpcPort", 8935),
    httpPort: port(input.httpPort, "httpPort", 8936),
    serviceUri: input.serviceUri?.replace(/\/+$/, ""),
    ticketEV,
    maxFaceValue: amount(t.maxFaceValue, "tickets.maxFaceValue", 0n),
    redeemGas,
    gasPrice,
    minGasPrice,
    maxGasPrice,
    redemption: {
      enabled: input.redemption?.enabled ?? true,
      maxBackoffMs: positiveInt(input.redemption?.maxBackoffMs, "redemption.maxBackoffMs", 5 * 60_000),
    },
    models,
    prices,
    authTokenTtlSeconds: positiveInt(
      input.authTokenTtlSeconds,
      "authTokenTtlSeconds",
      DEFAULT_AUTH_TOKEN_TTL_SECONDS,
    ),
    maxBodyBytes: positiveInt(input.maxBodyBytes, "maxBodyBytes", 32 * 1024 * 1024),
    logLevel,
    capabilitiesVersion: input.capabilitiesVersion ?? DEFAULT_CAPABILITIES_VERSION,
    persistent: resolvePersistentConfig(input.persistent, {
      dataDir: resolve(baseDir, input.dataDir ?? DEFAULT_DATA_DIR),
      manifestBroker:
        target.network === "devnet" ? target.manifest.contracts.persistentTicketBroker : undefined,
    }),
  };
}

/**
 * Reads a JSON config file and resolves it (relative paths against the file's directory).
 * @example const config = await loadOrchestratorConfigFile("orchestrator.json", overrides)
 */
export async function loadOrchestratorConfigFile(
  path: string,
  ...overrides: OrchestratorConfigInput[]
): Promise<OrchestratorConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    return fail(`cannot read config ${path}: ${(e as Error).message}`);
  }
  let json: OrchestratorConfigInput;
  try {
    json = JSON.parse(text) as OrchestratorConfigInput;
  } catch {
    return fail(`${path} is not valid JSON`);
  }
  return resolveOrchestratorConfig(mergeOrchestratorConfig(json, ...overrides), {
    baseDir: dirname(resolve(path)),
  });
}

const NESTED = ["chain", "store", "tickets", "redemption"] as const;

/**
 * Merges configuration layers, later layers winning field by field (nested objects `chain`,
 * `store`, `tickets`, `redemption` are merged too; undefined fields do not override).
 * @example mergeOrchestratorConfig(fileConfig, envConfig, flagConfig)
 */
export function mergeOrchestratorConfig(...layers: OrchestratorConfigInput[]): OrchestratorConfigInput {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      if ((NESTED as readonly string[]).includes(k) && typeof v === "object" && v !== null) {
        const prev = (out[k] as Record<string, unknown> | undefined) ?? {};
        out[k] = { ...prev, ...Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) };
      } else out[k] = v;
    }
  }
  return out as OrchestratorConfigInput;
}

/** Environment variables the orchestrator reads. */
export const ORCHESTRATOR_ENV = {
  privateKey: "LIVEPAY_PRIVATE_KEY",
  network: "LIVEPAY_NETWORK",
  manifest: "LIVEPAY_MANIFEST",
  rpcUrl: "LIVEPAY_RPC_URL",
  recipient: "LIVEPAY_ORCH_RECIPIENT",
  store: "LIVEPAY_ORCH_STORE",
  dataDir: "LIVEPAY_ORCH_DATA_DIR",
  serviceUri: "LIVEPAY_ORCH_SERVICE_URI",
  ticketEV: "LIVEPAY_ORCH_TICKET_EV",
  logLevel: "LIVEPAY_LOG_LEVEL",
} as const;

/**
 * The configuration layer given by environment variables (`LIVEPAY_PRIVATE_KEY`, `LIVEPAY_ORCH_STORE`, ...).
 * @example orchestratorConfigFromEnv(process.env)
 */
export function orchestratorConfigFromEnv(env: Record<string, string | undefined>): OrchestratorConfigInput {
  const get = (k: keyof typeof ORCHESTRATOR_ENV) => {
    const v = env[ORCHESTRATOR_ENV[k]];
    return v === undefined || v === "" ? undefined : v;
  };
  const store = get("store");
  return {
    privateKey: get("privateKey"),
    recipient: get("recipient"),
    dataDir: get("dataDir"),
    serviceUri: get("serviceUri"),
    logLevel: get("logLevel"),
    chain: {
      network: get("network") as "devnet" | "arbitrum-one" | "custom" | undefined,
      manifest: get("manifest"),
      rpcUrl: get("rpcUrl"),
    },
    store:
      store === undefined ? undefined : /^postgres(ql)?:\/\//i.test(store) ? { url: store } : { path: store },
    tickets: { ev: get("ticketEV") },
  } as OrchestratorConfigInput;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "***";
  }
}

/**
 * A copy safe to print at start-up: no key, no store password, no model tokens; amounts as strings.
 * @example logger.info({ config: redactOrchestratorConfig(config) }, "starting")
 */
export function redactOrchestratorConfig(c: OrchestratorConfig): Record<string, unknown> {
  const chain =
    c.chain.network === "devnet"
      ? {
          network: "devnet",
          rpcUrl: c.chain.rpcUrl ?? c.chain.manifest.rpcUrl,
          chainId: c.chain.manifest.chainId,
        }
      : c.chain;
  return {
    address: c.address,
    privateKey: "***",
    recipient: c.recipient,
    chain,
    pollIntervalMs: c.pollIntervalMs,
    store: "url" in c.store ? { url: redactUrl(c.store.url) } : c.store,
    host: c.host,
    grpcPort: c.grpcPort,
    httpPort: c.httpPort,
    serviceUri: c.serviceUri,
    tickets: {
      ev: c.ticketEV.toString(),
      maxFaceValue: c.maxFaceValue.toString(),
      redeemGas: c.redeemGas.toString(),
      gasPrice: c.gasPrice?.toString() ?? "rpc",
      minGasPrice: c.minGasPrice.toString(),
      maxGasPrice: c.maxGasPrice.toString(),
    },
    redemption: c.redemption,
    models: c.models.map((m, i) => ({
      ...redactRunnerConfig(m),
      pixelsPerUnit: m.pixelsPerUnit.toString(),
      priceWeiPerUnit: c.prices[i]!.toString(),
    })),
    authTokenTtlSeconds: c.authTokenTtlSeconds,
    logLevel: c.logLevel,
    persistent: c.persistent,
  };
}
