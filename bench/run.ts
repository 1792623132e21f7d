// `npm run bench`: every benchmark of the project, each figure beside a baseline measured in the same run.
import { keccakReady, nativeSecp256k1Available } from "@livepay/protocol";
import { fmtRate, printTable } from "./stats.js";
import { benchTickets } from "./tickets.js";
import { benchWire } from "./wire.js";

const ratio = (a: number, b: number) => `${((a / b) * 100).toFixed(0)} %`;

console.log(
  `livepay benchmarks — node ${process.version}, one core (single-threaded), native secp256k1: ${nativeSecp256k1Available()}`,
);

// The benchmarks are synchronous loops: let the WebAssembly Keccak finish instantiating first.
await keccakReady();
const native = benchTickets("native");
const js = benchTickets("js", 500);
printTable(
  "Tickets per second on one core (baseline: bare secp256k1 on a 32-byte digest, same backend, same run)",
  [
    ["bare sign (baseline)", fmtRate(native.rawSign), fmtRate(js.rawSign), ratio(native.rawSign, js.rawSign)],
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

const wire = benchWire();
printTable(
  `Livepeer-Payment header with 10 tickets (${wire.headerChars} base64 chars); baseline: JSON of the same payment`,
  [
    ["encode", fmtRate(wire.encode), fmtRate(wire.jsonEncode), ratio(wire.encode, wire.jsonEncode)],
    ["decode", fmtRate(wire.decode), fmtRate(wire.jsonDecode), ratio(wire.decode, wire.jsonDecode)],
  ],
  ["operation", "protobuf header", "JSON baseline", "header/JSON"],
);
