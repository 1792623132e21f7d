// Shared test fixture: one anvil per test file, livepay deployed, clients for every dev account,
// and helpers for rounds, tickets and revert checks.
import { auxData, signTicket, type Ticket } from "@livepay/protocol";
import {
  BaseError,
  ContractFunctionRevertedError,
  bytesToHex,
  createTestClient,
  createWalletClient,
  decodeErrorResult,
  encodeDeployData,
  encodeAbiParameters,
  http,
  keccak256,
  parseEventLogs,
  type Abi,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type TestClient,
  type TransactionReceipt,
  type Transport,
} from "viem";
import { expect } from "vitest";
import {
  OrchestratorRegistryAbi,
  RoundsManagerAbi,
  TicketBrokerAbi,
  deployLivepay,
  localClients,
  startAnvil,
  type Anvil,
  type DeployParams,
  type DevAccount,
  type LivepayAddresses,
  type LivepayWalletClient,
} from "../src/index.js";

export const MAX_UINT256 = 2n ** 256n - 1n;
export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000" as const;
export const ZERO_HASH = `0x${"00".repeat(32)}` as Hex;

export interface Fixture {
  anvil: Anvil;
  addrs: LivepayAddresses;
  accounts: DevAccount[];
  publicClient: PublicClient<Transport, Chain>;
  wallets: LivepayWalletClient[];
  test: TestClient<"anvil", Transport, Chain>;
  roundLength: bigint;
  stop(): Promise<void>;
}

/**
 * Starts anvil, deploys livepay (deployer = account 0) and opens clients for every account.
 * @example const fx = await setup({ roundLength: 20n });
 */
export async function setup(params: DeployParams & { accounts?: number } = {}): Promise<Fixture> {
  const anvil = await startAnvil({ accounts: params.accounts ?? 10, hardfork: "prague" });
  try {
    const wallets: LivepayWalletClient[] = [];
    let publicClient: PublicClient<Transport, Chain> | undefined;
    let chain: Chain | undefined;
    for (const a of anvil.accounts) {
      const c = await localClients(anvil.rpcUrl, a.privateKey, anvil.chainId);
      wallets.push(c.walletClient);
      publicClient ??= c.publicClient;
      chain ??= c.chain;
    }
    const roundLength = params.roundLength ?? 20n;
    const addrs = await deployLivepay(
      { walletClient: wallets[0]!, publicClient: publicClient! },
      { ...params, roundLength },
    );
    const test = createTestClient({
      mode: "anvil",
      chain: chain!,
      transport: http(anvil.rpcUrl, { retryCount: 0 }),
    });
    return {
      anvil,
      addrs,
      accounts: anvil.accounts,
      publicClient: publicClient!,
      wallets,
      test,
      roundLength,
      stop: anvil.stop,
    };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}

export interface Call {
  address: Address;
  abi: Abi;
  functionName: string;
  args?: readonly unknown[];
  value?: bigint;
}

/** The revert reason of a failed viem call, or undefined. */
export function revertReason(err: unknown): string | undefined {
  if (err instanceof BaseError) {
    const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError)
      return revert.reason ?? revert.signature ?? revert.shortMessage;
  }
  return undefined;
}

/**
 * Sends a transaction from account `from` (explicit gas: no estimate round trip) and returns its
 * receipt; throws with the revert reason if it reverted.
 */
export async function send(
  fx: Fixture,
  from: number,
  call: Call,
  gas = 3_000_000n,
): Promise<TransactionReceipt> {
  const wallet = fx.wallets[from]!;
  const hash = await wallet.writeContract({
    address: call.address,
    abi: call.abi,
    functionName: call.functionName,
    args: call.args ?? [],
    value: call.value,
    gas,
  } as never);
  const receipt = await fx.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") {
    let reason: string | undefined;
    try {
      await simulate(fx, from, call);
    } catch (err) {
      reason = revertReason(err) ?? String(err);
    }
    throw new Error(`${call.functionName} reverted: ${reason ?? "(no reason; passes when re-simulated)"}`);
  }
  return receipt;
}

/** eth_call of a state-changing function from account `from`. */
export async function simulate(fx: Fixture, from: number, call: Call): Promise<unknown> {
  const { result } = await fx.publicClient.simulateContract({
    account: fx.wallets[from]!.account,
    address: call.address,
    abi: call.abi,
    functionName: call.functionName,
    args: call.args ?? [],
    value: call.value,
  } as never);
  return result;
}

/**
 * Asserts that the call reverts with exactly `reason`, checked twice: by eth_call and by a mined
 * transaction whose receipt must say "reverted" and whose state changes must not exist.
 */
export async function expectRevert(fx: Fixture, from: number, call: Call, reason: string): Promise<void> {
  let caught: unknown;
  try {
    await simulate(fx, from, call);
  } catch (err) {
    caught = err;
  }
  expect(caught, `${call.functionName} should revert with "${reason}"`).toBeDefined();
  expect(revertReason(caught)).toBe(reason);
  const hash = await fx.wallets[from]!.writeContract({
    address: call.address,
    abi: call.abi,
    functionName: call.functionName,
    args: call.args ?? [],
    value: call.value,
    gas: 3_000_000n,
  } as never);
  const receipt = await fx.publicClient.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe("reverted");
}

export async function read<T>(
  fx: Fixture,
  address: Address,
  abi: Abi,
  functionName: string,
  args: readonly unknown[] = [],
): Promise<T> {
  return (await fx.publicClient.readContract({ address, abi, functionName, args } as never)) as T;
}

// ------------------------------------------------------------------ rounds

export async function blockNumber(fx: Fixture): Promise<bigint> {
  return fx.publicClient.getBlockNumber({ cacheTime: 0 });
}

/** Mines blocks so that the NEXT transaction is the first of the next round; returns that round. */
export async function mineToNextRound(fx: Fixture): Promise<bigint> {
  const latest = await blockNumber(fx);
  const nextRound = latest / fx.roundLength + 1n;
  const start = nextRound * fx.roundLength;
  const toMine = start - 1n - latest;
  if (toMine > 0n) await fx.test.mine({ blocks: Number(toMine) });
  return nextRound;
}

/** Moves to the next round and initializes it (the initializeRound tx is the round's first block). */
export async function nextRound(fx: Fixture, from = 0): Promise<bigint> {
  const round = await mineToNextRound(fx);
  await send(fx, from, {
    address: fx.addrs.roundsManager,
    abi: RoundsManagerAbi,
    functionName: "initializeRound",
  });
  return round;
}

/** Advances `n` rounds, initializing each. */
export async function advanceRounds(fx: Fixture, n: number): Promise<bigint> {
  let r = 0n;
  for (let i = 0; i < n; i++) r = await nextRound(fx);
  return r;
}

export async function currentRound(fx: Fixture): Promise<bigint> {
  return read<bigint>(fx, fx.addrs.roundsManager, RoundsManagerAbi, "currentRound");
}

export async function blockHashForRound(fx: Fixture, round: bigint): Promise<Hex> {
  return read<Hex>(fx, fx.addrs.roundsManager, RoundsManagerAbi, "blockHashForRound", [round]);
}

// ------------------------------------------------------------------ tickets

export interface ContractTicket {
  recipient: Address;
  sender: Address;
  faceValue: bigint;
  winProb: bigint;
  senderNonce: bigint;
  recipientRandHash: Hex;
  auxData: Hex;
}

/** keccak256(u256(rand)): the recipientRandHash a recipient publishes. */
export function randHash(rand: bigint): Hex {
  return keccak256(encodeAbiParameters([{ type: "uint256" }], [rand]));
}

/** The Solidity struct form of a protocol ticket. */
export function toContractTicket(t: Ticket): ContractTicket {
  return {
    recipient: t.recipient as Address,
    sender: t.sender as Address,
    faceValue: t.faceValue,
    winProb: t.winProb,
    senderNonce: t.senderNonce,
    recipientRandHash: t.recipientRandHash,
    auxData: bytesToHex(auxData(t.creationRound, t.creationRoundBlockHash)),
  };
}

export interface SignedTicket {
  ticket: Ticket;
  struct: ContractTicket;
  sig: Hex;
  rand: bigint;
}

let nonceCounter = 0n;

/**
 * A ticket from `sender` to `recipient` created in the current round (always winning unless
 * `winProb` says otherwise), signed by the sender's dev key.
 */
export async function makeTicket(
  fx: Fixture,
  senderIdx: number,
  recipient: Address,
  over: Partial<Ticket> & { rand?: bigint; signerKey?: Hex } = {},
): Promise<SignedTicket> {
  const rand = over.rand ?? BigInt(keccak256(`0x${(++nonceCounter).toString(16).padStart(64, "0")}`));
  const round = over.creationRound ?? (await currentRound(fx));
  const ticket: Ticket = {
    recipient: (over.recipient ?? recipient).toLowerCase() as Hex,
    sender: (over.sender ?? fx.accounts[senderIdx]!.address).toLowerCase() as Hex,
    faceValue: over.faceValue ?? 10n ** 15n,
    winProb: over.winProb ?? MAX_UINT256,
    senderNonce: over.senderNonce ?? ++nonceCounter,
    recipientRandHash: over.recipientRandHash ?? randHash(rand),
    creationRound: round,
    creationRoundBlockHash: over.creationRoundBlockHash ?? (await blockHashForRound(fx, round)),
  };
  const sig = signTicket(ticket, over.signerKey ?? fx.accounts[senderIdx]!.privateKey);
  return { ticket, struct: toContractTicket(ticket), sig, rand };
}

export function redeemCall(fx: Fixture, t: { struct: ContractTicket; sig: Hex; rand: bigint }): Call {
  return {
    address: fx.addrs.ticketBroker,
    abi: TicketBrokerAbi,
    functionName: "redeemWinningTicket",
    args: [t.struct, t.sig, t.rand],
  };
}

export function brokerCall(
  fx: Fixture,
  functionName: string,
  args: readonly unknown[] = [],
  value?: bigint,
): Call {
  return { address: fx.addrs.ticketBroker, abi: TicketBrokerAbi, functionName, args, value };
}

export function registryCall(
  fx: Fixture,
  functionName: string,
  args: readonly unknown[] = [],
  value?: bigint,
): Call {
  return { address: fx.addrs.orchestratorRegistry, abi: OrchestratorRegistryAbi, functionName, args, value };
}

export async function senderInfo(fx: Fixture, sender: Address) {
  const [s, r] = await read<
    [{ deposit: bigint; withdrawRound: bigint }, { fundsRemaining: bigint; claimedInCurrentRound: bigint }]
  >(fx, fx.addrs.ticketBroker, TicketBrokerAbi, "getSenderInfo", [sender]);
  return {
    deposit: s.deposit,
    withdrawRound: s.withdrawRound,
    reserve: r.fundsRemaining,
    claimedInCurrentRound: r.claimedInCurrentRound,
  };
}

export async function balanceOf(fx: Fixture, address: Address): Promise<bigint> {
  return fx.publicClient.getBalance({ address });
}

/** The decoded events of a receipt, in log order (only events of the given ABI). */
export function events(
  receipt: TransactionReceipt,
  abi: Abi = TicketBrokerAbi,
): { eventName: string; args: Record<string, unknown> }[] {
  return parseEventLogs({ abi, logs: receipt.logs }).map((l) => ({
    eventName: (l as unknown as { eventName: string }).eventName,
    args: (l as unknown as { args: Record<string, unknown> }).args,
  }));
}

/** Event names of a receipt, in order. */
export function eventNames(receipt: TransactionReceipt, abi: Abi = TicketBrokerAbi): string[] {
  return events(receipt, abi).map((e) => e.eventName);
}

/** Reverts the chain to a snapshot and takes a fresh one (anvil snapshots are single-use). */
export async function restore(fx: Fixture, id: Hex): Promise<Hex> {
  await fx.test.revert({ id });
  return fx.test.snapshot();
}

/** Splits a 65-byte signature. */
export function splitSig(sig: Hex): { r: bigint; s: bigint; v: number } {
  return {
    r: BigInt(sig.slice(0, 66)),
    s: BigInt(`0x${sig.slice(66, 130)}`),
    v: parseInt(sig.slice(130, 132), 16),
  };
}

/** Joins r, s, v into 65 bytes. */
export function joinSig(r: bigint, s: bigint, v: number): Hex {
  return `0x${r.toString(16).padStart(64, "0")}${s.toString(16).padStart(64, "0")}${v.toString(16).padStart(2, "0")}`;
}

/** A wallet client that sends as `address` through anvil impersonation (for contract accounts). */
export async function impersonate(
  fx: Fixture,
  address: Address,
  balance = 10n ** 20n,
): Promise<LivepayWalletClient> {
  await fx.test.impersonateAccount({ address });
  await fx.test.setBalance({ address, value: balance });
  return createWalletClient({
    account: address,
    chain: fx.publicClient.chain,
    transport: http(fx.anvil.rpcUrl, { retryCount: 0 }),
    pollingInterval: 20,
    cacheTime: 0,
  }) as unknown as LivepayWalletClient;
}

/** Runtime code that accepts ETH only with more than the 2,300 gas stipend (it writes storage). */
export const NEEDS_GAS_CODE = "0x60015f5500" as Hex;
/** Runtime code that refuses every call. */
export const REJECT_CODE = "0x5f5ffd" as Hex;

/** Deploy-time revert reason of a contract (eth_call of the creation code). */
export async function deployRevertReason(
  fx: Fixture,
  abi: Abi,
  bytecode: Hex,
  args: readonly unknown[],
): Promise<string | undefined> {
  const data = encodeDeployData({ abi, bytecode, args } as never);
  try {
    await fx.publicClient.call({ account: fx.accounts[0]!.address, data });
  } catch (err) {
    const withData = (err as BaseError).walk((e) => typeof (e as { data?: unknown }).data === "string") as {
      data?: Hex;
    } | null;
    if (withData?.data) {
      const decoded = decodeErrorResult({ abi: [], data: withData.data });
      return String(decoded.args?.[0]);
    }
    return String(err);
  }
  return undefined;
}
