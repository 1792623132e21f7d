import type { CommandGroup } from "../command.js";
import { CHAIN_OPTIONS_HELP, chainCommand, connectFromFlags, positiveAmount } from "./chainCommon.js";
import { fund } from "./deposit.js";

const USAGE = `Usage: livepay reserve <amount> [options]

Adds <amount> to the signer's TicketBroker reserve (fundReserve). The reserve backs winning
tickets beyond the deposit: each active orchestrator may claim reserve / poolSize per round.
Funding cancels an unlock in progress.

${CHAIN_OPTIONS_HELP}
`;

/** `livepay reserve`. */
export const reserveCommand: CommandGroup = chainCommand({
  name: "reserve",
  summary: "Fund the TicketBroker reserve",
  usage: USAGE,
  maxPositionals: 1,
  async run({ values, positionals }, io) {
    const reserve = positiveAmount(positionals[0], "reserve");
    const { chain } = await connectFromFlags(values, { wantKey: true });
    return fund(chain, io, { deposit: 0n, reserve }, values.json === true);
  },
});
