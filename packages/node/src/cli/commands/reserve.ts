import { parseArgs } from "node:util";
import type { CliIo, CommandGroup } from "../command.js";
import {
  CHAIN_OPTIONS_HELP,
  EXIT_OK,
  UsageError,
  connectFromFlags,
  parseOrUsage,
  CHAIN_OPTIONS,
  positiveAmount,
  runCommand,
} from "./chainCommon.js";
import { fund } from "./deposit.js";

const USAGE = `Usage: livepay reserve <amount> [options]

Adds <amount> to the signer's TicketBroker reserve (fundReserve). The reserve backs winning
tickets beyond the deposit: each active orchestrator may claim reserve / poolSize per round.
Funding cancels an unlock in progress.

${CHAIN_OPTIONS_HELP}
`;

/** `livepay reserve`. */
export const reserveCommand: CommandGroup = {
  name: "reserve",
  summary: "Fund the TicketBroker reserve",
  run: (argv: string[], io: CliIo) =>
    runCommand(io, USAGE, async () => {
      const { values, positionals } = parseOrUsage(() =>
        parseArgs({ args: argv, options: CHAIN_OPTIONS, allowPositionals: true, strict: true }),
      );
      if (values.help) {
        io.stdout(USAGE);
        return EXIT_OK;
      }
      if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
      const reserve = positiveAmount(positionals[0], "reserve");
      const { chain } = await connectFromFlags(values, { wantKey: true });
      return fund(chain, io, { deposit: 0n, reserve }, values.json === true);
    }),
};
