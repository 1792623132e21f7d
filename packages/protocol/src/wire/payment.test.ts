import { describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes, type Hex } from "../bytes/hex.js";
import { WireError } from "./errors.js";
import { decodePayment, encodePayment, type Payment } from "./payment.js";

// Values of spec §8.3 D2/D3: three tickets of one batch, as a Go gateway would send them.
const RECIPIENT = "70997970c51812dc3a010c7d01b50e0d17dc79c8";
const SENDER = "f39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const FACE_VALUE = "2aa1efb94e0000"; // 12000000000000000
const WIN_PROB = "0b2f4fc0794908cf232ff78625902416a7530755a66c5788c4a773d4b000"; // 30 bytes
const RAND_HASH = "2aad9be4d3937d8f6bb30b5a3f9f3f19138a56efa8727e268558c9993a286264";
const SEED = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
const EXP_BLOCK = "0121eae8"; // 19000040
const BLOCK_HASH = "41b1a0649752af1b28b3dc29a1556eee781e4a4c3a1f7f53f90fa834de098c4d"; // keccak256("foo")
const SIGS = [
  "88f48764dc44e75deca25f41d6ffdaf0bf8e086a5dae8f01c752bf9ae9c0697250a43cd423229fbafe1912fdcc8fb0cd654103b47df961f5050c7038fc31a1681c",
  "c9f37f2d0530ab4a6bce2ce988d1cddde08747eb8a2a824b2fa2f0adb65b021858d0075fb546f409e7f8b9d5d594ebc40913b6ae4ba227b0117b4f3b3b03bbe51b",
  "a4877211ef0ed4ea3f259ebd931b05c692d6058e2926a969cb355fa4d8341709720d0192df085f17f931e38f64264a05d13ef043bcc965a90e1bc679d562c0311c",
];

const d3Payment: Payment = {
  ticketParams: {
    recipient: `0x${RECIPIENT}`,
    faceValue: 12_000_000_000_000_000n,
    winProb: 77194726158210796949047323339125271902179989777093709359638392000000000n,
    recipientRandHash: `0x${RAND_HASH}`,
    seed: BigInt(`0x${SEED}`),
    expirationBlock: 19_000_040n,
  },
  sender: `0x${SENDER}`,
  expirationParams: { creationRound: 3500n, creationRoundBlockHash: `0x${BLOCK_HASH}` },
  ticketSenderParams: SIGS.map((s, i) => ({ senderNonce: BigInt(i + 1), sig: `0x${s}` as Hex })),
  expectedPrice: { pricePerUnit: 1200n, pixelsPerUnit: 1n, capability: 0, constraint: "" },
};

// Hand-assembled protobuf, field by field (tag, length, value), in ascending field order.
const d3Bytes = [
  "0a8901", // 1 ticket_params, 137 bytes
  `0a14${RECIPIENT}`, //   1 recipient
  `1207${FACE_VALUE}`, //   2 face_value (minimal bytes)
  `1a1e${WIN_PROB}`, //   3 win_prob
  `2220${RAND_HASH}`, //   4 recipient_rand_hash
  `2a20${SEED}`, //   5 seed
  `3204${EXP_BLOCK}`, //   6 expiration_block; 7 expiration_params left unset, as Go gateways do
  `1214${SENDER}`, // 2 sender
  `1a25`, // 3 expiration_params, 37 bytes
  `08ac1b`, //   1 creation_round 3500 (varint)
  `1220${BLOCK_HASH}`, //   2 creation_round_block_hash
  ...SIGS.map((s, i) => `2245080${i + 1}1241${s}`), // 4 ticket_sender_params: nonce, 65-byte sig
  "2a0508b0091001", // 5 expected_price: pricePerUnit 1200, pixelsPerUnit 1
].join("");

describe("Payment protobuf", () => {
  it("encodes the D3 batch byte for byte as go-livepeer does", () => {
    expect(bytesToHex(encodePayment(d3Payment))).toBe(`0x${d3Bytes}`);
  });

  it("decodes Go's bytes to the domain Payment and back to the same bytes", () => {
    const decoded = decodePayment(hexToBytes(d3Bytes));
    expect(decoded).toStrictEqual(d3Payment);
    expect(bytesToHex(encodePayment(decoded))).toBe(`0x${d3Bytes}`);
  });

  it("writes a set but empty sub-message (Go emits 0x2a 0x00) and omits zero scalars", () => {
    const p: Payment = {
      sender: `0x${SENDER}`,
      ticketSenderParams: [{ senderNonce: 0n, sig: "0x" }],
      expectedPrice: { pricePerUnit: 0n, pixelsPerUnit: 0n, capability: 0, constraint: "" },
    };
    expect(bytesToHex(encodePayment(p))).toBe(`0x1214${SENDER}22002a00`);
    expect(decodePayment(encodePayment(p))).toStrictEqual(p);
  });

  it("omits zero integers of ticket params (minBytes(0) is empty) and keeps field 7 when set", () => {
    const p: Payment = {
      ticketParams: {
        recipient: `0x${RECIPIENT}`,
        faceValue: 0n,
        winProb: 0n,
        recipientRandHash: `0x${RAND_HASH}`,
        seed: 0n,
        expirationBlock: 256n,
        expirationParams: { creationRound: 0n, creationRoundBlockHash: `0x${"00".repeat(32)}` },
      },
      sender: `0x${SENDER}`,
      ticketSenderParams: [],
    };
    const hex = `0a600a14${RECIPIENT}2220${RAND_HASH}320201003a221220${"00".repeat(32)}1214${SENDER}`;
    expect(bytesToHex(encodePayment(p))).toBe(`0x${hex}`);
    expect(decodePayment(hexToBytes(hex))).toStrictEqual(p);
  });

  it("reads integers with leading zero bytes like Go's SetBytes and re-encodes them minimally", () => {
    const withZeros = `0a3e0a14${RECIPIENT}120400000102${"2220" + RAND_HASH}1214${SENDER}`;
    const p = decodePayment(hexToBytes(withZeros));
    expect(p.ticketParams?.faceValue).toBe(258n);
    expect(bytesToHex(encodePayment(p))).toBe(
      `0x0a3c0a14${RECIPIENT}12020102${"2220" + RAND_HASH}1214${SENDER}`,
    );
  });

  it("encodes a negative creation round as a 10-byte varint (Go int64)", () => {
    const p: Payment = {
      sender: `0x${SENDER}`,
      expirationParams: { creationRound: -1n, creationRoundBlockHash: `0x${BLOCK_HASH}` },
      ticketSenderParams: [],
    };
    expect(bytesToHex(encodePayment(p))).toBe(`0x1214${SENDER}1a2d08ffffffffffffffffff011220${BLOCK_HASH}`);
    expect(decodePayment(encodePayment(p))).toStrictEqual(p);
  });

  it("keeps fields it does not know, raw, and writes them back after the known ones", () => {
    const hex = `1214${SENDER}c83e07`; // field 1001 varint 7
    const p = decodePayment(hexToBytes(hex));
    expect(p.unknownFields).toBe("0xc83e07");
    expect(bytesToHex(encodePayment(p))).toBe(`0x${hex}`);
  });
});

function wireError(f: () => unknown): WireError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    return e as WireError;
  }
  throw new Error("expected a WireError");
}

describe("Payment decode rejects bad input with a typed error", () => {
  const cases: [string, string, string][] = [
    ["missing sender", "", "INVALID_FIELD"],
    ["19-byte sender", `1213${SENDER.slice(2)}`, "INVALID_FIELD"],
    ["21-byte sender", `1215${SENDER}00`, "INVALID_FIELD"],
    ["recipient of 19 bytes", `0a370a13${RECIPIENT.slice(2)}2220${RAND_HASH}1214${SENDER}`, "INVALID_FIELD"],
    ["missing recipientRandHash", `0a160a14${RECIPIENT}1214${SENDER}`, "INVALID_FIELD"],
    [
      "face value over 256 bits",
      `0a5b0a14${RECIPIENT}1221${"01" + "00".repeat(32)}2220${RAND_HASH}1214${SENDER}`,
      "INVALID_FIELD",
    ],
    ["block hash of 31 bytes", `1214${SENDER}1a21121f${BLOCK_HASH.slice(2)}`, "INVALID_FIELD"],
    ["sender sent as a varint (wrong wire type)", `1005`, "INVALID_PROTOBUF"],
    ["ticket_sender_params sent as fixed32", `2501020304`, "INVALID_PROTOBUF"],
    ["nonce sent as bytes", `1214${SENDER}22030a0101`, "INVALID_PROTOBUF"],
    ["truncated sender", `1214${SENDER.slice(0, 20)}`, "INVALID_PROTOBUF"],
    ["length past the end of a sub-message", `1214${SENDER}2a0408b009`, "INVALID_PROTOBUF"],
    ["absurd length", `12ffffffff0f`, "INVALID_PROTOBUF"],
    ["11-byte varint", `08${"ff".repeat(10)}01`, "INVALID_PROTOBUF"],
    ["field number 0", `0001`, "INVALID_PROTOBUF"],
    ["start group (wire type 3)", `1214${SENDER}cb3ecc3e`, "INVALID_PROTOBUF"],
    ["wire type 7", `0f`, "INVALID_PROTOBUF"],
    ["invalid UTF-8 in expected_price.constraint", `1214${SENDER}2a042202c328`, "INVALID_PROTOBUF"],
  ];
  it.each(cases)("%s", (_name, hex, code) => {
    expect(wireError(() => decodePayment(hexToBytes(hex))).code).toBe(code);
  });

  it("rejects more than 600 tickets (TOO_MANY_TICKETS) and accepts 600", () => {
    const ticket = `2245${"0801"}1241${SIGS[0]}`;
    expect(decodePayment(hexToBytes(`1214${SENDER}` + ticket.repeat(600))).ticketSenderParams).toHaveLength(
      600,
    );
    expect(wireError(() => decodePayment(hexToBytes(`1214${SENDER}` + ticket.repeat(601)))).code).toBe(
      "TOO_MANY_TICKETS",
    );
  });

  it("rejects input over MAX_PAYMENT_BYTES before parsing", () => {
    const e = wireError(() => decodePayment(new Uint8Array(49153)));
    expect(e.code).toBe("MESSAGE_TOO_LARGE");
  });

  it("rejects non-bytes input", () => {
    expect(wireError(() => decodePayment("0x12" as unknown as Uint8Array)).code).toBe("INVALID_PROTOBUF");
  });
});

describe("Payment encode validates its input", () => {
  const base = (): Payment => structuredClone(d3Payment);
  const cases: [string, (p: Payment) => void][] = [
    ["short sender", (p) => (p.sender = "0x1234")],
    ["sender without 0x", (p) => (p.sender = SENDER as Hex)],
    ["negative face value", (p) => (p.ticketParams!.faceValue = -1n)],
    ["face value of 2^256", (p) => (p.ticketParams!.faceValue = 1n << 256n)],
    ["nonce above uint32", (p) => (p.ticketSenderParams[0]!.senderNonce = 1n << 32n)],
    ["odd-length signature hex", (p) => (p.ticketSenderParams[0]!.sig = "0x123")],
    ["price above int64", (p) => (p.expectedPrice!.pricePerUnit = 1n << 63n)],
    ["fractional capability", (p) => (p.expectedPrice!.capability = 1.5)],
    ["lone surrogate in constraint", (p) => (p.expectedPrice!.constraint = "\ud800")],
    ["31-byte block hash", (p) => (p.expirationParams!.creationRoundBlockHash = `0x${BLOCK_HASH.slice(2)}`)],
    ["unknownFields reusing a declared field number", (p) => (p.unknownFields = "0x1000")],
    ["tickets not an array", (p) => (p.ticketSenderParams = {} as unknown as Payment["ticketSenderParams"])],
  ];
  it.each(cases)("%s", (_name, mutate) => {
    const p = base();
    mutate(p);
    expect(wireError(() => encodePayment(p)).code).toBe("INVALID_FIELD");
  });

  it("accepts mixed-case hex and emits lowercase on decode", () => {
    const p = base();
    p.sender = "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    expect(decodePayment(encodePayment(p)).sender).toBe(`0x${SENDER}`);
  });
});
