// Gas of PersistentTicketBroker's main paths, measured on a fresh anvil: voucher claims alone and in
// batches of 10 (first claim on new tickets reported apart from steady state), fund, unlock, withdraw.
// Also the typed data and a lean deploy/send toolkit the persistent tests reuse.
import {
  createPublicClient,
  decodeAbiParameters,
  encodeFunctionData,
  getAddress,
  http,
  parseSignature,
  type Abi,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startAnvil } from "./anvil.js";
import { OrchestratorRegistryBytecode } from "./generated/OrchestratorRegistry.js";
import {
  PersistentTicketBrokerAbi,
  PersistentTicketBrokerBytecode,
} from "./generated/PersistentTicketBroker.js";
import { RoundsManagerBytecode } from "./generated/RoundsManager.js";

/** EIP-712 domain name and version of PersistentTicketBroker. */
export const PERSISTENT_DOMAIN_NAME = "livepay PersistentTicketBroker";
export const PERSISTENT_DOMAIN_VERSION = "1";

/** EIP-712 types of a payer-signed voucher (exact widths; the contract hashes the same string). */
export const PERSISTENT_VOUCHER_TYPES = {
  Voucher: [
    { name: "payer", type: "address" },
    { name: "payee", type: "address" },
    { name: "ticketId", type: "uint256" },
    { name: "epoch", type: "uint64" },
    { name: "cumulativeAmount", type: "uint128" },
    { name: "context", type: "bytes32" },
  ],
} as const;

/** EIP-712 types of a session-key delegation. */
export const PERSISTENT_DELEGATION_TYPES = {
  Delegation: [
    { name: "payer", type: "address" },
    { name: "key", type: "address" },
    { name: "payee", type: "address" },
    { name: "cap", type: "uint128" },
    { name: "validUntilRound", type: "uint64" },
    { name: "epoch", type: "uint64" },
  ],
} as const;

export interface PersistentDomain {
  name: string;
  version: string;
  chainId: number;
  verifyingContract: Address;
}

/**
 * The EIP-712 domain of one PersistentTicketBroker deployment.
 * @example persistentDomain(31337, broker) // { name: "livepay PersistentTicketBroker", version: "1", ... }
 */
export function persistentDomain(chainId: number, verifyingContract: Address): PersistentDomain {
  return { name: PERSISTENT_DOMAIN_NAME, version: PERSISTENT_DOMAIN_VERSION, chainId, verifyingContract };
}

export interface PersistentVoucher {
  payer: Address;
  payee: Address;
  ticketId: bigint;
  epoch: bigint;
  cumulativeAmount: bigint;
  context: Hex;
}

/** An EIP-2098 compact signature: `vs = yParity << 255 | s`. */
export interface CompactSignature {
  r: Hex;
  vs: Hex;
}

/**
 * Signs a voucher with a private key and returns the compact (r, vs) form the contract takes.
 * @example const { r, vs } = await signPersistentVoucher(key, persistentDomain(31337, broker), voucher);
 */
export async function signPersistentVoucher(
  privateKey: Hex,
  domain: PersistentDomain,
  voucher: PersistentVoucher,
): Promise<CompactSignature> {
  const signature = await privateKeyToAccount(privateKey).signTypedData({
    domain,
    types: PERSISTENT_VOUCHER_TYPES,
    primaryType: "Voucher",
    message: voucher,
  });
  return toCompactSignature(signature);
}

/**
 * Converts a 65-byte signature to EIP-2098 compact form.
 * @example toCompactSignature("0x…1b") // { r: "0x…", vs: "0x…" }
 */
export function toCompactSignature(signature: Hex): CompactSignature {
  const { r, s, yParity } = parseSignature(signature);
  const vs = BigInt(s) | (BigInt(yParity ?? 0) << 255n);
  return { r, vs: `0x${vs.toString(16).padStart(64, "0")}` };
}

// ---------------------------------------------------------------------------------------- chain

/** A chain where PersistentTicketBroker and its two read-only dependencies are deployed. */
export interface PersistentEnv {
  rpcUrl: string;
  chainId: number;
  publicClient: PublicClient;
  deployer: Address;
  roundsManager: Address;
  orchestratorRegistry: Address;
  broker: Address;
}

export interface DeployPersistentOptions {
  /** Blocks per round (default 20). */
  roundLength?: bigint;
  /** Active-set size of the registry (default 10). */
  poolMaxSize?: bigint;
  /** Unlock period in rounds (default 2). */
  unlockPeriod?: bigint;
}

/**
 * Sends a transaction from an account the node holds (anvil's unlocked dev accounts) and returns
 * its receipt; throws the node's error (with the revert reason) if it would revert.
 * @example await sendFrom(env, payer, env.broker, PersistentTicketBrokerAbi, "fundDeposit", [], 10n);
 */
export async function sendFrom<
  const abi extends Abi,
  functionName extends ContractFunctionName<abi, "nonpayable" | "payable">,
>(
  env: { publicClient: PublicClient },
  from: Address,
  to: Address,
  abi: abi,
  functionName: functionName,
  args: ContractFunctionArgs<abi, "nonpayable" | "payable", functionName>,
  value = 0n,
): Promise<TransactionReceipt> {
  const data = encodeFunctionData({ abi, functionName, args } as never);
  return sendRaw(env, from, to, data, value);
}

/**
 * Sends raw calldata from a node-held account; resolves with the receipt (automine).
 * @example await sendRaw(env, payer, env.broker, "0x", 1n)
 */
export async function sendRaw(
  env: { publicClient: PublicClient },
  from: Address,
  to: Address | null,
  data: Hex,
  value = 0n,
): Promise<TransactionReceipt> {
  const tx: Record<string, string> = { from, data, value: `0x${value.toString(16)}` };
  if (to) tx.to = to;
  const hash = (await env.publicClient.request({
    method: "eth_sendTransaction",
    params: [tx],
  } as never)) as Hex;
  // anvil automines: the receipt exists when eth_sendTransaction returns (poll briefly otherwise).
  for (let i = 0; ; i++) {
    const receipt = await env.publicClient.getTransactionReceipt({ hash }).catch(() => undefined);
    if (receipt) {
      if (receipt.status !== "success") throw new Error(`reverted: ${await revertReason(env, hash)}`);
      return receipt;
    }
    if (i > 200) throw new Error(`no receipt for ${hash}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The revert reason of a mined, reverted transaction, from the node's call tracer. */
async function revertReason(env: { publicClient: PublicClient }, hash: Hex): Promise<string> {
  try {
    const trace = (await env.publicClient.request({
      method: "debug_traceTransaction",
      params: [hash, { tracer: "callTracer" }],
    } as never)) as { output?: Hex; revertReason?: string; error?: string };
    if (trace.revertReason) return trace.revertReason;
    if (trace.output && trace.output.startsWith("0x08c379a0")) {
      return decodeAbiParameters([{ type: "string" }], `0x${trace.output.slice(10)}`)[0];
    }
    return trace.error ?? "unknown reason";
  } catch (err) {
    return `unknown reason (${String(err)})`;
  }
}

async function deployFrom(env: { publicClient: PublicClient }, from: Address, bytecode: Hex, ctorArgs: Hex) {
  const receipt = await sendRaw(env, from, null, `${bytecode}${ctorArgs.slice(2)}` as Hex);
  if (!receipt.contractAddress) throw new Error("deployment has no contract address");
  return getAddress(receipt.contractAddress);
}

const uintArg = (v: bigint) => v.toString(16).padStart(64, "0");
const addrArg = (a: Address) => a.slice(2).toLowerCase().padStart(64, "0");

/**
 * Deploys RoundsManager, OrchestratorRegistry and PersistentTicketBroker from `deployer`.
 * @example const env = await deployPersistent(anvil.rpcUrl, anvil.accounts[0].address);
 */
export async function deployPersistent(
  rpcUrl: string,
  deployer: Address,
  opts: DeployPersistentOptions = {},
): Promise<PersistentEnv> {
  const publicClient = createPublicClient({ transport: http(rpcUrl, { retryCount: 0 }), cacheTime: 0 });
  const env = { publicClient };
  const chainId = await publicClient.getChainId();
  const roundsManager = await deployFrom(
    env,
    deployer,
    RoundsManagerBytecode,
    `0x${uintArg(opts.roundLength ?? 20n)}`,
  );
  const orchestratorRegistry = await deployFrom(
    env,
    deployer,
    OrchestratorRegistryBytecode,
    `0x${uintArg(opts.poolMaxSize ?? 10n)}`,
  );
  const broker = await deployFrom(
    env,
    deployer,
    PersistentTicketBrokerBytecode,
    `0x${addrArg(roundsManager)}${addrArg(orchestratorRegistry)}${uintArg(opts.unlockPeriod ?? 2n)}`,
  );
  return { rpcUrl, chainId, publicClient, deployer, roundsManager, orchestratorRegistry, broker };
}

/**
 * Mines `blocks` empty blocks (anvil_mine).
 * @example await mineBlocks(env, 20n)
 */
export async function mineBlocks(env: { publicClient: PublicClient }, blocks: bigint): Promise<void> {
  await env.publicClient.request({ method: "anvil_mine", params: [`0x${blocks.toString(16)}`] } as never);
}

// ---------------------------------------------------------------------------------------- gas

/** One measured path: total transaction gas (21,000 base and calldata included). */
export interface PersistentGasRow {
  name: string;
  gas: number;
}

const word = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;

/**
 * Measures PersistentTicketBroker gas on a fresh anvil (started and stopped here). Rows:
 * fund, single voucher claims (new ticket, the pair's second ticket, steady state, delegated key,
 * via redeemer), batches of 10 (new tickets, steady state, 10 payers), unlock, withdraw.
 * @example for (const { name, gas } of await measurePersistentGas()) console.log(name, gas);
 */
export async function measurePersistentGas(): Promise<PersistentGasRow[]> {
  const anvil = await startAnvil({ accounts: 14 });
  try {
    const [deployer, payer, payee, redeemer, ...others] = anvil.accounts;
    const env = await deployPersistent(anvil.rpcUrl, deployer!.address);
    const abi = PersistentTicketBrokerAbi;
    const domain = persistentDomain(env.chainId, env.broker);
    const rows: PersistentGasRow[] = [];
    const row = (name: string, r: TransactionReceipt, per = 1) =>
      rows.push({ name, gas: Math.round(Number(r.gasUsed) / per) });
    const ether = 10n ** 18n;

    row(
      "fundDepositAndReserve (new payer)",
      await sendFrom(
        env,
        payer!.address,
        env.broker,
        abi,
        "fundDepositAndReserve",
        [100n * ether, ether],
        101n * ether,
      ),
    );
    row(
      "fundDeposit (top-up)",
      await sendFrom(env, payer!.address, env.broker, abi, "fundDeposit", [], ether),
    );

    const cumul = new Map<string, bigint>();
    const entry = async (signerKey: Hex, payerAddr: Address, ticketId: bigint, add: bigint) => {
      const k = `${payerAddr}:${ticketId}`;
      const cumulativeAmount = (cumul.get(k) ?? 0n) + add;
      cumul.set(k, cumulativeAmount);
      const context = word(0xc0ffee + Number(ticketId)) as Hex;
      const sig = await signPersistentVoucher(signerKey, domain, {
        payer: payerAddr,
        payee: payee!.address,
        ticketId,
        epoch: 0n,
        cumulativeAmount,
        context,
      });
      return {
        ticketId,
        cumulativeAmount,
        newClaimed: cumulativeAmount,
        context,
        ...sig,
        receiptsRoot: word(0xabcdef + Number(ticketId)),
      };
    };
    const claimOne = async (
      e: Awaited<ReturnType<typeof entry>>,
      from = payee!.address,
      payerAddr = payer!.address,
    ) => sendFrom(env, from, env.broker, abi, "claim", [payee!.address, payerAddr, 0n, e]);

    const gwei = 10n ** 9n;
    row(
      "claim: first claim on a new ticket (new slot)",
      await claimOne(await entry(payer!.privateKey, payer!.address, 0n, 1000n * gwei)),
    );
    row(
      "claim: first claim on the pair's second ticket",
      await claimOne(await entry(payer!.privateKey, payer!.address, 1n, 1000n * gwei)),
    );
    row(
      "claim: steady state (same ticket, higher cumulative)",
      await claimOne(await entry(payer!.privateKey, payer!.address, 0n, 1000n * gwei)),
    );
    row(
      "claim: steady state, submitted by the redeemer",
      await (async () => {
        await sendFrom(env, payee!.address, env.broker, abi, "setRedeemer", [redeemer!.address]);
        return claimOne(await entry(payer!.privateKey, payer!.address, 0n, 1000n * gwei), redeemer!.address);
      })(),
    );

    // A session key (no ETH needed: only the payer's registration is a transaction).
    const sessionKey = `0x${"5e".repeat(32)}` as Hex;
    const sessionAddr = privateKeyToAccount(sessionKey).address;
    row(
      "registerDelegation",
      await sendFrom(env, payer!.address, env.broker, abi, "registerDelegation", [
        sessionAddr,
        payee!.address,
        10n * ether,
        2n ** 64n - 1n,
      ]),
    );
    await claimOne(await entry(sessionKey, payer!.address, 2n, 1000n * gwei));
    row(
      "claim: steady state, delegated key",
      await claimOne(await entry(sessionKey, payer!.address, 2n, 1000n * gwei)),
    );

    const batch = async (ids: bigint[], payers: { address: Address; privateKey: Hex }[]) => {
      const groups = [];
      for (const p of payers) {
        const vouchers = [];
        for (const id of ids) vouchers.push(await entry(p.privateKey, p.address, id, 100n * gwei));
        groups.push({ payer: p.address, epoch: 0n, vouchers });
      }
      return sendFrom(env, payee!.address, env.broker, abi, "claimBatch", [payee!.address, groups]);
    };
    const ten = Array.from({ length: 10 }, (_, i) => BigInt(100 + i));
    row("claimBatch 10 new tickets, one payer (per voucher)", await batch(ten, [payer!]), 10);
    row("claimBatch 10 steady state, one payer (per voucher)", await batch(ten, [payer!]), 10);
    const payers = others.slice(0, 10);
    for (const p of payers) await sendFrom(env, p.address, env.broker, abi, "fundDeposit", [], ether);
    await batch([7n], payers);
    row("claimBatch 10 steady state, 10 payers (per voucher)", await batch([7n], payers), 10);
    row("claimBatch 1 steady state (whole tx)", await batch([100n], [payer!]));
    row("claimBatch 2 steady state, one payer (per voucher)", await batch([100n, 101n], [payer!]), 2);
    const sessionSigner = { address: payer!.address, privateKey: sessionKey };
    const tenMore = Array.from({ length: 10 }, (_, i) => BigInt(200 + i));
    await batch(tenMore, [sessionSigner]);
    row(
      "claimBatch 10 steady state, one payer, delegated key (per voucher)",
      await batch(tenMore, [sessionSigner]),
      10,
    );

    row("unlock", await sendFrom(env, payer!.address, env.broker, abi, "unlock", []));
    await mineBlocks(env, 60n);
    row("withdraw", await sendFrom(env, payer!.address, env.broker, abi, "withdraw", []));
    return rows;
  } finally {
    await anvil.stop();
  }
}
