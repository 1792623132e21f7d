import { formatAmount } from "../../config/amount.js";
import type { CommandGroup } from "../command.js";
import {
  CHAIN_OPTIONS_HELP,
  chainCommand,
  connectFromFlags,
  describeTx,
  printResult,
  txJson,
} from "./chainCommon.js";

const USAGE = `Usage: livepay withdraw [options]

Withdraws the signer's whole deposit and reserve (TicketBroker withdraw) once the unlock period
started by "livepay unlock" is over.

${CHAIN_OPTIONS_HELP}
`;

/** `livepay withdraw`. */
export const withdrawCommand: CommandGroup = chainCommand({
  name: "withdraw",
  summary: "Withdraw deposit and reserve after the unlock period",
  usage: USAGE,
  maxPositionals: 0,
  async run({ values }, io) {
    const { chain } = await connectFromFlags(values, { wantKey: true });
    const address = chain.account!;
    const before = await chain.getSenderInfo(address);
    const tx = await chain.withdraw();
    // The Withdrawal event says exactly what was paid out.
    const events = await chain.getBrokerEvents(tx.blockNumber, tx.blockNumber, [address]);
    const w = events.find((e) => e.name === "Withdrawal" && e.transactionHash === tx.hash);
    const deposit = w?.name === "Withdrawal" ? w.deposit : before.deposit;
    const reserve = w?.name === "Withdrawal" ? w.reserve : before.reserve.fundsRemaining;
    return printResult(
      io,
      values.json === true,
      { address, withdrawn: { deposit, reserve }, tx: txJson(tx) },
      `withdrew deposit ${formatAmount(deposit)} and reserve ${formatAmount(reserve)} to ${address}\n${describeTx(tx)}\n`,
    );
  },
});
