import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { isAddress, isHex, type Address, type Hex } from "viem";
import { ChainError } from "./errors.js";

/** What an account is for on the devnet. */
export type DevnetRole = "deployer" | "orchestrator" | "gateway" | "user";

export interface DevnetAccount {
  role: DevnetRole;
  /** A readable handle: "deployer", "orchestrator-1", "gateway-1", "user-1", ... */
  name: string;
  address: Address;
  /**
   * Anvil's public development key (or one derived from its public mnemonic): never use with real
   * funds. Absent for a deployer key given with --rpc-url, which is not written to disk.
   */
  privateKey?: Hex;
  /** Orchestrators: the service URI registered on-chain. */
  serviceURI?: string;
  /** Orchestrators: the stake registered on-chain, in wei (decimal string). */
  stake?: string;
}

/**
 * The devnet manifest `livepay devnet` writes: everything another process needs to use the chain.
 * Amounts are decimal wei strings (JSON has no bigint).
 */
export interface DevnetManifest {
  version: 1;
  network: "devnet";
  rpcUrl: string;
  chainId: number;
  contracts: {
    roundsManager: Address;
    orchestratorRegistry: Address;
    ticketBroker: Address;
    persistentTicketBroker?: Address;
  };
  params: {
    roundLength: number;
    unlockPeriod: number;
    ticketValidityPeriod: number;
    poolMaxSize: number;
  };
  accounts: DevnetAccount[];
  /** Block number when the devnet finished setting up. */
  startBlock: number;
  /** ISO time the devnet was started. */
  startedAt: string;
}

const ROLES: readonly DevnetRole[] = ["deployer", "orchestrator", "gateway", "user"];

/**
 * Checks that a parsed JSON value is a devnet manifest; throws `ChainError` (`CHAIN_CONFIG`) naming
 * the first bad field.
 * @example const m = parseManifest(JSON.parse(text))
 */
export function parseManifest(value: unknown, source = "manifest"): DevnetManifest {
  const bad = (field: string, why: string) =>
    new ChainError("CHAIN_CONFIG", `${source}: ${field} ${why}`, { source, field });
  if (!isObject(value)) throw bad("root", "must be a JSON object");
  if (value.version !== 1) throw bad("version", "must be 1");
  if (value.network !== "devnet") throw bad("network", 'must be "devnet"');
  if (typeof value.rpcUrl !== "string" || !/^https?:\/\//.test(value.rpcUrl))
    throw bad("rpcUrl", "must be an http(s) URL");
  if (!Number.isSafeInteger(value.chainId) || (value.chainId as number) <= 0)
    throw bad("chainId", "must be a positive integer");
  const c = value.contracts;
  if (!isObject(c)) throw bad("contracts", "must be an object");
  for (const k of ["roundsManager", "orchestratorRegistry", "ticketBroker"]) {
    if (typeof c[k] !== "string" || !isAddress(c[k] as string))
      throw bad(`contracts.${k}`, "must be an address");
  }
  if (
    c.persistentTicketBroker !== undefined &&
    (typeof c.persistentTicketBroker !== "string" || !isAddress(c.persistentTicketBroker))
  ) {
    throw bad("contracts.persistentTicketBroker", "must be an address");
  }
  const p = value.params;
  if (!isObject(p)) throw bad("params", "must be an object");
  for (const k of ["roundLength", "unlockPeriod", "ticketValidityPeriod", "poolMaxSize"]) {
    if (!Number.isSafeInteger(p[k]) || (p[k] as number) < 0)
      throw bad(`params.${k}`, "must be a non-negative integer");
  }
  if (!Array.isArray(value.accounts)) throw bad("accounts", "must be an array");
  value.accounts.forEach((a: unknown, i: number) => {
    if (!isObject(a)) throw bad(`accounts[${i}]`, "must be an object");
    if (!ROLES.includes(a.role as DevnetRole))
      throw bad(`accounts[${i}].role`, `must be one of ${ROLES.join(", ")}`);
    if (typeof a.name !== "string") throw bad(`accounts[${i}].name`, "must be a string");
    if (typeof a.address !== "string" || !isAddress(a.address))
      throw bad(`accounts[${i}].address`, "must be an address");
    if (
      a.privateKey !== undefined &&
      (typeof a.privateKey !== "string" || !isHex(a.privateKey) || a.privateKey.length !== 66)
    ) {
      throw bad(`accounts[${i}].privateKey`, "must be a 32-byte hex key");
    }
  });
  if (!Number.isSafeInteger(value.startBlock)) throw bad("startBlock", "must be an integer");
  if (typeof value.startedAt !== "string") throw bad("startedAt", "must be a string");
  return value as unknown as DevnetManifest;
}

/**
 * Reads and validates a manifest file. A missing file gets a hint to start the devnet.
 * @example const m = await readManifest(".livepay/devnet.json")
 */
export async function readManifest(path: string): Promise<DevnetManifest> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    throw new ChainError(
      "CHAIN_CONFIG",
      missing
        ? `no devnet manifest at ${path} (start one with: livepay devnet)`
        : `cannot read ${path}: ${(e as Error).message}`,
      { path },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ChainError("CHAIN_CONFIG", `${path} is not valid JSON`, { path });
  }
  return parseManifest(json, path);
}

/**
 * Writes a manifest atomically (temp file + rename) so readers never see half a file.
 * @example await writeManifest(".livepay/devnet.json", manifest)
 */
export async function writeManifest(path: string, manifest: DevnetManifest): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/**
 * The first manifest account with a role (or the account with that name or address).
 * @example manifestAccount(m, "gateway")?.privateKey
 */
export function manifestAccount(manifest: DevnetManifest, which: string): DevnetAccount | undefined {
  const w = which.toLowerCase();
  return (
    manifest.accounts.find((a) => a.name.toLowerCase() === w || a.address.toLowerCase() === w) ??
    manifest.accounts.find((a) => a.role === w)
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
