import { describe, expect, it } from "vitest";
import type { Hex } from "../bytes/hex.js";
import { WireError } from "./errors.js";
import {
  PAYMENT_HEADER,
  SEGMENT_HEADER,
  decodePaymentHeader,
  decodeSegmentHeader,
  encodePaymentHeader,
  encodeSegmentHeader,
} from "./headers.js";
import { MAX_PAYMENT_HEADER_BYTES, MAX_PAYMENT_TICKET_SENDER_PARAMS } from "./limits.js";
import type { Payment } from "./payment.js";
import type { SegData } from "./segData.js";
import { EMPTY_SEGMENT_HASH } from "./segmentCredentials.js";

const SENDER: Hex = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

function payment(tickets: number): Payment {
  return {
    ticketParams: {
      recipient: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
      faceValue: 12_000_000_000_000_000n,
      winProb: 77194726158210796949047323339125271902179989777093709359638392000000000n,
      recipientRandHash: "0x2aad9be4d3937d8f6bb30b5a3f9f3f19138a56efa8727e268558c9993a286264",
      seed: (1n << 255n) + 12345n,
      expirationBlock: 19_000_040n,
    },
    sender: SENDER,
    expirationParams: {
      creationRound: 3500n,
      creationRoundBlockHash: "0x41b1a0649752af1b28b3dc29a1556eee781e4a4c3a1f7f53f90fa834de098c4d",
    },
    ticketSenderParams: Array.from({ length: tickets }, (_, i) => ({
      senderNonce: BigInt(1_000_000 + i), // 3-byte varints: larger than the nonces of a real session
      sig: `0x${"ab".repeat(64)}1c` as Hex,
    })),
    expectedPrice: {
      pricePerUnit: 1200n,
      pixelsPerUnit: 1n,
      capability: 27,
      constraint: "ByteDance/SDXL-Lightning",
    },
  };
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    return (e as WireError).code;
  }
  throw new Error("expected a WireError");
}

describe("Livepeer-Payment header", () => {
  it("names the headers as go-livepeer does", () => {
    expect(PAYMENT_HEADER).toBe("Livepeer-Payment");
    expect(SEGMENT_HEADER).toBe("Livepeer-Segment");
  });

  it("is padded standard base64 of the protobuf, and round-trips", () => {
    const p = payment(3);
    const h = encodePaymentHeader(p);
    expect(h).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
    expect(h.length % 4).toBe(0);
    expect(decodePaymentHeader(h)).toStrictEqual(p);
    expect(encodePaymentHeader(decodePaymentHeader(h))).toBe(h);
  });

  it("stays small: 10 tickets ~1.3 KB, 100 tickets ~10 KB, 600 tickets under the 64 KiB cap", () => {
    const sizes = [10, 100, 600].map((n) => encodePaymentHeader(payment(n)).length);
    expect(sizes[0]).toBeLessThan(1_500);
    expect(sizes[1]).toBeLessThan(10_500);
    expect(sizes[2]).toBeLessThan(MAX_PAYMENT_HEADER_BYTES);
  });

  it("refuses more tickets than the cap, on encode and decode", () => {
    expect(code(() => encodePaymentHeader(payment(MAX_PAYMENT_TICKET_SENDER_PARAMS + 1)))).toBe(
      "TOO_MANY_TICKETS",
    );
  });

  it("checks the size before decoding anything", () => {
    // Invalid base64 as well as too long: the size check must come first.
    expect(code(() => decodePaymentHeader("!".repeat(MAX_PAYMENT_HEADER_BYTES + 1)))).toBe(
      "HEADER_TOO_LARGE",
    );
    expect(code(() => decodePaymentHeader("!"))).toBe("INVALID_BASE64");
  });

  it("refuses to produce an oversized header", () => {
    const p = payment(1);
    p.ticketSenderParams[0]!.sig = `0x${"00".repeat(50_000)}`;
    expect(code(() => encodePaymentHeader(p))).toBe("HEADER_TOO_LARGE");
  });

  it("rejects non-string headers and empty ones with typed errors", () => {
    expect(code(() => decodePaymentHeader(undefined as unknown as string))).toBe("INVALID_BASE64");
    expect(code(() => decodePaymentHeader(""))).toBe("INVALID_FIELD"); // no sender
  });
});

describe("Livepeer-Segment header", () => {
  it("round-trips SegData, all fields", () => {
    const seg: SegData = {
      manifestId: "27_ByteDance/SDXL-Lightning",
      seq: 0n,
      hash: EMPTY_SEGMENT_HASH,
      profiles: "0x696e76616c6964",
      sig: `0x${"cd".repeat(65)}`,
      duration: 2000,
      capabilities: { bitstring: [3n], mandatories: [1n], capacities: new Map([[27, 4]]), version: "0.9.1" },
      authToken: { token: `0x${"01".repeat(32)}`, sessionId: "s1", expiration: 1_700_000_000n },
      calcPerceptualHash: true,
      storage: ["0x0801"],
      fullProfiles: [],
      fullProfiles2: [],
      fullProfiles3: ["0x0a0131"],
      segmentParameters: "0x",
      forceSessionReinit: true,
    };
    const h = encodeSegmentHeader(seg);
    expect(decodeSegmentHeader(h)).toStrictEqual(seg);
    expect(encodeSegmentHeader(decodeSegmentHeader(h))).toBe(h);
  });

  it("checks the size first", () => {
    expect(code(() => decodeSegmentHeader("=".repeat(65_537)))).toBe("HEADER_TOO_LARGE");
  });
});
