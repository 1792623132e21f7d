// The PersistentTicketBroker as the payee sees it: the reads of the admission rule and claimBatch.
import { PersistentTicketBrokerAbi } from "@livepay/contracts";
import {
  createWalletClient,
  parseEventLogs,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { http } from "viem";
import { privateKeyToAccount } from "viem/accounts";

/** A payer's broker record (`getPayerInfo`). */
export interface PayerInfo {
  deposit: bigint;
  reserve: bigint;
  withdrawRound: bigint;
  epoch: bigint;
}

/** One claim entry as `claimBatch` takes it. */
export interface ClaimEntry {
  ticketId: bigint;
  cumulativeAmount: bigint;
  newClaimed: bigint;
  context: Hex;
  r: Hex;
  vs: Hex;
  receiptsRoot: Hex;
}

/** What one entry of a mined batch did (from VoucherClaimed / VoucherClaimFailed). */
export interface ClaimOutcome {
  payer: Hex;
  ticketId: bigint;
  epoch: bigint;
  requested: bigint;
  paid: bigint;
  shortfall: bigint;
  failedReason?: number;
}

const REGISTRY_ABI = [
  {
    type: "function",
    name: "isActiveTranscoder",
    stateMutability: "view",
    inputs: [{ name: "t", type: "address" }],
    outputs: [{ name: "", type: "bool" }],
  },
] as const;
const ROUNDS_ABI = [
  {
    type: "function",
    name: "currentRound",
    stateMutability: "view",
    inputs: [],
    outputs: [{ name: "", type: "uint256" }],
  },
  {
    type: "function",
    name: "roundLength",
    stateMutability: "view",
    inputs: [],
    outputs: [{ name: "", type: "uint256" }],
  },
] as const;

/** A payer's session-key delegation as the broker stores it (`getDelegation`). */
export interface DelegationView {
  payee: Hex;
  cap: bigint;
  claimed: bigint;
  validUntilRound: bigint;
  epoch: bigint;
  /** First round in which the key no longer signs (0 = not revoked). */
  revokeRound: bigint;
  keyId: bigint;
  usable: boolean;
}

/** A send refused because another transaction from the same account took its nonce. */
function isNonceRace(e: unknown): boolean {
  const m = e instanceof Error ? `${e.message} ${String((e as { details?: unknown }).details ?? "")}` : "";
  return /nonce too low|nonce has already been used|replacement transaction underpriced|already known/i.test(
    m,
  );
}

/**
 * Typed access to one PersistentTicketBroker for one payee.
 * @example const b = new PayeeBroker({ publicClient, broker, privateKey }); await b.claimableReserve(payer)
 */
export class PayeeBroker {
  readonly address: Address;
  readonly payee: Address;
  private readonly client: PublicClient<Transport, Chain>;
  private readonly wallet: WalletClient<Transport, Chain, Account>;
  private registry: Address | undefined;
  private rounds: Address | undefined;

  private readonly payeeKey: Hex;
  private readonly rpcUrl: string;

  constructor(o: {
    publicClient: PublicClient<Transport, Chain>;
    broker: Address;
    /** The payee's key (its address is the payee). */
    privateKey: Hex;
    /**
     * A separate key that sends the claims (registered with `setRedeemer`, see `ensureRedeemer`), so
     * claims never share a nonce sequence with the orchestrator's ticket redemptions. Default: the
     * payee's own key.
     */
    claimKey?: Hex | undefined;
    rpcUrl: string;
  }) {
    this.client = o.publicClient;
    this.address = o.broker;
    this.payeeKey = o.privateKey;
    this.rpcUrl = o.rpcUrl;
    this.payee = privateKeyToAccount(o.privateKey).address;
    const account = privateKeyToAccount(o.claimKey ?? o.privateKey);
    this.wallet = createWalletClient({
      account,
      chain: o.publicClient.chain,
      transport: http(o.rpcUrl, { retryCount: 0 }),
    });
  }

  private read<T>(functionName: string, args: readonly unknown[]): Promise<T> {
    return this.client.readContract({
      address: this.address,
      abi: PersistentTicketBrokerAbi,
      functionName,
      args,
    } as never) as Promise<T>;
  }

  /** `getPayerInfo(payer)`. @example const { epoch } = await b.payerInfo(payer) */
  async payerInfo(payer: Hex): Promise<PayerInfo> {
    const [deposit, reserve, withdrawRound, epoch] = await this.read<
      readonly [bigint, bigint, bigint, bigint]
    >("getPayerInfo", [payer]);
    return { deposit, reserve, withdrawRound, epoch: BigInt(epoch) };
  }

  /** A*: this payee's claimable reserve allocation from the payer. @example await b.claimableReserve(payer) */
  claimableReserve(payer: Hex): Promise<bigint> {
    return this.read<bigint>("claimableReserve", [payer, this.payee]);
  }

  /** Pool size used by the reserve division: max(poolSize, poolMaxSize) is the contract's; we read it via A*. */
  async isActive(): Promise<boolean> {
    this.registry ??= await this.read<Address>("orchestratorRegistry", []);
    return this.client.readContract({
      address: this.registry,
      abi: REGISTRY_ABI,
      functionName: "isActiveTranscoder",
      args: [this.payee],
    });
  }

  async currentRound(): Promise<bigint> {
    this.rounds ??= await this.read<Address>("roundsManager", []);
    return this.client.readContract({ address: this.rounds, abi: ROUNDS_ABI, functionName: "currentRound" });
  }

  private roundLen: bigint | undefined;
  /** Blocks per round (immutable on the RoundsManager). @example await b.roundLength() */
  async roundLength(): Promise<bigint> {
    this.rounds ??= await this.read<Address>("roundsManager", []);
    this.roundLen ??= await this.client.readContract({
      address: this.rounds,
      abi: ROUNDS_ABI,
      functionName: "roundLength",
    });
    return this.roundLen;
  }

  /** The latest block number. @example await b.blockNumber() */
  blockNumber(): Promise<bigint> {
    return this.client.getBlockNumber({ cacheTime: 0 });
  }

  /** The broker's claimed amount of a ticket. @example await b.claimed(payer, 0n, 3n) */
  claimed(payer: Hex, epoch: bigint, ticketId: bigint): Promise<bigint> {
    return this.read<bigint>("claimed", [payer, this.payee, epoch, ticketId]);
  }

  /** A payer's delegation of `key` (keyId 0 = none). @example await b.delegation(payer, key) */
  async delegation(payer: Hex, key: Hex): Promise<DelegationView> {
    const d = await this.read<{
      payee: Address;
      cap: bigint;
      claimed: bigint;
      validUntilRound: bigint | number;
      epoch: bigint | number;
      revokeRound: bigint | number;
      keyId: bigint | number;
      usable: boolean;
    }>("getDelegation", [payer, key]);
    return {
      payee: d.payee.toLowerCase() as Hex,
      cap: BigInt(d.cap),
      claimed: BigInt(d.claimed),
      validUntilRound: BigInt(d.validUntilRound),
      epoch: BigInt(d.epoch),
      revokeRound: BigInt(d.revokeRound),
      keyId: BigInt(d.keyId),
      usable: d.usable,
    };
  }

  /** A key's usable delegation for this payee (the payer's session key). */
  async isDelegatedKey(payer: Hex, key: Hex): Promise<boolean> {
    const d = await this.delegation(payer, key);
    const zero = "0x0000000000000000000000000000000000000000";
    return d.usable && (d.payee === zero || d.payee === this.payee.toLowerCase());
  }

  /** The address that sends claims (the payee, or its redeemer). */
  get claimer(): Address {
    return this.wallet.account.address;
  }

  /**
   * With a separate claim key: registers it as the payee's redeemer unless it already is (one
   * transaction from the payee's key, at start-up). Returns true when it sent one.
   * @example await broker.ensureRedeemer()
   */
  async ensureRedeemer(): Promise<boolean> {
    if (this.claimer.toLowerCase() === this.payee.toLowerCase()) return false;
    const current = await this.read<Address>("redeemerOf", [this.payee]);
    if (current.toLowerCase() === this.claimer.toLowerCase()) return false;
    const wallet = createWalletClient({
      account: privateKeyToAccount(this.payeeKey),
      chain: this.client.chain,
      transport: http(this.rpcUrl, { retryCount: 0 }),
    });
    const hash = await wallet.writeContract({
      address: this.address,
      abi: PersistentTicketBrokerAbi,
      functionName: "setRedeemer",
      args: [this.claimer],
    } as never);
    const r = await this.client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    if (r.status !== "success") throw new Error(`setRedeemer reverted in ${hash}`);
    return true;
  }

  /** Estimated gas of a batch (for the "gas ≤ 1 % of value" trigger). */
  async estimateClaimGas(groups: { payer: Hex; epoch: bigint; vouchers: ClaimEntry[] }[]): Promise<bigint> {
    return this.client.estimateContractGas({
      address: this.address,
      abi: PersistentTicketBrokerAbi,
      functionName: "claimBatch",
      args: [this.payee, groups],
      account: this.wallet.account,
    } as never);
  }

  async gasPrice(): Promise<bigint> {
    return this.client.getGasPrice();
  }

  /**
   * Sends one `claimBatch` and returns the per-entry outcome from its events.
   * @example const { outcomes, gasUsed } = await b.claimBatch([{ payer, epoch, vouchers }])
   */
  async claimBatch(
    groups: { payer: Hex; epoch: bigint; vouchers: ClaimEntry[] }[],
  ): Promise<{ hash: Hex; gasUsed: bigint; outcomes: ClaimOutcome[] }> {
    const gas = await this.estimateClaimGas(groups);
    let hash: Hex | undefined;
    // Sharing the payee's key with the ticket redeemer, two sends can pick the same nonce: the
    // loser is refused by the node before it is mined, so sending it again is safe.
    for (let attempt = 0; hash === undefined; attempt++) {
      try {
        hash = await this.wallet.writeContract({
          address: this.address,
          abi: PersistentTicketBrokerAbi,
          functionName: "claimBatch",
          args: [this.payee, groups],
          gas: gas + gas / 5n,
        } as never);
      } catch (e) {
        if (attempt >= 3 || !isNonceRace(e)) throw e;
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    }
    const receipt = await this.client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    if (receipt.status !== "success") throw new Error(`claimBatch reverted in ${hash}`);
    const logs = parseEventLogs({ abi: PersistentTicketBrokerAbi, logs: receipt.logs }) as unknown as {
      eventName: string;
      args: Record<string, unknown>;
    }[];
    const outcomes: ClaimOutcome[] = [];
    for (const l of logs) {
      const a = l.args;
      if (l.eventName === "VoucherClaimed") {
        outcomes.push({
          payer: (a.payer as string).toLowerCase() as Hex,
          ticketId: a.ticketId as bigint,
          epoch: BigInt(a.epoch as bigint),
          requested: a.requested as bigint,
          paid: a.paid as bigint,
          shortfall: a.shortfall as bigint,
        });
      } else if (l.eventName === "VoucherClaimFailed") {
        outcomes.push({
          payer: (a.payer as string).toLowerCase() as Hex,
          ticketId: a.ticketId as bigint,
          epoch: BigInt(a.epoch as bigint),
          requested: 0n,
          paid: 0n,
          shortfall: 0n,
          failedReason: Number(a.reason),
        });
      }
    }
    return { hash, gasUsed: receipt.gasUsed, outcomes };
  }
}
