import { LivepayError } from "@livepay/protocol";
import type { Hex } from "viem";
import type { ChainTarget } from "../chain/connect.js";
import { manifestAccount, readManifest, type DevnetManifest } from "../chain/manifest.js";

/** A configuration value that is missing or malformed (bad usage: CLI exit code 2). */
export class ConfigError extends LivepayError {}

/** The default devnet manifest path, relative to the working directory. */
export const DEFAULT_MANIFEST_PATH = ".livepay/devnet.json";

/** The networks a chain command can target. */
export const NETWORKS = ["devnet", "arbitrum-one"] as const;
export type NetworkName = (typeof NETWORKS)[number];

/** Chain settings as they arrive from flags (or a config file); every field optional. */
export interface ChainSettings {
  network?: string | undefined;
  manifest?: string | undefined;
  rpcUrl?: string | undefined;
  privateKey?: string | undefined;
  /** Devnet only: which manifest account signs (name, role or address); default "gateway". */
  account?: string | undefined;
}

/** Environment variables read for chain settings. */
export const CHAIN_ENV = {
  network: "LIVEPAY_NETWORK",
  manifest: "LIVEPAY_MANIFEST",
  rpcUrl: "LIVEPAY_RPC_URL",
  privateKey: "LIVEPAY_PRIVATE_KEY",
  account: "LIVEPAY_ACCOUNT",
} as const satisfies Record<keyof ChainSettings, string>;

/** Validated chain settings, ready for `connectChain`. */
export interface ResolvedChainSettings {
  target: ChainTarget;
  network: NetworkName;
  /** The signing key, when one was given or (devnet) taken from the manifest. */
  privateKey: Hex | undefined;
  /** Where the key came from, for messages: "private key" or "devnet account gateway-1". */
  keySource: string | undefined;
  /** The devnet manifest, if the target is the devnet. */
  manifest: DevnetManifest | undefined;
}

/**
 * Merges chain settings with the precedence DESIGN.md fixes — flags over environment over file —
 * and returns the first defined value per field.
 * @example mergeChainSettings(flags, chainSettingsFromEnv(process.env))
 */
export function mergeChainSettings(...layers: ChainSettings[]): ChainSettings {
  const out: ChainSettings = {};
  for (const key of Object.keys(CHAIN_ENV) as (keyof ChainSettings)[]) {
    for (const layer of layers) {
      const v = layer[key];
      if (v !== undefined && v !== "") {
        out[key] = v;
        break;
      }
    }
  }
  return out;
}

/**
 * Reads chain settings from environment variables (`LIVEPAY_NETWORK`, `LIVEPAY_RPC_URL`, ...).
 * @example chainSettingsFromEnv(process.env).rpcUrl
 */
export function chainSettingsFromEnv(env: Record<string, string | undefined>): ChainSettings {
  const out: ChainSettings = {};
  for (const [key, name] of Object.entries(CHAIN_ENV) as [keyof ChainSettings, string][]) {
    if (env[name] !== undefined && env[name] !== "") out[key] = env[name];
  }
  return out;
}

/**
 * Normalizes a private key to `0x` + 64 lowercase hex; throws `ConfigError` (without echoing the key).
 * @example parsePrivateKey("ac0974...ff80") // "0xac0974...ff80"
 */
export function parsePrivateKey(value: string, source = "private key"): Hex {
  const v = value.trim();
  const body = v.startsWith("0x") || v.startsWith("0X") ? v.slice(2) : v;
  if (!/^[0-9a-fA-F]{64}$/.test(body)) {
    throw new ConfigError(
      "CONFIG_PRIVATE_KEY",
      `${source} must be 32 bytes of hex (64 hex digits, optional 0x)`,
    );
  }
  return `0x${body.toLowerCase()}`;
}

/**
 * Validates settings and turns them into a chain target. `devnet` (the default) reads the manifest;
 * `arbitrum-one` needs no manifest. On the devnet, without a key, the manifest account named by
 * `account` (default: the first gateway) signs when `wantKey` is set.
 *
 * @example const s = await resolveChainSettings(mergeChainSettings(flags, chainSettingsFromEnv(process.env)), { wantKey: true })
 */
export async function resolveChainSettings(
  settings: ChainSettings,
  opts: { wantKey: boolean } = { wantKey: false },
): Promise<ResolvedChainSettings> {
  const network = (settings.network ?? "devnet") as NetworkName;
  if (!NETWORKS.includes(network)) {
    throw new ConfigError(
      "CONFIG_NETWORK",
      `unknown network "${settings.network}": use ${NETWORKS.join(" or ")}`,
    );
  }
  if (settings.rpcUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(settings.rpcUrl)) {
    throw new ConfigError("CONFIG_RPC_URL", `rpc url must be an http(s) URL: "${settings.rpcUrl}"`);
  }
  let privateKey = settings.privateKey !== undefined ? parsePrivateKey(settings.privateKey) : undefined;
  let keySource = privateKey ? "private key" : undefined;

  if (network === "arbitrum-one") {
    if (settings.account !== undefined) {
      throw new ConfigError(
        "CONFIG_ACCOUNT",
        "--account picks a devnet manifest account; on arbitrum-one use --private-key",
      );
    }
    return {
      target: { network, rpcUrl: settings.rpcUrl },
      network,
      privateKey,
      keySource,
      manifest: undefined,
    };
  }

  const manifest = await readManifest(settings.manifest ?? DEFAULT_MANIFEST_PATH);
  if (!privateKey && (opts.wantKey || settings.account !== undefined)) {
    const which = settings.account ?? "gateway";
    const account = manifestAccount(manifest, which);
    if (!account) throw new ConfigError("CONFIG_ACCOUNT", `the devnet manifest has no account "${which}"`);
    if (!account.privateKey) {
      throw new ConfigError(
        "CONFIG_ACCOUNT",
        `the devnet manifest has no key for ${account.name}: pass --private-key`,
      );
    }
    privateKey = account.privateKey;
    keySource = `devnet account ${account.name}`;
  }
  return { target: { network, manifest, rpcUrl: settings.rpcUrl }, network, privateKey, keySource, manifest };
}
