// `livepay ticket open|show|close|deposit|unlock|withdraw`: a payer's persistent tickets on the
// PersistentTicketBroker (DESIGN.md § Persistent tickets). A ticket itself is off-chain (ids chosen
// per request by the SDK); on chain a payer funds a deposit and a reserve, unlocks and withdraws.
import { PersistentTicketBrokerAbi } from "@livepay/contracts";
import { createPublicClient, createWalletClient, http, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { toChainError } from "../../chain/errors.js";
import { formatAmount } from "../../config/amount.js";
import type { CliIo, CommandGroup } from "../command.js";
import {
  CHAIN_OPTIONS_HELP,
  UsageError,
  chainCommand,
  connectFromFlags,
  positiveAmount,
  printResult,
  type ConnectedCommand,
} from "./chainCommon.js";

const USAGE = `Usage: livepay ticket <subcommand> [options]

Persistent tickets (PersistentTicketBroker), as a payer:
  open <deposit> [--reserve <amount>]   fund deposit (and reserve) so payees accept vouchers;
                                        prints the broker, chain id and epoch the SDK signs for
  deposit <amount> [--reserve <amount>] add to the deposit (cancels an unlock in progress)
  show [--payee <address>]              deposit, reserve, unlock state, epoch; with --payee the
                                        claimable reserve allocation and claimed amount of tickets 0-15
  close                                 start the unlock (alias: unlock); payees claim before it ends
  withdraw                              after the unlock period: deposit + reserve back, epoch + 1

Options:
  --broker <address>   PersistentTicketBroker (devnet: from the manifest)
${CHAIN_OPTIONS_HELP}`;

const EXTRA = {
  broker: { type: "string" },
  reserve: { type: "string" },
  payee: { type: "string" },
} as const;

interface BrokerCtx {
  broker: Address;
  payer: Address | undefined;
  read<T>(fn: string, args: readonly unknown[]): Promise<T>;
  write(
    fn: string,
    args: readonly unknown[],
    value?: bigint,
  ): Promise<{ hash: Hex; blockNumber: bigint; gasUsed: bigint }>;
}

function brokerCtx(c: ConnectedCommand, brokerFlag: string | undefined): BrokerCtx {
  const broker = (brokerFlag ?? c.settings.manifest?.contracts.persistentTicketBroker) as Address | undefined;
  if (!broker || !/^0x[0-9a-fA-F]{40}$/.test(broker)) {
    throw new UsageError("no PersistentTicketBroker: pass --broker <address>");
  }
  const transport = http(c.rpcUrl, { retryCount: 0 });
  const pub = createPublicClient({ transport });
  const account = c.settings.privateKey ? privateKeyToAccount(c.settings.privateKey) : undefined;
  return {
    broker,
    payer: account?.address,
    read: <T>(fn: string, args: readonly unknown[]) =>
      pub.readContract({
        address: broker,
        abi: PersistentTicketBrokerAbi,
        functionName: fn,
        args,
      } as never) as Promise<T>,
    write: async (fn, args, value) => {
      if (!account) throw new UsageError("this command signs a transaction: pass --private-key");
      const chainId = await pub.getChainId();
      const wallet = createWalletClient({ account, transport });
      let hash: Hex;
      try {
        hash = await wallet.writeContract({
          address: broker,
          abi: PersistentTicketBrokerAbi,
          functionName: fn,
          args,
          chain: { id: chainId } as never,
          ...(value ? { value } : {}),
        } as never);
      } catch (e) {
        throw toChainError(e, { functionName: `PersistentTicketBroker.${fn}` });
      }
      const r = await pub.waitForTransactionReceipt({ hash, pollingInterval: 100 });
      if (r.status !== "success") throw new UsageError(`${fn} reverted in ${hash}`);
      return { hash, blockNumber: r.blockNumber, gasUsed: r.gasUsed };
    },
  };
}

async function payerInfo(b: BrokerCtx, payer: Address) {
  const [deposit, reserve, withdrawRound, epoch] = await b.read<readonly [bigint, bigint, bigint, bigint]>(
    "getPayerInfo",
    [payer],
  );
  return { payer, broker: b.broker, deposit, reserve, withdrawRound, epoch };
}

function describe(i: Awaited<ReturnType<typeof payerInfo>>): string {
  return (
    `payer ${i.payer} on ${i.broker}\n` +
    `deposit ${formatAmount(i.deposit)}, reserve ${formatAmount(i.reserve)}, epoch ${i.epoch}\n` +
    (i.withdrawRound === 0n
      ? "locked (no unlock in progress)\n"
      : `unlocking: withdraw from round ${i.withdrawRound}\n`)
  );
}

async function fund(
  b: BrokerCtx,
  io: CliIo,
  json: boolean,
  deposit: bigint,
  reserve: bigint,
  opened: boolean,
) {
  const tx = await b.write("fundDepositAndReserve", [deposit, reserve], deposit + reserve);
  const info = await payerInfo(b, b.payer!);
  return printResult(
    io,
    json,
    { funded: { deposit, reserve }, tx, ...info },
    `${opened ? "opened" : "funded"}: deposit +${formatAmount(deposit)}, reserve +${formatAmount(reserve)}\n` +
      `tx ${tx.hash} (block ${tx.blockNumber}, gas ${tx.gasUsed})\n${describe(info)}`,
  );
}

const sub = chainCommand({
  name: "ticket",
  summary: "Persistent tickets: open, show, close, deposit, withdraw",
  usage: USAGE,
  options: EXTRA,
  maxPositionals: 2,
  async run({ values, positionals }, io) {
    const [cmd, arg] = positionals;
    const json = values.json === true;
    const signs = cmd !== "show";
    const c = await connectFromFlags(values, { wantKey: signs || values["private-key"] !== undefined });
    const b = brokerCtx(c, values.broker);
    switch (cmd) {
      case "open":
      case "deposit": {
        const deposit = positiveAmount(arg, "deposit");
        const reserve = values.reserve === undefined ? 0n : positiveAmount(values.reserve, "reserve");
        return fund(b, io, json, deposit, reserve, cmd === "open");
      }
      case "show": {
        const payer = (b.payer ?? c.chain.account) as Address | undefined;
        if (!payer) throw new UsageError("show needs the payer: pass --private-key or --account");
        const info = await payerInfo(b, payer);
        let extra = "";
        let tickets: { ticketId: string; claimed: string }[] = [];
        let allocation: bigint | undefined;
        if (values.payee) {
          allocation = await b.read<bigint>("claimableReserve", [payer, values.payee]);
          const claimed = await Promise.all(
            Array.from({ length: 16 }, (_, i) =>
              b.read<bigint>("claimed", [payer, values.payee, info.epoch, BigInt(i)]),
            ),
          );
          tickets = claimed
            .map((v, i) => ({ ticketId: String(i), claimed: v.toString() }))
            .filter((t) => t.claimed !== "0");
          extra =
            `reserve allocation for ${values.payee}: ${formatAmount(allocation)}\n` +
            tickets.map((t) => `ticket ${t.ticketId}: claimed ${formatAmount(BigInt(t.claimed))}\n`).join("");
        }
        return printResult(io, json, { ...info, allocation, tickets }, describe(info) + extra);
      }
      case "close":
      case "unlock": {
        const tx = await b.write("unlock", []);
        const info = await payerInfo(b, b.payer!);
        return printResult(io, json, { tx, ...info }, `unlock started: tx ${tx.hash}\n${describe(info)}`);
      }
      case "withdraw": {
        const tx = await b.write("withdraw", []);
        const info = await payerInfo(b, b.payer!);
        return printResult(io, json, { tx, ...info }, `withdrawn: tx ${tx.hash}\n${describe(info)}`);
      }
      default:
        throw new UsageError(cmd === undefined ? "missing subcommand" : `unknown subcommand "${cmd}"`);
    }
  },
});

/** `livepay ticket`. */
export const ticketCommand: CommandGroup = sub;
