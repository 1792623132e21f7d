// Test support for PersistentTicketBroker: a real anvil with RoundsManager, OrchestratorRegistry and
// the broker deployed, plus helpers to sign vouchers, move rounds and read events.
import {
  parseEventLogs,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type ContractFunctionReturnType,
  type Hex,
  type TransactionReceipt,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startAnvil, type Anvil, type DevAccount } from "../../src/anvil.js";
import { OrchestratorRegistryAbi } from "../../src/generated/OrchestratorRegistry.js";
import { PersistentTicketBrokerAbi } from "../../src/generated/PersistentTicketBroker.js";
import { RoundsManagerAbi } from "../../src/generated/RoundsManager.js";
import {
  deployPersistent,
  mineBlocks,
  persistentDomain,
  sendFrom,
  signPersistentVoucher,
  type DeployPersistentOptions,
  type PersistentDomain,
  type PersistentEnv,
} from "../../src/persistentGas.js";

export const abi = PersistentTicketBrokerAbi;
type Abi = typeof abi;
type WriteName = ContractFunctionName<Abi, "nonpayable" | "payable">;
type ReadName = ContractFunctionName<Abi, "view" | "pure">;

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000" as Address;
export const ZERO32 = `0x${"0".repeat(64)}` as Hex;
export const ETHER = 10n ** 18n;
export const MAX_UINT64 = 2n ** 64n - 1n;

/** The calldata struct of one voucher claim, as the contract's ABI takes it. */
export interface VoucherClaim {
  ticketId: bigint;
  cumulativeAmount: bigint;
  newClaimed: bigint;
  context: Hex;
  r: Hex;
  vs: Hex;
  receiptsRoot: Hex;
}

export interface VoucherInput {
  payer: Address;
  payee: Address;
  ticketId: bigint;
  epoch?: bigint;
  cumulativeAmount: bigint;
  context?: Hex;
  /** Claim up to this (default: cumulativeAmount). */
  newClaimed?: bigint;
  receiptsRoot?: Hex;
  /** Sign for another domain (cross-chain / cross-broker tests). */
  domain?: PersistentDomain;
}

export const bytes32 = (n: bigint | number) => `0x${BigInt(n).toString(16).padStart(64, "0")}` as Hex;

export class Harness {
  private constructor(
    readonly anvil: Anvil,
    readonly env: PersistentEnv,
    readonly domain: PersistentDomain,
    readonly roundLength: bigint,
  ) {}

  /** Starts anvil and deploys the three contracts. */
  static async start(opts: DeployPersistentOptions & { accounts?: number } = {}): Promise<Harness> {
    const anvil = await startAnvil({ accounts: opts.accounts ?? 12 });
    try {
      const env = await deployPersistent(anvil.rpcUrl, anvil.accounts[0]!.address, opts);
      return new Harness(anvil, env, persistentDomain(env.chainId, env.broker), opts.roundLength ?? 20n);
    } catch (err) {
      await anvil.stop();
      throw err;
    }
  }

  get broker(): Address {
    return this.env.broker;
  }

  get accounts(): DevAccount[] {
    return this.anvil.accounts;
  }

  stop(): Promise<void> {
    return this.anvil.stop();
  }

  /** A broker view. */
  read<const fn extends ReadName>(
    functionName: fn,
    args: ContractFunctionArgs<Abi, "view" | "pure", fn>,
  ): Promise<ContractFunctionReturnType<Abi, "view" | "pure", fn>> {
    return this.env.publicClient.readContract({
      address: this.broker,
      abi,
      functionName,
      args,
    } as never) as never;
  }

  /** A broker transaction from a node-held dev account; throws "reverted: <reason>". */
  send<const fn extends WriteName>(
    from: Address,
    functionName: fn,
    args: ContractFunctionArgs<Abi, "nonpayable" | "payable", fn>,
    value = 0n,
  ): Promise<TransactionReceipt> {
    return sendFrom(this.env, from, this.broker, abi, functionName, args, value);
  }

  /** Registers `who` as an orchestrator with `stake` (it joins the active set if it ranks). */
  registerOrchestrator(who: Address, stake = ETHER): Promise<TransactionReceipt> {
    return sendFrom(
      this.env,
      who,
      this.env.orchestratorRegistry,
      OrchestratorRegistryAbi,
      "register",
      ["http://o"],
      stake,
    );
  }

  deactivateOrchestrator(who: Address): Promise<TransactionReceipt> {
    return sendFrom(this.env, who, this.env.orchestratorRegistry, OrchestratorRegistryAbi, "deactivate", []);
  }

  reactivateOrchestrator(who: Address): Promise<TransactionReceipt> {
    return sendFrom(this.env, who, this.env.orchestratorRegistry, OrchestratorRegistryAbi, "reactivate", []);
  }

  isActive(who: Address): Promise<boolean> {
    return this.env.publicClient.readContract({
      address: this.env.orchestratorRegistry,
      abi: OrchestratorRegistryAbi,
      functionName: "isActiveTranscoder",
      args: [who],
    });
  }

  async poolDivisor(): Promise<bigint> {
    const read = (functionName: "getTranscoderPoolSize" | "getTranscoderPoolMaxSize") =>
      this.env.publicClient.readContract({
        address: this.env.orchestratorRegistry,
        abi: OrchestratorRegistryAbi,
        functionName,
      });
    const [size, max] = await Promise.all([read("getTranscoderPoolSize"), read("getTranscoderPoolMaxSize")]);
    return size > max ? size : max;
  }

  /** The round the next transaction lands in (anvil automines one block per transaction). */
  async nextTxRound(): Promise<bigint> {
    const block = await this.env.publicClient.getBlockNumber({ cacheTime: 0 });
    return (block + 1n) / this.roundLength;
  }

  /** The round as of the latest block (what views see). */
  async round(): Promise<bigint> {
    return this.env.publicClient.readContract({
      address: this.env.roundsManager,
      abi: RoundsManagerAbi,
      functionName: "currentRound",
    });
  }

  /**
   * Mines blocks so that the latest block (what views see) and the next transaction are both in
   * round `target`, with at least `room` blocks of that round left for more transactions.
   */
  async gotoRound(target: bigint, room = 8n): Promise<void> {
    const block = await this.env.publicClient.getBlockNumber({ cacheTime: 0 });
    const start = target * this.roundLength;
    if (block + 1n > start + this.roundLength - 1n - room)
      throw new Error(`round ${target} is (nearly) over`);
    if (block < start) await mineBlocks(this.env, start - block);
  }

  /** Moves to the start of round current + n. */
  async advanceRounds(n: bigint): Promise<bigint> {
    const target = (await this.nextTxRound()) + n;
    await this.gotoRound(target);
    return target;
  }

  /** Makes sure a few transactions fit in the current round (moves to the next round if not). */
  async roomInRound(room = 8n): Promise<bigint> {
    const block = await this.env.publicClient.getBlockNumber({ cacheTime: 0 });
    const next = block + 1n;
    const r = next / this.roundLength;
    if (next > r * this.roundLength + this.roundLength - 1n - room) {
      await this.gotoRound(r + 1n, room);
      return r + 1n;
    }
    return r;
  }

  balance(who: Address): Promise<bigint> {
    return this.env.publicClient.getBalance({ address: who });
  }

  async snapshot(): Promise<Hex> {
    return (await this.env.publicClient.request({ method: "evm_snapshot" } as never)) as Hex;
  }

  async revertTo(id: Hex): Promise<void> {
    const ok = await this.env.publicClient.request({ method: "evm_revert", params: [id] } as never);
    if (!ok) throw new Error(`evm_revert ${id} failed`);
  }

  /** Signs a voucher with `signerKey` and returns the claim struct. */
  async voucher(signerKey: Hex, v: VoucherInput): Promise<VoucherClaim> {
    const context = v.context ?? bytes32(0xc0n + v.ticketId);
    const { r, vs } = await signPersistentVoucher(signerKey, v.domain ?? this.domain, {
      payer: v.payer,
      payee: v.payee,
      ticketId: v.ticketId,
      epoch: v.epoch ?? 0n,
      cumulativeAmount: v.cumulativeAmount,
      context,
    });
    return {
      ticketId: v.ticketId,
      cumulativeAmount: v.cumulativeAmount,
      newClaimed: v.newClaimed ?? v.cumulativeAmount,
      context,
      r,
      vs,
      receiptsRoot: v.receiptsRoot ?? bytes32(0xeeeen + v.ticketId),
    };
  }

  /** Decoded broker events of a receipt. */
  events(receipt: TransactionReceipt) {
    return parseEventLogs({
      abi,
      logs: receipt.logs.filter((l) => l.address.toLowerCase() === this.broker.toLowerCase()),
    });
  }
}

/** A fresh key with no ETH (session keys sign, never send). */
export function keyFromSeed(seed: number): { key: Hex; address: Address } {
  const key = bytes32(BigInt(seed) * 0x1000193n + 0xabcdefn);
  return { key, address: privateKeyToAccount(key).address };
}

/** ETH paid to `who` by a transaction it did not send (gas is then not deducted from it). */
export async function paidTo(h: Harness, who: Address, tx: () => Promise<TransactionReceipt>) {
  const before = await h.balance(who);
  const receipt = await tx();
  return { receipt, delta: (await h.balance(who)) - before };
}

/** Net ETH change of `who` for a transaction it sent, gas added back. */
export async function netOf(h: Harness, who: Address, tx: () => Promise<TransactionReceipt>) {
  const before = await h.balance(who);
  const receipt = await tx();
  const gas = receipt.gasUsed * receipt.effectiveGasPrice;
  return { receipt, delta: (await h.balance(who)) + gas - before };
}
