import type { CommandGroup } from "../command.js";
import {
  CHAIN_OPTIONS_HELP,
  chainCommand,
  connectFromFlags,
  describeTx,
  printResult,
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
export const unlockCommand: CommandGroup = chainCommand({
  name: "unlock",
  summary: "Start (or --cancel) the unlock period before a withdrawal",
  usage: USAGE,
  options: { cancel: { type: "boolean" } },
  maxPositionals: 0,
  async run({ values }, io) {
    const { chain } = await connectFromFlags(values, { wantKey: true });
    const tx = values.cancel ? await chain.cancelUnlock() : await chain.unlock();
    const status = await senderStatus(chain, chain.account!);
    const text = values.cancel
      ? `unlock cancelled for ${status.address}`
      : `unlock started for ${status.address}: withdraw from round ${status.withdrawRound} ` +
        `(current round ${status.currentRound})`;
    return printResult(
      io,
      values.json === true,
      { action: values.cancel ? "cancelUnlock" : "unlock", tx: txJson(tx), status },
      `${text}\n${describeTx(tx)}\n`,
    );
  },
});
