import { auxData, type Ticket } from "@livepay/protocol";
import { OrchestratorRegistryAbi, RoundsManagerAbi, TicketBrokerAbi } from "@livepay/contracts";
import {
  bytesToHex,
  formatLog,
  numberToHex,
  pad,
  parseEventLogs,
  toEventSelector,
  type AbiEvent,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { ChainError, toChainError } from "./errors.js";

/** A sender's funds at the broker (TicketBroker `getSenderInfo`). */
export interface SenderInfo {
  deposit: bigint;
  /** 0 when no unlock is in progress; else the first round in which `withdraw` succeeds. */
  withdrawRound: bigint;
  reserve: {
    fundsRemaining: bigint;
    claimedInCurrentRound: bigint;
  };
}

/** The result of a mined, successful transaction. */
export interface TxResult {
  hash: Hash;
  blockNumber: bigint;
  gasUsed: bigint;
}

/** The contracts a `LivepeerChain` talks to. `bondingManager` is the devnet OrchestratorRegistry. */
export interface LivepeerAddresses {
  ticketBroker: Address;
  roundsManager: Address;
  bondingManager: Address;
}

/** A broker event decoded from the logs (spec §7.5), with where it was emitted. */
export type BrokerEvent =
  | { name: "DepositFunded"; sender: Address; amount: bigint }
  | { name: "ReserveFunded"; sender: Address; amount: bigint }
  | { name: "ReserveClaimed"; sender: Address; claimant: Address; amount: bigint }
  | { name: "WinningTicketTransfer"; sender: Address; recipient: Address; amount: bigint }
  | { name: "Unlock"; sender: Address; startRound: bigint; endRound: bigint }
  | { name: "UnlockCancelled"; sender: Address }
  | { name: "Withdrawal"; sender: Address; deposit: bigint; reserve: bigint };

export type LocatedBrokerEvent = BrokerEvent & {
  blockNumber: bigint;
  transactionHash: Hash;
  logIndex: number;
};

/**
 * The Livepeer calls a gateway or orchestrator makes, the same against the livepay devnet and
 * Livepeer's Arbitrum One deployment. Reads never need a key; writes use the configured account
 * and throw `ChainError` (`CHAIN_REVERTED` with the revert string, `CHAIN_NO_ACCOUNT`, ...).
 */
export interface LivepeerChain {
  readonly chainId: number;
  readonly addresses: LivepeerAddresses;
  /** The address writes are sent from, if the chain was built with a key. */
  readonly account: Address | undefined;

  getSenderInfo(sender: Address): Promise<SenderInfo>;
  fundDeposit(amount: bigint): Promise<TxResult>;
  fundReserve(amount: bigint): Promise<TxResult>;
  fundDepositAndReserve(deposit: bigint, reserve: bigint): Promise<TxResult>;
  unlock(): Promise<TxResult>;
  cancelUnlock(): Promise<TxResult>;
  withdraw(): Promise<TxResult>;

  currentRound(): Promise<bigint>;
  lastInitializedRound(): Promise<bigint>;
  /** Zero hash when the round was never initialized. */
  blockHashForRound(round: bigint): Promise<Hex>;
  currentRoundInitialized(): Promise<boolean>;
  unlockPeriod(): Promise<bigint>;
  ticketValidityPeriod(): Promise<bigint>;

  isActiveTranscoder(address: Address): Promise<boolean>;
  getTranscoderPoolSize(): Promise<bigint>;
  claimableReserve(reserveHolder: Address, claimant: Address): Promise<bigint>;
  /** What `claimant` already claimed from `reserveHolder`'s reserve this round (spec §2.5 reserveAlloc). */
  claimedReserve(reserveHolder: Address, claimant: Address): Promise<bigint>;
  usedTickets(ticketHash: Hex): Promise<boolean>;
  redeemWinningTicket(ticket: Ticket, sig: Hex, recipientRand: bigint): Promise<TxResult>;

  /** The latest block number as the RPC reports it (never cached). */
  blockNumber(): Promise<bigint>;
  /** The block number rounds are counted in (RoundsManager `blockNum()`: the L1 block on Arbitrum). */
  roundsBlockNumber(): Promise<bigint>;
  /** Broker events in `[fromBlock, toBlock]`, optionally only those whose indexed sender is in `senders`. */
  getBrokerEvents(
    fromBlock: bigint,
    toBlock: bigint,
    senders?: readonly Address[],
  ): Promise<LocatedBrokerEvent[]>;
  /** ETH balance of an address. */
  balanceOf(address: Address): Promise<bigint>;
}

export interface ViemLivepeerChainOptions {
  publicClient: PublicClient<Transport, Chain>;
  walletClient?: WalletClient<Transport, Chain, Account> | undefined;
  addresses: LivepeerAddresses;
  /** How often to poll for a transaction receipt. */
  pollingIntervalMs: number;
}

const BROKER_EVENTS = [
  "DepositFunded",
  "ReserveFunded",
  "ReserveClaimed",
  "WinningTicketTransfer",
  "Unlock",
  "UnlockCancelled",
  "Withdrawal",
] as const;

const BROKER_EVENT_TOPICS: Hex[] = TicketBrokerAbi.filter(
  (item) => item.type === "event" && (BROKER_EVENTS as readonly string[]).includes(item.name),
).map((item) => toEventSelector(item as AbiEvent));

/**
 * `LivepeerChain` over viem clients. One implementation serves both backends: the devnet contracts
 * are ABI-compatible with Livepeer's, so only the addresses differ (see `connectChain`).
 * @example const chain = new ViemLivepeerChain({ publicClient, walletClient, addresses, pollingIntervalMs: 100 })
 */
export class ViemLivepeerChain implements LivepeerChain {
  readonly chainId: number;
  readonly addresses: LivepeerAddresses;
  readonly account: Address | undefined;
  private readonly client: PublicClient<Transport, Chain>;
  private readonly wallet: WalletClient<Transport, Chain, Account> | undefined;
  private readonly pollingIntervalMs: number;
  // Writes from one account are serialized so that nonces never race.
  private writeQueue: Promise<unknown> = Promise.resolve();

  constructor(opts: ViemLivepeerChainOptions) {
    this.client = opts.publicClient;
    this.wallet = opts.walletClient;
    this.addresses = opts.addresses;
    this.chainId = opts.publicClient.chain.id;
    this.account = opts.walletClient?.account.address;
    this.pollingIntervalMs = opts.pollingIntervalMs;
  }

  async getSenderInfo(sender: Address): Promise<SenderInfo> {
    const [s, r] = await this.read("TicketBroker.getSenderInfo", () =>
      this.client.readContract({ ...this.broker, functionName: "getSenderInfo", args: [sender] }),
    );
    return {
      deposit: s.deposit,
      withdrawRound: s.withdrawRound,
      reserve: { fundsRemaining: r.fundsRemaining, claimedInCurrentRound: r.claimedInCurrentRound },
    };
  }

  fundDeposit(amount: bigint): Promise<TxResult> {
    return this.writeBroker("fundDeposit", [], amount);
  }

  fundReserve(amount: bigint): Promise<TxResult> {
    return this.writeBroker("fundReserve", [], amount);
  }

  fundDepositAndReserve(deposit: bigint, reserve: bigint): Promise<TxResult> {
    return this.writeBroker("fundDepositAndReserve", [deposit, reserve], deposit + reserve);
  }

  unlock(): Promise<TxResult> {
    return this.writeBroker("unlock", []);
  }

  cancelUnlock(): Promise<TxResult> {
    return this.writeBroker("cancelUnlock", []);
  }

  withdraw(): Promise<TxResult> {
    return this.writeBroker("withdraw", []);
  }

  currentRound(): Promise<bigint> {
    return this.read("RoundsManager.currentRound", () =>
      this.client.readContract({ ...this.rounds, functionName: "currentRound" }),
    );
  }

  lastInitializedRound(): Promise<bigint> {
    return this.read("RoundsManager.lastInitializedRound", () =>
      this.client.readContract({ ...this.rounds, functionName: "lastInitializedRound" }),
    );
  }

  blockHashForRound(round: bigint): Promise<Hex> {
    return this.read("RoundsManager.blockHashForRound", () =>
      this.client.readContract({ ...this.rounds, functionName: "blockHashForRound", args: [round] }),
    );
  }

  currentRoundInitialized(): Promise<boolean> {
    return this.read("RoundsManager.currentRoundInitialized", () =>
      this.client.readContract({ ...this.rounds, functionName: "currentRoundInitialized" }),
    );
  }

  unlockPeriod(): Promise<bigint> {
    return this.read("TicketBroker.unlockPeriod", () =>
      this.client.readContract({ ...this.broker, functionName: "unlockPeriod" }),
    );
  }

  ticketValidityPeriod(): Promise<bigint> {
    return this.read("TicketBroker.ticketValidityPeriod", () =>
      this.client.readContract({ ...this.broker, functionName: "ticketValidityPeriod" }),
    );
  }

  isActiveTranscoder(address: Address): Promise<boolean> {
    return this.read("BondingManager.isActiveTranscoder", () =>
      this.client.readContract({ ...this.registry, functionName: "isActiveTranscoder", args: [address] }),
    );
  }

  getTranscoderPoolSize(): Promise<bigint> {
    return this.read("BondingManager.getTranscoderPoolSize", () =>
      this.client.readContract({ ...this.registry, functionName: "getTranscoderPoolSize" }),
    );
  }

  claimableReserve(reserveHolder: Address, claimant: Address): Promise<bigint> {
    return this.read("TicketBroker.claimableReserve", () =>
      this.client.readContract({
        ...this.broker,
        functionName: "claimableReserve",
        args: [reserveHolder, claimant],
      }),
    );
  }

  claimedReserve(reserveHolder: Address, claimant: Address): Promise<bigint> {
    return this.read("TicketBroker.claimedReserve", () =>
      this.client.readContract({
        ...this.broker,
        functionName: "claimedReserve",
        args: [reserveHolder, claimant],
      }),
    );
  }

  usedTickets(ticketHash: Hex): Promise<boolean> {
    return this.read("TicketBroker.usedTickets", () =>
      this.client.readContract({ ...this.broker, functionName: "usedTickets", args: [ticketHash] }),
    );
  }

  redeemWinningTicket(ticket: Ticket, sig: Hex, recipientRand: bigint): Promise<TxResult> {
    const abiTicket = {
      recipient: ticket.recipient,
      sender: ticket.sender,
      faceValue: ticket.faceValue,
      winProb: ticket.winProb,
      senderNonce: ticket.senderNonce,
      recipientRandHash: ticket.recipientRandHash,
      auxData: bytesToHex(auxData(ticket.creationRound, ticket.creationRoundBlockHash)),
    };
    return this.writeBroker("redeemWinningTicket", [abiTicket, sig, recipientRand]);
  }

  async blockNumber(): Promise<bigint> {
    try {
      return await this.client.getBlockNumber({ cacheTime: 0 });
    } catch (e) {
      throw toChainError(e, { method: "eth_blockNumber" });
    }
  }

  roundsBlockNumber(): Promise<bigint> {
    return this.read("RoundsManager.blockNum", () =>
      this.client.readContract({ ...this.rounds, functionName: "blockNum" }),
    );
  }

  async balanceOf(address: Address): Promise<bigint> {
    try {
      return await this.client.getBalance({ address });
    } catch (e) {
      throw toChainError(e, { method: "eth_getBalance" });
    }
  }

  async getBrokerEvents(
    fromBlock: bigint,
    toBlock: bigint,
    senders?: readonly Address[],
  ): Promise<LocatedBrokerEvent[]> {
    if (senders && senders.length === 0) return [];
    // Filter on the node: topic0 = one of the seven events, topic1 = the sender (the first indexed
    // parameter of all seven), so a busy broker's WinningTicketRedeemed logs are never downloaded.
    const topics = [BROKER_EVENT_TOPICS, senders ? senders.map((a) => pad(a.toLowerCase() as Hex)) : null];
    let logs;
    try {
      const raw = await this.client.request({
        method: "eth_getLogs",
        params: [
          {
            address: this.addresses.ticketBroker,
            fromBlock: numberToHex(fromBlock),
            toBlock: numberToHex(toBlock),
            topics,
          },
        ],
      });
      logs = raw.map((l) => formatLog(l));
    } catch (e) {
      throw toChainError(e, { method: "eth_getLogs" });
    }
    const wanted = senders ? new Set(senders.map((s) => s.toLowerCase())) : undefined;
    const out: LocatedBrokerEvent[] = [];
    for (const log of parseEventLogs({
      abi: TicketBrokerAbi,
      logs,
      eventName: [...BROKER_EVENTS],
      strict: true,
    })) {
      const event = toBrokerEvent(log.eventName, log.args as Record<string, unknown>);
      if (!event || (wanted && !wanted.has(event.sender.toLowerCase()))) continue;
      out.push({
        ...event,
        blockNumber: log.blockNumber,
        transactionHash: log.transactionHash,
        logIndex: log.logIndex,
      });
    }
    return out;
  }

  // ---------------------------------------------------------------- plumbing

  private get broker() {
    return { address: this.addresses.ticketBroker, abi: TicketBrokerAbi } as const;
  }

  private get rounds() {
    return { address: this.addresses.roundsManager, abi: RoundsManagerAbi } as const;
  }

  private get registry() {
    return { address: this.addresses.bondingManager, abi: OrchestratorRegistryAbi } as const;
  }

  private async read<T>(functionName: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw toChainError(e, { functionName });
    }
  }

  private writeBroker(
    functionName: BrokerWrite,
    args: readonly unknown[],
    value?: bigint,
  ): Promise<TxResult> {
    const wallet = this.wallet;
    if (!wallet) {
      return Promise.reject(
        new ChainError("CHAIN_NO_ACCOUNT", `${functionName} needs a private key`, { functionName }),
      );
    }
    const run = () =>
      sendContractTx(this.client, wallet, this.pollingIntervalMs, {
        address: this.addresses.ticketBroker,
        abi: TicketBrokerAbi,
        functionName,
        args,
        value,
        label: `TicketBroker.${functionName}`,
      });
    const result = this.writeQueue.then(run, run);
    this.writeQueue = result.catch(() => undefined);
    return result;
  }
}

/**
 * Sends one contract call and waits for it to be mined. The gas estimate doubles as the preflight
 * that decodes a revert reason before anything is signed; a transaction that is mined but fails is
 * replayed with `eth_call` at its block to recover the reason.
 * @example await sendContractTx(client, wallet, 100, { address, abi, functionName: "unlock", args: [], label: "unlock" })
 */
export async function sendContractTx(
  client: PublicClient<Transport, Chain>,
  wallet: WalletClient<Transport, Chain, Account>,
  pollingIntervalMs: number,
  call: {
    address: Address;
    abi: readonly unknown[];
    functionName: string;
    args: readonly unknown[];
    value?: bigint | undefined;
    label: string;
  },
): Promise<TxResult> {
  const details = { functionName: call.label };
  const request = {
    address: call.address,
    abi: call.abi,
    functionName: call.functionName,
    args: call.args,
    account: wallet.account,
    ...(call.value !== undefined && call.value > 0n ? { value: call.value } : {}),
  } as never;
  let hash: Hash;
  try {
    const gas: bigint = await client.estimateContractGas(request);
    // Headroom for state that changes between estimate and inclusion (e.g. a new round).
    hash = await wallet.writeContract({
      ...(request as object),
      gas: gas + gas / 5n,
      chain: wallet.chain,
    } as never);
  } catch (e) {
    throw toChainError(e, details);
  }
  let receipt;
  try {
    receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: pollingIntervalMs });
  } catch (e) {
    throw toChainError(e, { ...details, hash });
  }
  if (receipt.status !== "success") {
    try {
      await client.simulateContract({ ...(request as object), blockNumber: receipt.blockNumber } as never);
    } catch (e) {
      throw toChainError(e, { ...details, hash });
    }
    throw new ChainError("CHAIN_TX_FAILED", `${call.label} failed in transaction ${hash}`, {
      ...details,
      hash,
    });
  }
  return { hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed };
}

function toBrokerEvent(name: string, a: Record<string, unknown>): BrokerEvent | undefined {
  const addr = (k: string) => a[k] as Address;
  const num = (k: string) => a[k] as bigint;
  switch (name) {
    case "DepositFunded":
      return { name, sender: addr("sender"), amount: num("amount") };
    case "ReserveFunded":
      return { name, sender: addr("reserveHolder"), amount: num("amount") };
    case "ReserveClaimed":
      return { name, sender: addr("reserveHolder"), claimant: addr("claimant"), amount: num("amount") };
    case "WinningTicketTransfer":
      return { name, sender: addr("sender"), recipient: addr("recipient"), amount: num("amount") };
    case "Unlock":
      return { name, sender: addr("sender"), startRound: num("startRound"), endRound: num("endRound") };
    case "UnlockCancelled":
      return { name, sender: addr("sender") };
    case "Withdrawal":
      return { name, sender: addr("sender"), deposit: num("deposit"), reserve: num("reserve") };
    default:
      return undefined;
  }
}

type BrokerWrite = Extract<
  (typeof TicketBrokerAbi)[number],
  { type: "function"; stateMutability: "nonpayable" | "payable" }
>["name"];
