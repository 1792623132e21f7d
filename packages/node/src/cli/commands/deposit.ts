import type { LivepeerChain, TxResult } from "../../chain/livepeerChain.js";
import { formatAmount } from "../../config/amount.js";
import type { CliIo, CommandGroup } from "../command.js";
import {
  CHAIN_OPTIONS_HELP,
  chainCommand,
  connectFromFlags,
  describeTx,
  positiveAmount,
  printResult,
  txJson,
} from "./chainCommon.js";
import { senderStatus } from "./status.js";

const USAGE = `Usage: livepay deposit <amount> [--reserve <amount>] [options]

Adds <amount> to the signer's TicketBroker deposit (fundDeposit); with --reserve, funds deposit
and reserve in one transaction (fundDepositAndReserve). Funding cancels an unlock in progress.

${CHAIN_OPTIONS_HELP}
`;

/**
 * Sends the funding transaction, prints what happened and the new balances.
 * @example await fund(chain, io, { deposit: 10n ** 18n, reserve: 0n }, false)
 */
export async function fund(
  chain: LivepeerChain,
  io: CliIo,
  amounts: { deposit: bigint; reserve: bigint },
  json: boolean,
): Promise<number> {
  const { deposit, reserve } = amounts;
  let tx: TxResult;
  if (deposit > 0n && reserve > 0n) tx = await chain.fundDepositAndReserve(deposit, reserve);
  else if (deposit > 0n) tx = await chain.fundDeposit(deposit);
  else tx = await chain.fundReserve(reserve);
  const status = await senderStatus(chain, chain.account!);
  const what = [
    deposit > 0n ? `deposit +${formatAmount(deposit)}` : "",
    reserve > 0n ? `reserve +${formatAmount(reserve)}` : "",
  ]
    .filter(Boolean)
    .join(", ");
  return printResult(
    io,
    json,
    { funded: { deposit, reserve }, tx: txJson(tx), status },
    `funded ${what} for ${status.address}\n${describeTx(tx)}\n` +
      `deposit now ${formatAmount(status.deposit)}, reserve ${formatAmount(status.reserve)}\n`,
  );
}

/** `livepay deposit`. */
export const depositCommand: CommandGroup = chainCommand({
  name: "deposit",
  summary: "Fund the TicketBroker deposit (and optionally the reserve)",
  usage: USAGE,
  options: { reserve: { type: "string" } },
  maxPositionals: 1,
  async run({ values, positionals }, io) {
    const deposit = positiveAmount(positionals[0], "deposit");
    const reserve = values.reserve === undefined ? 0n : positiveAmount(values.reserve, "reserve");
    const { chain } = await connectFromFlags(values, { wantKey: true });
    return fund(chain, io, { deposit, reserve }, values.json === true);
  },
});
