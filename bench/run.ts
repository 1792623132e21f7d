// `npm run bench`: every benchmark of the project, each figure beside a baseline measured in the same run.
// One or more sections alone: `npm run build && npx tsx bench/run.ts persistent` (tickets, wire, node, persistent).
import { keccakReady, nativeSecp256k1Available } from "@livepay/protocol";
import { fmtRate, printTable } from "./stats.js";
import { benchNode } from "./node.js";
import { benchPersistent } from "./persistent/index.js";
import { printPersistent } from "./persistent/print.js";
import { benchTickets } from "./tickets.js";
import { benchWire } from "./wire.js";

const only = new Set(process.argv.slice(2));
const want = (section: string) => only.size === 0 || only.has(section);
const ms = (x: number) => `${x.toFixed(3)} ms`;
const ratio = (a: number, b: number) => `${((a / b) * 100).toFixed(0)} %`;

console.log(
  `livepay benchmarks — node ${process.version}, one core (single-threaded), native secp256k1: ${nativeSecp256k1Available()}`,
);

// The benchmarks are synchronous loops: let the WebAssembly Keccak finish instantiating first.
await keccakReady();
if (want("tickets")) {
  const native = benchTickets("native");
  const js = benchTickets("js", 500);
  printTable(
    "Tickets per second on one core (baseline: bare secp256k1 on a 32-byte digest, same backend, same run)",
    [
      [
        "bare sign (baseline)",
        fmtRate(native.rawSign),
        fmtRate(js.rawSign),
        ratio(native.rawSign, js.rawSign),
      ],
      [
        "ticket sign",
        fmtRate(native.ticketSign),
        fmtRate(js.ticketSign),
        ratio(native.ticketSign, js.ticketSign),
      ],
      [
        "  ticket sign / bare sign",
        ratio(native.ticketSign, native.rawSign),
        ratio(js.ticketSign, js.rawSign),
        "",
      ],
      [
        "bare recover (baseline)",
        fmtRate(native.rawRecover),
        fmtRate(js.rawRecover),
        ratio(native.rawRecover, js.rawRecover),
      ],
      [
        "ticket validate (receiveTicket)",
        fmtRate(native.ticketValidate),
        fmtRate(js.ticketValidate),
        ratio(native.ticketValidate, js.ticketValidate),
      ],
      [
        "  validate / bare recover",
        ratio(native.ticketValidate, native.rawRecover),
        ratio(js.ticketValidate, js.rawRecover),
        "",
      ],
    ],
    ["operation", "native", "pure JS", "native/JS"],
  );
  console.log(
    `  targets: sign >= 15,000/s (${native.ticketSign >= 15000 ? "met" : "NOT met"}), validate >= 10,000/s (${native.ticketValidate >= 10000 ? "met" : "NOT met"}) with the native backend`,
  );
}

if (want("wire")) {
  const wire = benchWire();
  printTable(
    `Livepeer-Payment header with 10 tickets (${wire.headerChars} base64 chars); baseline: JSON of the same payment`,
    [
      ["encode", fmtRate(wire.encode), fmtRate(wire.jsonEncode), ratio(wire.encode, wire.jsonEncode)],
      ["decode", fmtRate(wire.decode), fmtRate(wire.jsonDecode), ratio(wire.decode, wire.jsonDecode)],
    ],
    ["operation", "protobuf header", "JSON baseline", "header/JSON"],
  );
}

if (want("node")) {
  const node = await benchNode();
  printTable(
    `Chat completions through the gateway, ${node.requests} sequential requests per path (synthetic LLM, ${node.ticketsPerRequest.toFixed(2)} tickets/request); baseline: the same runner behind an unpaid fastify proxy`,
    [
      ["requests/s", fmtRate(node.paid.rps), fmtRate(node.unpaid.rps), ratio(node.paid.rps, node.unpaid.rps)],
      ["latency p50", ms(node.paid.p50), ms(node.unpaid.p50), ratio(node.paid.p50, node.unpaid.p50)],
      ["latency p99", ms(node.paid.p99), ms(node.unpaid.p99), ratio(node.paid.p99, node.unpaid.p99)],
    ],
    ["", "paid (gateway + orchestrator)", "unpaid baseline", "paid/unpaid"],
  );
  const g = node.gateway;
  const o = node.orchestrator;
  const stepRow = (name: string, f: { n: number; p50: number; p99: number }) => [
    name,
    f.n,
    ms(f.p50),
    ms(f.p99),
    ratio(f.p50, node.paid.p50),
  ];
  printTable(
    "Payment work per request (raw in-process samples, wall time of the synchronous code); share: p50 / paid request p50",
    [
      stepRow("gateway: stage + sign + encode headers", g.work),
      stepRow("  nonce reservation (store, per block)", g.nonces),
      stepRow("  balance persist after the job (store)", g.balance),
      stepRow("orchestrator: decode + check + processPayment", o.work),
      stepRow("  commit credit/nonces/winners (store)", o.commit),
      stepRow("yardstick (baseline): 1 bare secp256k1 recover", node.recover),
    ],
    ["step", "samples", "p50", "p99", "share"],
  );
  const met = (x: number) => (x <= 0.5 ? "met" : "NOT met");
  console.log(
    `  target: payment work <= 0.5 ms at p99 on each side: gateway ${ms(g.work.p99)} (${met(g.work.p99)}), orchestrator ${ms(o.work.p99)} (${met(o.work.p99)}); store commits are I/O, reported apart`,
  );
}

if (want("persistent")) printPersistent(await benchPersistent());
