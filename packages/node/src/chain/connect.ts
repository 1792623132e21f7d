import { OrchestratorRegistryAbi, RoundsManagerAbi, TicketBrokerAbi } from "@livepay/contracts";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  http,
  isAddress,
  zeroAddress,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ChainError, toChainError } from "./errors.js";
import { ARBITRUM_ONE, ControllerAbi, contractId } from "./livepeerContracts.js";
import { ViemLivepeerChain, type LivepeerAddresses, type LivepeerChain } from "./livepeerChain.js";
import type { DevnetManifest } from "./manifest.js";

/** Which chain and contracts to use. */
export type ChainTarget =
  /** The livepay devnet described by a manifest (`rpcUrl` overrides the manifest's). */
  | { network: "devnet"; manifest: DevnetManifest; rpcUrl?: string | undefined }
  /**
   * Livepeer on Arbitrum One: TicketBroker and Controller from spec §7.1, RoundsManager and
   * BondingManager resolved through `Controller.getContract(keccak256(name))`. The address and
   * chain id overrides exist for forks and tests.
   */
  | {
      network: "arbitrum-one";
      rpcUrl?: string | undefined;
      ticketBroker?: Address;
      controller?: Address;
      chainId?: number;
    }
  /**
   * Any deployment: give the broker and either the other two addresses, or a Controller to resolve
   * them, or neither (then they are read from a livepay broker's `roundsManager()` and
   * `orchestratorRegistry()` views).
   */
  | {
      network: "custom";
      rpcUrl: string;
      ticketBroker: Address;
      roundsManager?: Address;
      bondingManager?: Address;
      controller?: Address;
      chainId?: number;
    };

export interface ConnectOptions {
  /** Key that signs writes; without it the chain is read-only (writes throw `CHAIN_NO_ACCOUNT`). */
  privateKey?: Hex | undefined;
  /** Polling interval for receipts and watchers. Default: 50 ms on a local RPC, 1000 ms otherwise. */
  pollingIntervalMs?: number;
  /** Per-request timeout. Default 10 s. */
  timeoutMs?: number;
}

export type ChainConfig = ChainTarget & ConnectOptions;

/** A connected chain plus the viem clients underneath, for callers that need more than `LivepeerChain`. */
export interface ConnectedChain {
  chain: LivepeerChain;
  publicClient: PublicClient<Transport, Chain>;
  rpcUrl: string;
  network: ChainTarget["network"];
}

/**
 * True for RPC URLs on this machine, where retries only add latency (DESIGN: `retryCount: 0`).
 * @example isLocalRpc("http://127.0.0.1:8545") // true
 */
export function isLocalRpc(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === "localhost" || host === "127.0.0.1" || host === "[::1]" || host === "::1";
  } catch {
    return false;
  }
}

/**
 * Connects to the chain a config names, checks the RPC's chain id and that the broker has code,
 * resolves the contract addresses and returns a `LivepeerChain`. Errors are `ChainError`s
 * (`CHAIN_CONFIG` for a wrong chain or address, `CHAIN_RPC` for an unreachable node).
 *
 * @example
 * const chain = await connectChain({ network: "devnet", manifest, privateKey });
 * const chain = await connectChain({ network: "arbitrum-one", rpcUrl: "https://arb1.arbitrum.io/rpc" });
 */
export async function connectChain(config: ChainConfig): Promise<LivepeerChain> {
  return (await connectChainClients(config)).chain;
}

/** `connectChain`, also returning the viem public client. @example const { chain, publicClient } = await connectChainClients(cfg) */
export async function connectChainClients(config: ChainConfig): Promise<ConnectedChain> {
  const rpcUrl = rpcUrlOf(config);
  const local = isLocalRpc(rpcUrl);
  const pollingIntervalMs = config.pollingIntervalMs ?? (local ? 50 : 1000);
  const transport = http(rpcUrl, { retryCount: local ? 0 : 3, timeout: config.timeoutMs ?? 10_000 });

  let chainId: number;
  try {
    chainId = await createPublicClient({ transport }).getChainId();
  } catch (e) {
    const err = toChainError(e, { rpcUrl });
    const hint = config.network === "devnet" ? " (is the devnet running? start it with: livepay devnet)" : "";
    throw new ChainError(err.code, `cannot reach ${rpcUrl}: ${err.message}${hint}`, { rpcUrl });
  }
  const expected = expectedChainId(config);
  if (expected !== undefined && expected !== chainId) {
    throw new ChainError("CHAIN_CONFIG", `${rpcUrl} is chain ${chainId}, expected ${expected}`, {
      rpcUrl,
      chainId,
      expected,
    });
  }

  const chain = defineChain({
    id: chainId,
    name: config.network === "arbitrum-one" ? "Arbitrum One" : `livepay ${config.network} ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const publicClient = createPublicClient({
    chain,
    transport,
    pollingInterval: pollingIntervalMs,
    cacheTime: 0,
  });
  const walletClient = config.privateKey
    ? createWalletClient({
        account: privateKeyToAccount(checkKey(config.privateKey)),
        chain,
        transport,
        pollingInterval: pollingIntervalMs,
        cacheTime: 0,
      })
    : undefined;

  const resolved = await resolveAddresses(config, publicClient);
  // Checksummed, so addresses compare equal whatever casing the config or the RPC used.
  const addresses: LivepeerAddresses = {
    ticketBroker: getAddress(resolved.ticketBroker),
    roundsManager: getAddress(resolved.roundsManager),
    bondingManager: getAddress(resolved.bondingManager),
  };
  const code = await publicClient.getCode({ address: addresses.ticketBroker }).catch((e: unknown) => {
    throw toChainError(e, { rpcUrl });
  });
  if (!code || code === "0x") {
    throw new ChainError(
      "CHAIN_CONFIG",
      `no contract at TicketBroker address ${addresses.ticketBroker} on ${rpcUrl}`,
      {
        rpcUrl,
        ticketBroker: addresses.ticketBroker,
      },
    );
  }
  return {
    chain: new ViemLivepeerChain({ publicClient, walletClient, addresses, pollingIntervalMs }),
    publicClient,
    rpcUrl,
    network: config.network,
  };
}

function rpcUrlOf(config: ChainTarget): string {
  switch (config.network) {
    case "devnet":
      return config.rpcUrl ?? config.manifest.rpcUrl;
    case "arbitrum-one":
      return config.rpcUrl ?? ARBITRUM_ONE.defaultRpcUrl;
    case "custom":
      return config.rpcUrl;
  }
}

function expectedChainId(config: ChainTarget): number | undefined {
  switch (config.network) {
    case "devnet":
      return config.manifest.chainId;
    case "arbitrum-one":
      return config.chainId ?? ARBITRUM_ONE.chainId;
    case "custom":
      return config.chainId;
  }
}

function checkKey(key: Hex): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new ChainError("CHAIN_CONFIG", "private key must be 32 bytes of hex with a 0x prefix");
  }
  return key;
}

function checkAddress(value: string | undefined, field: string): Address | undefined {
  if (value === undefined) return undefined;
  if (!isAddress(value))
    throw new ChainError("CHAIN_CONFIG", `${field} is not an address: ${value}`, { field });
  return value;
}

async function resolveAddresses(
  config: ChainTarget,
  client: PublicClient<Transport, Chain>,
): Promise<LivepeerAddresses> {
  if (config.network === "devnet") {
    const c = config.manifest.contracts;
    return {
      ticketBroker: c.ticketBroker,
      roundsManager: c.roundsManager,
      bondingManager: c.orchestratorRegistry,
    };
  }
  if (config.network === "arbitrum-one") {
    const ticketBroker = checkAddress(config.ticketBroker, "ticketBroker") ?? ARBITRUM_ONE.ticketBroker;
    const controller = checkAddress(config.controller, "controller") ?? ARBITRUM_ONE.controller;
    return { ticketBroker, ...(await resolveThroughController(client, controller)) };
  }
  const ticketBroker = checkAddress(config.ticketBroker, "ticketBroker")!;
  let roundsManager = checkAddress(config.roundsManager, "roundsManager");
  let bondingManager = checkAddress(config.bondingManager, "bondingManager");
  const controller = checkAddress(config.controller, "controller");
  if ((!roundsManager || !bondingManager) && controller) {
    const r = await resolveThroughController(client, controller);
    roundsManager ??= r.roundsManager;
    bondingManager ??= r.bondingManager;
  }
  if (!roundsManager || !bondingManager) {
    try {
      roundsManager ??= await client.readContract({
        address: ticketBroker,
        abi: TicketBrokerAbi,
        functionName: "roundsManager",
      });
      bondingManager ??= await client.readContract({
        address: ticketBroker,
        abi: TicketBrokerAbi,
        functionName: "orchestratorRegistry",
      });
    } catch (e) {
      throw new ChainError(
        "CHAIN_CONFIG",
        `cannot find RoundsManager/BondingManager from TicketBroker ${ticketBroker}: give their addresses or a controller (${toChainError(e).message})`,
        { ticketBroker },
      );
    }
  }
  return { ticketBroker, roundsManager, bondingManager };
}

/**
 * Resolves RoundsManager and BondingManager through a Livepeer Controller (spec §7.1).
 * @example await resolveThroughController(client, ARBITRUM_ONE.controller)
 */
export async function resolveThroughController(
  client: PublicClient<Transport, Chain>,
  controller: Address,
): Promise<{ roundsManager: Address; bondingManager: Address }> {
  const get = async (name: string) => {
    let address: Address;
    try {
      address = await client.readContract({
        address: controller,
        abi: ControllerAbi,
        functionName: "getContract",
        args: [contractId(name)],
      });
    } catch (e) {
      throw new ChainError(
        "CHAIN_CONFIG",
        `Controller ${controller}: getContract("${name}") failed: ${toChainError(e).message}`,
        {
          controller,
          name,
        },
      );
    }
    if (address === zeroAddress) {
      throw new ChainError("CHAIN_CONFIG", `Controller ${controller} has no "${name}"`, { controller, name });
    }
    return address;
  };
  const [roundsManager, bondingManager] = await Promise.all([get("RoundsManager"), get("BondingManager")]);
  // Sanity-check that they answer the calls we make, so a wrong controller fails here, not later.
  await Promise.all([
    client.readContract({ address: roundsManager, abi: RoundsManagerAbi, functionName: "currentRound" }),
    client.readContract({
      address: bondingManager,
      abi: OrchestratorRegistryAbi,
      functionName: "getTranscoderPoolSize",
    }),
  ]).catch((e: unknown) => {
    throw new ChainError(
      "CHAIN_CONFIG",
      `Controller ${controller} resolves to contracts that do not answer: ${toChainError(e).message}`,
      {
        controller,
      },
    );
  });
  return { roundsManager, bondingManager };
}
