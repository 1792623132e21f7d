// Wire-format throughput: encode and decode of a Livepeer-Payment header carrying 10 tickets
// (protobuf + base64 + domain conversion, the work a gateway and an orchestrator do per request).
// Run alone: npx tsx packages/protocol/bench/wire.ts
import { decodePaymentHeader, encodePaymentHeader, type Hex, type Payment } from "../src/index.js";

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

function perSecond(f: () => unknown, minMs: number): number {
  for (let i = 0; i < 200; i++) f(); // warm up the JIT
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (let i = 0; i < 100; i++) f();
    n += 100;
    t = performance.now();
  }
  return Math.round((n * 1000) / (t - t0));
}

/**
 * Header encodes and decodes per second, one core, for a 10-ticket Payment.
 * @example const { encodesPerSec, decodesPerSec } = benchWire()
 */
export function benchWire(minMs = 1000): { encodesPerSec: number; decodesPerSec: number } {
  const payment = benchPayment(10);
  const header = encodePaymentHeader(payment);
  return {
    encodesPerSec: perSecond(() => encodePaymentHeader(payment), minMs),
    decodesPerSec: perSecond(() => decodePaymentHeader(header), minMs),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const header = encodePaymentHeader(benchPayment(10));
  console.log(`10-ticket Livepeer-Payment header: ${header.length} characters`);
  console.log(benchWire());
}
