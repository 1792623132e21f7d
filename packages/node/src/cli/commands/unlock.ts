import { parseArgs } from "node:util";
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
import { senderStatus } from "./status.js";

const USAGE = `Usage: livepay unlock [--cancel] [options]

Starts the unlock period of the signer's deposit and reserve (TicketBroker unlock): they can be
withdrawn from round currentRound + unlockPeriod on, and orchestrators stop accepting tickets from
this sender. --cancel stops an unlock in progress (cancelUnlock).

${CHAIN_OPTIONS_HELP}
`;

/** `livepay unlock`. */
export const unlockCommand: CommandGroup = {
  name: "unlock",
  summary: "Start (or --cancel) the unlock period before a withdrawal",
  run: (argv: string[], io: CliIo) =>
    runCommand(io, USAGE, async () => {
      const { values, positionals } = parseOrUsage(() =>
        parseArgs({
          args: argv,
          options: { ...CHAIN_OPTIONS, ...{ cancel: { type: "boolean" } } },
          allowPositionals: true,
          strict: true,
        }),
      );
      if (values.help) {
        io.stdout(USAGE);
        return EXIT_OK;
      }
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      const { chain } = await connectFromFlags(values, { wantKey: true });
      const tx = values.cancel ? await chain.cancelUnlock() : await chain.unlock();
      const status = await senderStatus(chain, chain.account!);
      if (values.json) {
        io.stdout(
          `${toJson({ action: values.cancel ? "cancelUnlock" : "unlock", tx: txJson(tx), status })}\n`,
        );
      } else if (values.cancel) {
        io.stdout(`unlock cancelled for ${status.address}\n${describeTx(tx)}\n`);
      } else {
        io.stdout(
          `unlock started for ${status.address}: withdraw from round ${status.withdrawRound} ` +
            `(current round ${status.currentRound})\n${describeTx(tx)}\n`,
        );
      }
      return EXIT_OK;
    }),
};
