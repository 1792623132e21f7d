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
] as const;

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

  constructor(o: {
    publicClient: PublicClient<Transport, Chain>;
    broker: Address;
    privateKey: Hex;
    rpcUrl: string;
  }) {
    this.client = o.publicClient;
    this.address = o.broker;
    const account = privateKeyToAccount(o.privateKey);
    this.payee = account.address;
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

  /** The broker's claimed amount of a ticket. @example await b.claimed(payer, 0n, 3n) */
  claimed(payer: Hex, epoch: bigint, ticketId: bigint): Promise<bigint> {
    return this.read<bigint>("claimed", [payer, this.payee, epoch, ticketId]);
  }

  /** A key's usable delegation for this payee (the payer's session key). */
  async isDelegatedKey(payer: Hex, key: Hex): Promise<boolean> {
    const d = await this.read<{ payee: Address; usable: boolean }>("getDelegation", [payer, key]);
    const zero = "0x0000000000000000000000000000000000000000";
    return d.usable && (d.payee.toLowerCase() === zero || d.payee.toLowerCase() === this.payee.toLowerCase());
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
    const hash = await this.wallet.writeContract({
      address: this.address,
      abi: PersistentTicketBrokerAbi,
      functionName: "claimBatch",
      args: [this.payee, groups],
      gas: gas + gas / 5n,
    } as never);
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
