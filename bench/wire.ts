// Wire-format throughput: encode and decode of a Livepeer-Payment header carrying 10 tickets
// (protobuf + base64 + domain conversion, the work a gateway and an orchestrator do per request).
// Baseline in the same run: JSON.stringify / JSON.parse of the same payment (bigints as strings).
import { decodePaymentHeader, encodePaymentHeader, type Hex, type Payment } from "@livepay/protocol";
import { medianRate } from "./stats.js";

/** A Payment like a Go gateway sends: D2 ticket params, 10 tickets with 65-byte signatures. */
export function benchPayment(tickets = 10): Payment {
  return {
    ticketParams: {
      recipient: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
      faceValue: 12_000_000_000_000_000n,
      winProb: 77194726158210796949047323339125271902179989777093709359638392000000000n,
      recipientRandHash: "0x2aad9be4d3937d8f6bb30b5a3f9f3f19138a56efa8727e268558c9993a286264",
      seed: 0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20n,
      expirationBlock: 19_000_040n,
    },
    sender: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    expirationParams: {
      creationRound: 3500n,
      creationRoundBlockHash: "0x41b1a0649752af1b28b3dc29a1556eee781e4a4c3a1f7f53f90fa834de098c4d",
    },
    ticketSenderParams: Array.from({ length: tickets }, (_, i) => ({
      senderNonce: BigInt(i + 1),
      sig: `0x${(i + 1).toString(16).padStart(2, "0").repeat(64)}1b` as Hex,
    })),
    expectedPrice: { pricePerUnit: 1200n, pixelsPerUnit: 1n, capability: 0, constraint: "" },
  };
}

export interface WireBenchRow {
  headerChars: number;
  encode: number;
  decode: number;
  jsonEncode: number;
  jsonDecode: number;
}

const toJson = (p: Payment) =>
  JSON.stringify(p, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

/** Payment header encodes and decodes per second, with the JSON baseline. */
export function benchWire(ms = 700): WireBenchRow {
  const payment = benchPayment();
  const header = encodePaymentHeader(payment);
  const json = toJson(payment);
  return {
    headerChars: header.length,
    encode: medianRate(() => encodePaymentHeader(payment), ms),
    decode: medianRate(() => decodePaymentHeader(header), ms),
    jsonEncode: medianRate(() => toJson(payment), ms),
    jsonDecode: medianRate(() => JSON.parse(json), ms),
  };
}
