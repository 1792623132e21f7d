import { parseArgs } from "node:util";
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
  runCommand,
  txJson,
} from "./chainCommon.js";

const USAGE = `Usage: livepay withdraw [options]

Withdraws the signer's whole deposit and reserve (TicketBroker withdraw) once the unlock period
started by "livepay unlock" is over.

${CHAIN_OPTIONS_HELP}
`;

/** `livepay withdraw`. */
export const withdrawCommand: CommandGroup = {
  name: "withdraw",
  summary: "Withdraw deposit and reserve after the unlock period",
  run: (argv: string[], io: CliIo) =>
    runCommand(io, USAGE, async () => {
      const { values, positionals } = parseOrUsage(() =>
        parseArgs({ args: argv, options: CHAIN_OPTIONS, allowPositionals: true, strict: true }),
      );
      if (values.help) {
        io.stdout(USAGE);
        return EXIT_OK;
      }
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      const { chain } = await connectFromFlags(values, { wantKey: true });
      const address = chain.account!;
      const before = await chain.getSenderInfo(address);
      const tx = await chain.withdraw();
      // The Withdrawal event says exactly what was paid out.
      const events = await chain.getBrokerEvents(tx.blockNumber, tx.blockNumber, [address]);
      const w = events.find((e) => e.name === "Withdrawal" && e.transactionHash === tx.hash);
      const deposit = w?.name === "Withdrawal" ? w.deposit : before.deposit;
      const reserve = w?.name === "Withdrawal" ? w.reserve : before.reserve.fundsRemaining;
      if (values.json) {
        io.stdout(`${toJson({ address, withdrawn: { deposit, reserve }, tx: txJson(tx) })}\n`);
      } else {
        io.stdout(
          `withdrew deposit ${formatAmount(deposit)} and reserve ${formatAmount(reserve)} to ${address}\n${describeTx(tx)}\n`,
        );
      }
      return EXIT_OK;
    }),
};
