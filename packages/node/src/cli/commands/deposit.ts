import { parseArgs } from "node:util";
import type { LivepeerChain, TxResult } from "../../chain/livepeerChain.js";
import { formatAmount } from "../../config/amount.js";
import { toJson, type CliIo, type CommandGroup } from "../command.js";
import {
  CHAIN_OPTIONS_HELP,
  EXIT_OK,
  UsageError,
  connectFromFlags,
  describeTx,
  parseOrUsage,
  CHAIN_OPTIONS,
  positiveAmount,
  runCommand,
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
  if (json) {
    io.stdout(`${toJson({ funded: { deposit, reserve }, tx: txJson(tx), status })}\n`);
  } else {
    const what = [
      deposit > 0n ? `deposit +${formatAmount(deposit)}` : "",
      reserve > 0n ? `reserve +${formatAmount(reserve)}` : "",
    ]
      .filter(Boolean)
      .join(", ");
    io.stdout(
      `funded ${what} for ${status.address}\n${describeTx(tx)}\n` +
        `deposit now ${formatAmount(status.deposit)}, reserve ${formatAmount(status.reserve)}\n`,
    );
  }
  return EXIT_OK;
}

/** `livepay deposit`. */
export const depositCommand: CommandGroup = {
  name: "deposit",
  summary: "Fund the TicketBroker deposit (and optionally the reserve)",
  run: (argv: string[], io: CliIo) =>
    runCommand(io, USAGE, async () => {
      const { values, positionals } = parseOrUsage(() =>
        parseArgs({
          args: argv,
          options: { ...CHAIN_OPTIONS, ...{ reserve: { type: "string" } } },
          allowPositionals: true,
          strict: true,
        }),
      );
      if (values.help) {
        io.stdout(USAGE);
        return EXIT_OK;
      }
      if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
      const deposit = positiveAmount(positionals[0], "deposit");
      const reserve = values.reserve === undefined ? 0n : positiveAmount(values.reserve, "reserve");
      const { chain } = await connectFromFlags(values, { wantKey: true });
      return fund(chain, io, { deposit, reserve }, values.json === true);
    }),
};
