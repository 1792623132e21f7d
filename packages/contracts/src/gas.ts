// Gas benchmark of the TicketBroker on a real anvil: measures total transaction gas (receipt
// gasUsed, so intrinsic and calldata gas included) of the calls a gateway and an orchestrator make.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  encodeAbiParameters,
  encodePacked,
  keccak256,
  type Address,
  type Hex,
  type PublicClient,
  type Chain,
  type Transport,
  type TransactionReceipt,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startAnvil } from "./anvil.js";
import { deployLivepay, initializeRoundIfNeeded, localClients, type LivepayWalletClient } from "./deploy.js";
import { RoundsManagerAbi, TicketBrokerAbi } from "./generated/index.js";

export interface GasRow {
  /** Stable key used in gas-snapshot.json. */
  name: string;
  /** Total transaction gas (receipt gasUsed), or gas per ticket for per-ticket rows. */
  gas: number;
  note: string;
}

export const GAS_SNAPSHOT_PATH = fileURLToPath(new URL("../gas-snapshot.json", import.meta.url));
/** A measurement may exceed its snapshot by at most this fraction. */
export const GAS_TOLERANCE = 0.02;

const MAX_UINT256 = 2n ** 256n - 1n;

interface Clients {
  publicClient: PublicClient<Transport, Chain>;
  walletClient: LivepayWalletClient;
}

async function mined(c: Clients, hash: Hex): Promise<TransactionReceipt> {
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`gas benchmark: transaction ${hash} reverted`);
  return receipt;
}

let randCounter = 0n;

/** A winning ticket (winProb = 2^256 - 1) signed off-chain, as go-livepeer's sender signs it. */
async function signedTicket(
  senderKey: Hex,
  recipient: Address,
  faceValue: bigint,
  creationRound: bigint,
  creationRoundBlockHash: Hex,
  senderNonce: bigint,
) {
  const sender = privateKeyToAccount(senderKey);
  // A full-width recipientRand, as an HMAC output is.
  const rand = BigInt(keccak256(encodeAbiParameters([{ type: "uint256" }], [++randCounter])));
  const ticket = {
    recipient,
    sender: sender.address,
    faceValue,
    winProb: MAX_UINT256,
    senderNonce,
    recipientRandHash: keccak256(encodeAbiParameters([{ type: "uint256" }], [rand])),
    auxData: encodePacked(["uint256", "bytes32"], [creationRound, creationRoundBlockHash]),
  };
  const hash = keccak256(
    encodePacked(
      ["address", "address", "uint256", "uint256", "uint256", "bytes32", "bytes"],
      [
        ticket.recipient,
        ticket.sender,
        ticket.faceValue,
        ticket.winProb,
        ticket.senderNonce,
        ticket.recipientRandHash,
        ticket.auxData,
      ],
    ),
  );
  const sig = await sender.signMessage({ message: { raw: hash } });
  return { ticket, sig, rand };
}

/**
 * Measures TicketBroker gas on a fresh anvil (prague rules): winning-ticket redemption (a payee's
 * first, steady state, and submitted by a third party), a batch of 10, funding, unlock and withdraw.
 * @example for (const r of await measureGas()) console.log(r.name, r.gas);
 */
export async function measureGas(): Promise<GasRow[]> {
  const anvil = await startAnvil({ hardfork: "prague", accounts: 5 });
  try {
    const [deployer, payer, orchestrator, orchestrator2, relayer] = anvil.accounts as [
      (typeof anvil.accounts)[0],
      (typeof anvil.accounts)[0],
      (typeof anvil.accounts)[0],
      (typeof anvil.accounts)[0],
      (typeof anvil.accounts)[0],
    ];
    const admin = await localClients(anvil.rpcUrl, deployer.privateKey, anvil.chainId);
    const payerC = await localClients(anvil.rpcUrl, payer.privateKey, anvil.chainId);
    const orchC = await localClients(anvil.rpcUrl, orchestrator.privateKey, anvil.chainId);
    const relayC = await localClients(anvil.rpcUrl, relayer.privateKey, anvil.chainId);
    const addrs = await deployLivepay(
      { walletClient: admin.walletClient, publicClient: admin.publicClient },
      { roundLength: 1000n, unlockPeriod: 1n, persistent: false },
    );
    const broker = addrs.ticketBroker;
    const rows: GasRow[] = [];
    const gasOf = (r: TransactionReceipt) => Number(r.gasUsed);

    const fund = async (c: Clients, deposit: bigint, reserve: bigint) =>
      mined(
        c,
        await c.walletClient.writeContract({
          address: broker,
          abi: TicketBrokerAbi,
          functionName: "fundDepositAndReserve",
          args: [deposit, reserve],
          value: deposit + reserve,
          gas: 500_000n,
        }),
      );
    rows.push({
      name: "fundDepositAndReserve (first)",
      gas: gasOf(await fund(payerC, 10n ** 19n, 10n ** 18n)),
      note: "payer's first funding",
    });
    rows.push({
      name: "fundDepositAndReserve (top-up)",
      gas: gasOf(await fund(payerC, 10n ** 19n, 10n ** 18n)),
      note: "payer already funded",
    });

    const round = await initializeRoundIfNeeded(admin, addrs.roundsManager);
    const blockHash = await admin.publicClient.readContract({
      address: addrs.roundsManager,
      abi: RoundsManagerAbi,
      functionName: "blockHashForRound",
      args: [round],
    });
    const faceValue = 12_000_000_000_000_000n; // go-livepeer's L2 face value at 0.1 gwei (spec D2)
    let nonce = 0n;
    const redeem = async (c: Clients, recipient: Address) => {
      const t = await signedTicket(payer.privateKey, recipient, faceValue, round, blockHash, ++nonce);
      return gasOf(
        await mined(
          c,
          await c.walletClient.writeContract({
            address: broker,
            abi: TicketBrokerAbi,
            functionName: "redeemWinningTicket",
            args: [t.ticket, t.sig, t.rand],
            gas: 500_000n,
          }),
        ),
      );
    };
    rows.push({
      name: "redeemWinningTicket (payee's first)",
      gas: await redeem(orchC, orchestrator.address),
      note: "payee's first ticket, submitted by the payee",
    });
    rows.push({
      name: "redeemWinningTicket (steady state)",
      gas: await redeem(orchC, orchestrator.address),
      note: "submitted by the payee (its account is warm)",
    });
    rows.push({
      name: "redeemWinningTicket (third-party submitter)",
      gas: await redeem(relayC, orchestrator2.address),
      note: "payee account cold: +2,600",
    });

    const tickets = [];
    for (let i = 0; i < 10; i++) {
      tickets.push(
        await signedTicket(payer.privateKey, orchestrator.address, faceValue, round, blockHash, ++nonce),
      );
    }
    const batch = gasOf(
      await mined(
        orchC,
        await orchC.walletClient.writeContract({
          address: broker,
          abi: TicketBrokerAbi,
          functionName: "batchRedeemWinningTickets",
          args: [tickets.map((t) => t.ticket), tickets.map((t) => t.sig), tickets.map((t) => t.rand)],
          gas: 5_000_000n,
        }),
      ),
    );
    rows.push({
      name: "batchRedeemWinningTickets (10)",
      gas: batch,
      note: "10 winning tickets, one transaction",
    });
    rows.push({
      name: "batchRedeemWinningTickets (per ticket)",
      gas: Math.round(batch / 10),
      note: "batch of 10 / 10",
    });

    const unlock = await mined(
      payerC,
      await payerC.walletClient.writeContract({
        address: broker,
        abi: TicketBrokerAbi,
        functionName: "unlock",
        gas: 200_000n,
      }),
    );
    rows.push({ name: "unlock", gas: gasOf(unlock), note: "" });
    // Move past the unlock period (1 round), then withdraw.
    const rl = await admin.publicClient.readContract({
      address: addrs.roundsManager,
      abi: RoundsManagerAbi,
      functionName: "roundLength",
    });
    await admin.publicClient.request({
      method: "anvil_mine" as never,
      params: [`0x${rl.toString(16)}`] as never,
    });
    const withdraw = await mined(
      payerC,
      await payerC.walletClient.writeContract({
        address: broker,
        abi: TicketBrokerAbi,
        functionName: "withdraw",
        gas: 200_000n,
      }),
    );
    rows.push({ name: "withdraw", gas: gasOf(withdraw), note: "deposit + reserve" });
    return rows;
  } finally {
    await anvil.stop();
  }
}

export interface GasBreakdownRow {
  part: string;
  gas: number;
}

interface StructLog {
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
  stack?: string[];
}

/**
 * Where the gas of one steady-state winning-ticket redemption goes, from an opcode trace
 * (anvil --steps-tracing, debug_traceTransaction): intrinsic, calldata, storage, external calls,
 * events and the rest of the execution. The parts add up to the receipt's gasUsed.
 * @example console.table(await redemptionGasBreakdown())
 */
export async function redemptionGasBreakdown(): Promise<GasBreakdownRow[]> {
  const anvil = await startAnvil({ hardfork: "prague", accounts: 3, args: ["--steps-tracing"] });
  try {
    const [deployer, payer, orchestrator] = anvil.accounts as [
      (typeof anvil.accounts)[0],
      (typeof anvil.accounts)[0],
      (typeof anvil.accounts)[0],
    ];
    const admin = await localClients(anvil.rpcUrl, deployer.privateKey, anvil.chainId);
    const payerC = await localClients(anvil.rpcUrl, payer.privateKey, anvil.chainId);
    const orchC = await localClients(anvil.rpcUrl, orchestrator.privateKey, anvil.chainId);
    const addrs = await deployLivepay(admin, { roundLength: 1000n, persistent: false });
    await mined(
      payerC,
      await payerC.walletClient.writeContract({
        address: addrs.ticketBroker,
        abi: TicketBrokerAbi,
        functionName: "fundDepositAndReserve",
        args: [10n ** 19n, 10n ** 18n],
        value: 11n * 10n ** 18n,
        gas: 500_000n,
      }),
    );
    const round = await initializeRoundIfNeeded(admin, addrs.roundsManager);
    const blockHash = await admin.publicClient.readContract({
      address: addrs.roundsManager,
      abi: RoundsManagerAbi,
      functionName: "blockHashForRound",
      args: [round],
    });
    let hash: Hex = "0x";
    for (const nonce of [1n, 2n]) {
      const t = await signedTicket(
        payer.privateKey,
        orchestrator.address,
        12_000_000_000_000_000n,
        round,
        blockHash,
        nonce,
      );
      hash = await orchC.walletClient.writeContract({
        address: addrs.ticketBroker,
        abi: TicketBrokerAbi,
        functionName: "redeemWinningTicket",
        args: [t.ticket, t.sig, t.rand],
        gas: 500_000n,
      });
      await mined(orchC, hash);
    }
    const receipt = await orchC.publicClient.getTransactionReceipt({ hash });
    const tx = await orchC.publicClient.getTransaction({ hash });
    const input = Buffer.from(tx.input.slice(2), "hex");
    const zeros = input.filter((b) => b === 0).length;
    const calldata = zeros * 4 + (input.length - zeros) * 16;
    const trace = (await orchC.publicClient.request({
      method: "debug_traceTransaction" as never,
      params: [hash, { disableStack: false, disableMemory: true, disableStorage: true }] as never,
    })) as { structLogs: StructLog[] };
    const logs = trace.structLogs;
    const parts = new Map<string, number>();
    const add = (k: string, v: number) => parts.set(k, (parts.get(k) ?? 0) + v);
    for (let i = 0; i < logs.length; i++) {
      const l = logs[i]!;
      if (l.depth !== 1) continue;
      if (l.op === "CALL" || l.op === "STATICCALL") {
        // Inclusive cost: gas before the call minus gas at the next step back at this depth.
        let j = i + 1;
        while (j < logs.length && logs[j]!.depth !== 1) j++;
        const cost = j < logs.length ? l.gas - logs[j]!.gas : l.gasCost;
        const to = BigInt(l.stack?.[l.stack.length - 2] ?? "0x0");
        if (l.op === "CALL") add("payout transfer to the payee (CALL with value)", cost);
        else if (to === 1n) add("ecrecover precompile", cost);
        else add("RoundsManager.redemptionRoundInfo (external view)", cost);
      } else if (l.op === "SSTORE") add("storage writes (used-ticket flag 0 -> 1, sender slot)", l.gasCost);
      else if (l.op === "SLOAD") add("storage reads (used-ticket, sender, parameters)", l.gasCost);
      else if (l.op.startsWith("LOG"))
        add("events (WinningTicketTransfer, WinningTicketRedeemed)", l.gasCost);
      else add("other execution (ABI decoding, hashing, memory, control flow)", l.gasCost);
    }
    const rows: GasBreakdownRow[] = [
      { part: "intrinsic transaction gas", gas: 21_000 },
      { part: `calldata (${input.length} bytes, ${zeros} zero)`, gas: calldata },
      ...[...parts].map(([part, gas]) => ({ part, gas })),
    ];
    rows.push({ part: "total (receipt gasUsed)", gas: Number(receipt.gasUsed) });
    return rows;
  } finally {
    await anvil.stop();
  }
}

/**
 * The rows as an aligned text table.
 * @example console.log(formatGasTable(await measureGas()))
 */
export function formatGasTable(rows: GasRow[], snapshot?: Record<string, number>): string {
  const header = ["operation", "gas", ...(snapshot ? ["snapshot", "change"] : []), "note"];
  const lines = rows.map((r) => {
    const cells = [r.name, r.gas.toLocaleString("en-US")];
    if (snapshot) {
      const s = snapshot[r.name];
      cells.push(s === undefined ? "-" : s.toLocaleString("en-US"));
      cells.push(s === undefined ? "new" : `${(((r.gas - s) / s) * 100).toFixed(2)} %`);
    }
    cells.push(r.note);
    return cells;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [fmt(header), fmt(widths.map((w) => "-".repeat(w))), ...lines.map(fmt)].join("\n");
}

/** Reads gas-snapshot.json ({} if absent). */
export function readGasSnapshot(path = GAS_SNAPSHOT_PATH): Record<string, number> {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, number>;
  } catch {
    return {};
  }
}

/** Writes the rows as gas-snapshot.json. */
export function writeGasSnapshot(rows: GasRow[], path = GAS_SNAPSHOT_PATH): void {
  const snapshot = Object.fromEntries(rows.map((r) => [r.name, r.gas]));
  writeFileSync(path, `${JSON.stringify(snapshot, null, 2)}\n`);
}

/**
 * The rows that grew more than `tolerance` over the snapshot (and rows missing from it).
 * @example compareGas(rows, readGasSnapshot()) // [] when nothing regressed
 */
export function compareGas(
  rows: GasRow[],
  snapshot: Record<string, number>,
  tolerance = GAS_TOLERANCE,
): string[] {
  const problems: string[] = [];
  for (const r of rows) {
    const s = snapshot[r.name];
    if (s === undefined) problems.push(`${r.name}: not in the snapshot (measured ${r.gas})`);
    else if (r.gas > s * (1 + tolerance))
      problems.push(`${r.name}: ${r.gas} gas > snapshot ${s} + ${tolerance * 100} %`);
  }
  return problems;
}
