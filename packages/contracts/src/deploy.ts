// Deploys livepay's contracts (RoundsManager, OrchestratorRegistry, TicketBroker and, when its
// artifact is present, PersistentTicketBroker) to any JSON-RPC chain, typically the anvil devnet.
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  http,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import * as generated from "./generated/index.js";

/** A wallet client with an account and a chain: what deploying and sending transactions need. */
export type LivepayWalletClient = WalletClient<Transport, Chain, Account>;

export interface LocalClients {
  chain: Chain;
  publicClient: PublicClient<Transport, Chain>;
  walletClient: LivepayWalletClient;
}

/**
 * viem clients for a local chain: no retries (a retry costs ~1 s per failed call on anvil), short
 * polling and no response cache, so a receipt or block number is seen as soon as it exists.
 * @example const { publicClient, walletClient } = await localClients(anvil.rpcUrl, anvil.accounts[0].privateKey);
 */
export async function localClients(rpcUrl: string, privateKey: Hex, chainId?: number): Promise<LocalClients> {
  const transport = http(rpcUrl, { retryCount: 0 });
  const id = chainId ?? (await createPublicClient({ transport }).getChainId());
  const chain = defineChain({
    id,
    name: `livepay local ${id}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 20, cacheTime: 0 });
  const walletClient = createWalletClient({
    account: privateKeyToAccount(privateKey),
    chain,
    transport,
    pollingInterval: 20,
    cacheTime: 0,
  });
  return { chain, publicClient, walletClient };
}

export interface DeployParams {
  /** Blocks per round (default 50: rounds pass quickly on an automining devnet; Arbitrum uses 5760 L1 blocks). */
  roundLength?: bigint;
  /** Active-set size of the registry (default 100, Livepeer's). */
  poolMaxSize?: bigint;
  /** TicketBroker unlock period in rounds (default 2, Arbitrum One's). */
  unlockPeriod?: bigint;
  /** TicketBroker ticket validity period in rounds (default 2, Arbitrum One's). */
  ticketValidityPeriod?: bigint;
  /** PersistentTicketBroker unlock period in rounds (default: `unlockPeriod`). */
  persistentUnlockPeriod?: bigint;
  /** Deploy PersistentTicketBroker when its artifact exists (default true). */
  persistent?: boolean;
  /** Initialize the current round after deploying, so tickets can be redeemed at once (default true). */
  initializeRound?: boolean;
}

export interface LivepayAddresses {
  roundsManager: Address;
  orchestratorRegistry: Address;
  ticketBroker: Address;
  /** Absent when the PersistentTicketBroker artifact is not built or `persistent: false`. */
  persistentTicketBroker?: Address;
}

export type DeployTarget =
  | { rpcUrl: string; privateKey: Hex }
  | { walletClient: LivepayWalletClient; publicClient: PublicClient<Transport, Chain> };

export const DEFAULT_DEPLOY_PARAMS = {
  roundLength: 50n,
  poolMaxSize: 100n,
  unlockPeriod: 2n,
  ticketValidityPeriod: 2n,
} as const;

async function deploy(
  clients: { walletClient: LivepayWalletClient; publicClient: PublicClient<Transport, Chain> },
  name: string,
  abi: Abi,
  bytecode: Hex,
  args: readonly unknown[],
): Promise<Address> {
  const hash = await clients.walletClient.deployContract({ abi, bytecode, args });
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress)
    throw new Error(`deploying ${name} failed (tx ${hash})`);
  return getAddress(receipt.contractAddress);
}

/** The PersistentTicketBroker artifact if this build has one (another area of the repo writes it). */
function persistentArtifact(): { abi: Abi; bytecode: Hex } | undefined {
  const g = generated as Record<string, unknown>;
  const abi = g["PersistentTicketBrokerAbi"];
  const bytecode = g["PersistentTicketBrokerBytecode"];
  return abi && bytecode ? { abi: abi as Abi, bytecode: bytecode as Hex } : undefined;
}

/**
 * Arguments for the PersistentTicketBroker constructor, matched by parameter name so that this file
 * keeps working while that contract evolves.
 * >>> PersistentTicketBroker constructor parameters: add new ones here. <<<
 */
function persistentConstructorArgs(
  abi: Abi,
  known: {
    roundsManager: Address;
    orchestratorRegistry: Address;
    ticketBroker: Address;
    unlockPeriod: bigint;
  },
): unknown[] {
  const ctor = abi.find((item) => item.type === "constructor");
  const inputs = ctor && "inputs" in ctor ? ctor.inputs : [];
  return inputs.map((input) => {
    const name = (input.name ?? "").replace(/_/g, "").toLowerCase();
    if (name.includes("rounds")) return known.roundsManager;
    if (name.includes("registry")) return known.orchestratorRegistry;
    if (name.includes("ticketbroker")) return known.ticketBroker;
    if (name.includes("unlockperiod")) return known.unlockPeriod;
    throw new Error(`deployLivepay: unknown PersistentTicketBroker constructor parameter "${input.name}"`);
  });
}

/**
 * Deploys RoundsManager, OrchestratorRegistry, TicketBroker (owned by the deployer) and, if built,
 * PersistentTicketBroker; initializes the current round unless told not to.
 * @example const addrs = await deployLivepay({ rpcUrl: anvil.rpcUrl, privateKey: anvil.accounts[0].privateKey });
 */
export async function deployLivepay(
  target: DeployTarget,
  params: DeployParams = {},
): Promise<LivepayAddresses> {
  const clients = "rpcUrl" in target ? await localClients(target.rpcUrl, target.privateKey) : target;
  const p = { ...DEFAULT_DEPLOY_PARAMS, ...params };

  const roundsManager = await deploy(
    clients,
    "RoundsManager",
    generated.RoundsManagerAbi,
    generated.RoundsManagerBytecode,
    [p.roundLength],
  );
  const orchestratorRegistry = await deploy(
    clients,
    "OrchestratorRegistry",
    generated.OrchestratorRegistryAbi,
    generated.OrchestratorRegistryBytecode,
    [p.poolMaxSize],
  );
  const ticketBroker = await deploy(
    clients,
    "TicketBroker",
    generated.TicketBrokerAbi,
    generated.TicketBrokerBytecode,
    [roundsManager, orchestratorRegistry, p.unlockPeriod, p.ticketValidityPeriod],
  );
  const addresses: LivepayAddresses = { roundsManager, orchestratorRegistry, ticketBroker };

  const persistent = p.persistent === false ? undefined : persistentArtifact();
  if (persistent) {
    const args = persistentConstructorArgs(persistent.abi, {
      roundsManager,
      orchestratorRegistry,
      ticketBroker,
      unlockPeriod: p.persistentUnlockPeriod ?? p.unlockPeriod,
    });
    addresses.persistentTicketBroker = await deploy(
      clients,
      "PersistentTicketBroker",
      persistent.abi,
      persistent.bytecode,
      args,
    );
  }

  if (p.initializeRound !== false) await initializeRoundIfNeeded(clients, roundsManager);
  return addresses;
}

/**
 * Makes sure the round of the next block (where the next transaction lands) is initialized; returns it.
 * @example await initializeRoundIfNeeded(clients, addrs.roundsManager) // 3n
 */
export async function initializeRoundIfNeeded(
  clients: { walletClient: LivepayWalletClient; publicClient: PublicClient<Transport, Chain> },
  roundsManager: Address,
): Promise<bigint> {
  const { publicClient, walletClient } = clients;
  const abi = generated.RoundsManagerAbi;
  const roundLength = await publicClient.readContract({
    address: roundsManager,
    abi,
    functionName: "roundLength",
  });
  const next = (await publicClient.getBlockNumber({ cacheTime: 0 })) + 1n;
  const round = next / roundLength;
  const hash = await publicClient.readContract({
    address: roundsManager,
    abi,
    functionName: "blockHashForRound",
    args: [round],
  });
  if (BigInt(hash) !== 0n) return round;
  const tx = await walletClient.writeContract({
    address: roundsManager,
    abi,
    functionName: "initializeRound",
    gas: 100_000n,
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash: tx });
  if (receipt.status !== "success") throw new Error(`initializeRound failed (tx ${tx})`);
  return round;
}
