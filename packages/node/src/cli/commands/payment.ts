import { parseArgs } from "node:util";
import {
  LivepayError,
  WireError,
  decodePaymentHeader,
  recoverTicketSigner,
  ticketHash,
  type Hex,
  type Payment,
  type Ticket,
} from "@livepay/protocol";
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  parseArgsError,
  toJson,
  type CliIo,
  type CommandGroup,
} from "../command.js";

const ZERO_HASH: Hex = `0x${"00".repeat(32)}`;

const GROUP_USAGE = `Usage: livepay payment <command>

Commands:
  decode <header|->   Decode a Livepeer-Payment header and check every ticket signature

Run "livepay payment <command> --help" for details.
`;

const DECODE_USAGE = `Usage: livepay payment decode [--compact] <header|->

Decodes a Livepeer-Payment header (standard base64 of a protobuf net.Payment), as sent by a
go-livepeer or livepay gateway, and checks each ticket: its ticket hash (expiration params from
Payment field 3, sender from the payment) and the address that signed it.

  <header>    the header value; a leading "Livepeer-Payment:" is ignored
  -           read the header from standard input
  --compact   print the JSON on one line
  -h, --help  show this help

Prints JSON: {payment, tickets: [{nonce, ticketHash, signer, signerMatchesSender, error?}],
signers, warnings, summary}. Integers are decimal strings, bytes are 0x hex.

Exit status: 0 every ticket is signed by the sender (or there are none), 1 some ticket is not,
2 the header is malformed (the error code and message go to standard error).
`;

/** The check of one ticket of a payment. */
export interface TicketReport {
  nonce: bigint;
  ticketHash: Hex | null;
  signer: Hex | null;
  signerMatchesSender: boolean;
  error?: { code: string; message: string };
}

/** What `livepay payment decode` prints. */
export interface PaymentReport {
  payment: Payment;
  tickets: TicketReport[];
  /** Each distinct signer with the number of tickets it signed. */
  signers: { address: Hex; tickets: number; isSender: boolean }[];
  warnings: string[];
  summary: string;
}

function errorInfo(e: unknown): { code: string; message: string } {
  if (e instanceof LivepayError) return { code: e.code, message: e.message };
  return { code: "INTERNAL", message: e instanceof Error ? e.message : String(e) };
}

/**
 * Checks every ticket of a decoded payment as an orchestrator would see it: ticket hash over the
 * payment's ticket params, sender and expiration params (field 3), and the signer of each signature.
 * @example reportPayment(decodePaymentHeader(h)).summary
 */
export function reportPayment(payment: Payment): PaymentReport {
  const warnings: string[] = [];
  const tp = payment.ticketParams;
  const n = payment.ticketSenderParams.length;
  if (n > 0 && tp === undefined)
    warnings.push("payment has tickets but no ticket_params: nothing to check them against");
  if (n > 0 && payment.expirationParams === undefined) {
    warnings.push(
      "payment has tickets but no expiration_params (field 3): go-livepeer fails on such a payment; " +
        "ticket hashes computed with round 0 and a zero block hash (no auxData)",
    );
  }
  if (tp?.expirationParams !== undefined) {
    warnings.push(
      "ticket_params.expiration_params (field 7) is set: orchestrators ignore it and read field 3",
    );
  }
  if (n === 0 && tp !== undefined) warnings.push("payment has ticket_params but no tickets");

  const tickets = payment.ticketSenderParams.map((t): TicketReport => {
    const report: TicketReport = {
      nonce: t.senderNonce,
      ticketHash: null,
      signer: null,
      signerMatchesSender: false,
    };
    if (tp === undefined) {
      report.error = { code: "MISSING_TICKET_PARAMS", message: "payment has no ticket_params" };
      return report;
    }
    const ticket: Ticket = {
      recipient: tp.recipient,
      sender: payment.sender,
      faceValue: tp.faceValue,
      winProb: tp.winProb,
      senderNonce: t.senderNonce,
      recipientRandHash: tp.recipientRandHash,
      creationRound: payment.expirationParams?.creationRound ?? 0n,
      creationRoundBlockHash: payment.expirationParams?.creationRoundBlockHash ?? ZERO_HASH,
    };
    try {
      report.ticketHash = ticketHash(ticket);
      report.signer = recoverTicketSigner(ticket, t.sig);
      report.signerMatchesSender = report.signer === payment.sender;
    } catch (e) {
      report.error = errorInfo(e);
    }
    return report;
  });

  const counts = new Map<Hex, number>();
  for (const t of tickets) if (t.signer !== null) counts.set(t.signer, (counts.get(t.signer) ?? 0) + 1);
  const signers = [...counts].map(([address, count]) => ({
    address,
    tickets: count,
    isSender: address === payment.sender,
  }));
  return { payment, tickets, signers, warnings, summary: summarize(payment.sender, tickets, signers) };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function summarize(sender: Hex, tickets: TicketReport[], signers: PaymentReport["signers"]): string {
  if (tickets.length === 0) return `no tickets (payment from ${sender})`;
  const good = tickets.filter((t) => t.signerMatchesSender).length;
  if (good === tickets.length)
    return `${plural(tickets.length, "ticket")}, all signed by the sender ${sender}`;
  const parts = signers.map(
    (s) =>
      `${plural(s.tickets, "ticket")} signed by ${s.address}${s.isSender ? " (the sender)" : " (NOT the sender)"}`,
  );
  const unreadable = tickets.filter((t) => t.signer === null).length;
  if (unreadable > 0) parts.push(`${plural(unreadable, "ticket")} with an unusable signature`);
  return `${plural(tickets.length - good, "ticket")} of ${tickets.length} not signed by the sender ${sender}: ${parts.join("; ")}`;
}

function stripHeaderName(input: string): string {
  const s = input.trim();
  const m = /^livepeer-payment\s*:\s*/i.exec(s);
  return m ? s.slice(m[0].length) : s;
}

async function decode(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { help: { type: "boolean", short: "h" }, compact: { type: "boolean" } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.stdout(DECODE_USAGE);
    return EXIT_OK;
  }
  if (positionals.length !== 1) {
    io.stderr(`livepay payment decode: expected one header argument (or "-")\n\n${DECODE_USAGE}`);
    return EXIT_USAGE;
  }
  const raw = positionals[0] === "-" ? await io.readStdin() : positionals[0]!;
  let payment: Payment;
  try {
    payment = decodePaymentHeader(stripHeaderName(raw));
  } catch (e) {
    if (e instanceof WireError) {
      io.stderr(`livepay payment decode: ${e.code}: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  const report = reportPayment(payment);
  io.stdout(`${toJson(report, values.compact ? 0 : 2)}\n`);
  return report.tickets.every((t) => t.signerMatchesSender) ? EXIT_OK : EXIT_FAILED;
}

/** `livepay payment ...`: tools for Livepeer-Payment headers. */
export const paymentCommand: CommandGroup = {
  name: "payment",
  summary: "Inspect Livepeer-Payment headers (decode, check signatures)",
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === undefined) {
      io.stderr(GROUP_USAGE);
      return EXIT_USAGE;
    }
    if (sub === "--help" || sub === "-h" || sub === "help") {
      io.stdout(GROUP_USAGE);
      return EXIT_OK;
    }
    if (sub !== "decode") {
      io.stderr(`livepay payment: unknown command "${sub}"\n\n${GROUP_USAGE}`);
      return EXIT_USAGE;
    }
    try {
      return await decode(rest, io);
    } catch (e) {
      const msg = parseArgsError(e);
      if (msg === undefined) throw e;
      io.stderr(`livepay payment decode: ${msg}\n\n${DECODE_USAGE}`);
      return EXIT_USAGE;
    }
  },
};
