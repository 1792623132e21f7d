import { getAddress, isAddress, type Address } from "viem";
import type { LivepeerChain } from "../../chain/livepeerChain.js";
import { formatAmount } from "../../config/amount.js";
import type { CommandGroup } from "../command.js";
import {
  CHAIN_OPTIONS_HELP,
  UsageError,
  chainCommand,
  connectFromFlags,
  printResult,
} from "./chainCommon.js";

const USAGE = `Usage: livepay status [address] [options]

Shows a sender's funds at the TicketBroker: deposit, reserve, withdraw round and unlock state,
with the current round. The address defaults to the signing account (--private-key, or the
devnet's gateway account).

${CHAIN_OPTIONS_HELP}
`;

/** Where a sender's unlock stands: none, waiting for its withdraw round, or withdrawable now. */
export type UnlockState = "none" | "pending" | "withdrawable";

/** Everything `livepay status` shows about a sender. */
export interface SenderStatus {
  address: Address;
  chainId: number;
  deposit: bigint;
  reserve: bigint;
  reserveClaimedInCurrentRound: bigint;
  withdrawRound: bigint;
  unlock: UnlockState;
  currentRound: bigint;
  currentRoundInitialized: boolean;
  lastInitializedRound: bigint;
  /** The address's ETH balance (what it can still deposit). */
  balance: bigint;
}

/**
 * The unlock state of a withdraw round at a current round (TicketBroker: withdraw needs
 * `withdrawRound > 0 && currentRound >= withdrawRound`).
 * @example unlockState(12n, 11n) // "pending"
 */
export function unlockState(withdrawRound: bigint, currentRound: bigint): UnlockState {
  if (withdrawRound === 0n) return "none";
  return currentRound >= withdrawRound ? "withdrawable" : "pending";
}

/**
 * Reads a sender's status from the chain.
 * @example const s = await senderStatus(chain, "0xf39F...")
 */
export async function senderStatus(chain: LivepeerChain, address: Address): Promise<SenderStatus> {
  const [info, currentRound, lastInitializedRound, balance] = await Promise.all([
    chain.getSenderInfo(address),
    chain.currentRound(),
    chain.lastInitializedRound(),
    chain.balanceOf(address),
  ]);
  return {
    address,
    chainId: chain.chainId,
    deposit: info.deposit,
    reserve: info.reserve.fundsRemaining,
    reserveClaimedInCurrentRound: info.reserve.claimedInCurrentRound,
    withdrawRound: info.withdrawRound,
    unlock: unlockState(info.withdrawRound, currentRound),
    currentRound,
    currentRoundInitialized: lastInitializedRound === currentRound,
    lastInitializedRound,
    balance,
  };
}

/**
 * Human-readable status lines.
 * @example io.stdout(formatStatus(status))
 */
export function formatStatus(s: SenderStatus): string {
  const unlock =
    s.unlock === "none"
      ? "none"
      : s.deposit === 0n && s.reserve === 0n
        ? `none in progress (withdrawn; the broker keeps withdraw round ${s.withdrawRound})`
        : s.unlock === "pending"
          ? `pending: withdraw from round ${s.withdrawRound} (${s.withdrawRound - s.currentRound} round(s) to go)`
          : `withdrawable since round ${s.withdrawRound}: run livepay withdraw`;
  const rows: [string, string][] = [
    ["address", s.address],
    ["deposit", formatAmount(s.deposit)],
    ["reserve", formatAmount(s.reserve)],
    ["reserve claimed", `${formatAmount(s.reserveClaimedInCurrentRound)} this round`],
    ["withdraw round", String(s.withdrawRound)],
    ["unlock", unlock],
    [
      "current round",
      `${s.currentRound} (${s.currentRoundInitialized ? "initialized" : `not initialized; last initialized ${s.lastInitializedRound}`})`,
    ],
    ["balance", formatAmount(s.balance)],
    ["chain id", String(s.chainId)],
  ];
  return rows.map(([k, v]) => `${k.padEnd(16)}${v}`).join("\n") + "\n";
}

/** `livepay status`. */
export const statusCommand: CommandGroup = chainCommand({
  name: "status",
  summary: "Show a sender's deposit, reserve, unlock state and the current round",
  usage: USAGE,
  maxPositionals: 1,
  async run({ values, positionals }, io) {
    const given = positionals[0];
    if (given !== undefined && !isAddress(given, { strict: false }))
      throw new UsageError(`not an address: "${given}"`);
    const { chain } = await connectFromFlags(values, {
      wantKey: given === undefined,
      missingKey: "give an address, or a key with --private-key / LIVEPAY_PRIVATE_KEY",
    });
    const address = given !== undefined ? getAddress(given) : chain.account!;
    const status = await senderStatus(chain, address);
    return printResult(io, values.json === true, status, formatStatus(status));
  },
});
