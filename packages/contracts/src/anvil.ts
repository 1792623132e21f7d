// Starts a real anvil node (npm @foundry-rs/anvil) on a free local port, for the devnet and tests.
import { spawn, type ChildProcess } from "node:child_process";
import { pbkdf2Sync } from "node:crypto";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { HDKey, privateKeyToAddress } from "viem/accounts";
import type { Address, Hex } from "viem";

/** The mnemonic anvil (and hardhat) derive their public development accounts from. */
export const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";

/** A development account: a publicly known key. Never use one with real funds. */
export interface DevAccount {
  address: Address;
  privateKey: Hex;
}

export interface StartAnvilOptions {
  /** Number of funded development accounts (default 10). */
  accounts?: number;
  /** Balance of each development account in ether (default 10000). */
  balanceEther?: number;
  /** Chain id (default 31337). */
  chainId?: number;
  /** Interval mining in seconds; by default every transaction is mined at once (automine). */
  blockTime?: number;
  /** EVM hardfork name, e.g. "prague" (default: anvil's latest). */
  hardfork?: string;
  /** Extra command-line arguments passed to anvil unchanged. */
  args?: string[];
  /** How long to wait for the node to answer (default 15 s). */
  startTimeoutMs?: number;
  /** Path of the anvil binary (default: $LIVEPAY_ANVIL_BIN, else the npm platform package). */
  binary?: string;
  /** Port to try first; if it is taken, a free one is used instead. */
  port?: number;
}

export interface Anvil {
  /** http://127.0.0.1:<port> */
  rpcUrl: string;
  chainId: number;
  port: number;
  /** Process id of the anvil child. */
  pid: number;
  /** The funded development accounts, in anvil's order. */
  accounts: DevAccount[];
  /** Stops the node (SIGTERM, then SIGKILL after 2 s); safe to call twice. */
  stop(): Promise<void>;
}

const PLATFORMS: Record<string, string> = { linux: "linux", darwin: "darwin", win32: "win32" };
const ARCHS: Record<string, string> = { x64: "amd64", arm64: "arm64" };

/**
 * Path of the anvil binary shipped by the npm platform package `@foundry-rs/anvil-<os>-<arch>`
 * (resolved directly, so the package's disabled postinstall does not matter).
 * @example anvilBinary() // ".../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
 */
export function anvilBinary(): string {
  const fromEnv = process.env.LIVEPAY_ANVIL_BIN;
  if (fromEnv) return fromEnv;
  const platform = PLATFORMS[process.platform];
  const arch = ARCHS[process.arch];
  if (!platform || !arch) throw new Error(`anvil: no npm binary for ${process.platform}/${process.arch}`);
  const pkg = `@foundry-rs/anvil-${platform}-${arch}`;
  let manifest: string;
  try {
    manifest = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
  } catch {
    throw new Error(`anvil: package ${pkg} is not installed (set LIVEPAY_ANVIL_BIN to an anvil binary)`);
  }
  const bin = join(dirname(manifest), "bin", platform === "win32" ? "anvil.exe" : "anvil");
  if (!existsSync(bin)) throw new Error(`anvil: ${bin} does not exist`);
  return bin;
}

let derived: { mnemonic: string; accounts: DevAccount[] } | undefined;

/**
 * The development accounts anvil funds for a mnemonic (BIP-39 seed, BIP-44 path m/44'/60'/0'/0/i).
 * @example devAccounts(2)[0].address // "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
 */
export function devAccounts(count = 10, mnemonic = ANVIL_MNEMONIC): DevAccount[] {
  if (!derived || derived.mnemonic !== mnemonic || derived.accounts.length < count) {
    // Node's native PBKDF2 is ~50x faster than a JS one; the seed is the BIP-39 standard one.
    const seed = pbkdf2Sync(mnemonic.normalize("NFKD"), "mnemonic", 2048, 64, "sha512");
    const root = HDKey.fromMasterSeed(seed);
    const accounts: DevAccount[] = [];
    for (let i = 0; i < count; i++) {
      const key = root.derive(`m/44'/60'/0'/0/${i}`).privateKey!;
      const privateKey = `0x${Buffer.from(key).toString("hex")}` as Hex;
      accounts.push({ address: privateKeyToAddress(privateKey), privateKey });
    }
    derived = { mnemonic, accounts };
  }
  return derived.accounts.slice(0, count);
}

/** Binds `port` (0 = any) on 127.0.0.1 and releases it: the port is free if this succeeds. */
function probePort(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

// Every live anvil, killed when this process exits however it exits normally.
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

async function rpcChainId(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1000),
    });
    const body = (await res.json()) as { result?: string };
    return body.result ? Number(BigInt(body.result)) : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts anvil on a free 127.0.0.1 port and resolves once it answers `eth_chainId`. A port taken
 * between probing and binding is retried on another port. The node is killed by `stop()` and
 * when this process exits.
 * @example const anvil = await startAnvil(); ...; await anvil.stop();
 */
export async function startAnvil(opts: StartAnvilOptions = {}): Promise<Anvil> {
  const binary = opts.binary ?? anvilBinary();
  const chainId = opts.chainId ?? 31337;
  const accountCount = opts.accounts ?? 10;
  let lastError = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    // anvil cannot pick a port itself (--port 0 is refused): probe one, then let anvil bind it.
    const preferred =
      attempt === 0 && opts.port ? await probePort(opts.port).catch(() => undefined) : undefined;
    const port = preferred ?? (await probePort(0));
    const args = [
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--chain-id",
      String(chainId),
      "--accounts",
      String(accountCount),
      "--balance",
      String(opts.balanceEther ?? 10_000),
      "--mnemonic",
      ANVIL_MNEMONIC,
      "--quiet",
    ];
    if (opts.blockTime !== undefined) args.push("--block-time", String(opts.blockTime));
    if (opts.hardfork) args.push("--hardfork", opts.hardfork);
    args.push(...(opts.args ?? []));

    const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
    running.add(child);
    installExitHook();
    let stderr = "";
    let exited = false;
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const exitPromise = new Promise<void>((resolve) => {
      child.once("exit", () => {
        exited = true;
        running.delete(child);
        resolve();
      });
    });
    child.once("error", (err) => {
      stderr += String(err);
    });

    const rpcUrl = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
    let ready = false;
    while (!exited && Date.now() < deadline) {
      if ((await rpcChainId(rpcUrl)) === chainId) {
        ready = true;
        break;
      }
      await sleep(25);
    }
    const stop = async () => {
      if (exited) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
      await exitPromise;
      clearTimeout(timer);
    };
    if (ready) return { rpcUrl, chainId, port, pid: child.pid!, accounts: devAccounts(accountCount), stop };
    await stop();
    lastError = stderr.trim() || "timed out waiting for eth_chainId";
    if (!/address already in use|os error 98|EADDRINUSE/i.test(lastError)) break;
  }
  throw new Error(`anvil failed to start: ${lastError}`);
}
