import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex } from "../bytes/hex.js";
import { MAX_UINT256 } from "../bytes/integers.js";
import { encodeBase64Std } from "./base64.js";
import { decodeCapabilities, encodeCapabilities, type Capabilities } from "./capabilities.js";
import { WireError } from "./errors.js";
import {
  decodePaymentHeader,
  decodeSegmentHeader,
  encodePaymentHeader,
  encodeSegmentHeader,
} from "./headers.js";
import { decodeOrchestratorInfo, encodeOrchestratorInfo, type OrchestratorInfo } from "./orchestratorInfo.js";
import { decodeOrchestratorRequest, encodeOrchestratorRequest } from "./orchestratorRequest.js";
import { decodePayment, encodePayment, type Payment } from "./payment.js";
import { decodePaymentResult, encodePaymentResult } from "./paymentResult.js";
import { decodeSegData, encodeSegData, type SegData } from "./segData.js";

// ---- arbitraries of canonical domain values ---------------------------------------------------

const bytesHex = (minLength: number, maxLength: number) =>
  fc.uint8Array({ minLength, maxLength }).map((b) => bytesToHex(b));
const address = bytesHex(20, 20);
const hash32 = bytesHex(32, 32);
const uint256 = fc.oneof(fc.bigInt({ min: 0n, max: MAX_UINT256 }), fc.bigInt({ min: 0n, max: 1000n }));
const int64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const uint64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const uint32 = fc.integer({ min: 0, max: 0xffffffff });
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const text = fc.string({ unit: "grapheme", maxLength: 12 });

// Maps are canonical in ascending key order (what decoding produces).
function sortedMap<K extends number | string, V>(entries: [K, V][], cmp: (a: K, b: K) => number): Map<K, V> {
  const m = new Map<K, V>(entries);
  return new Map([...m].sort((a, b) => cmp(a[0], b[0])));
}
const byCodePoint = (a: string, b: string) => {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
};

// Plain objects, as decoding produces (fast-check may otherwise build null-prototype records).
const plain = { noNullPrototype: true } as const;
const expirationParams = fc.record({ creationRound: int64, creationRoundBlockHash: hash32 }, plain);
const ticketParams = fc.record(
  {
    recipient: address,
    faceValue: uint256,
    winProb: uint256,
    recipientRandHash: hash32,
    seed: uint256,
    expirationBlock: uint256,
    expirationParams,
  },
  {
    ...plain,
    requiredKeys: ["recipient", "faceValue", "winProb", "recipientRandHash", "seed", "expirationBlock"],
  },
);
const priceInfo = fc.record(
  { pricePerUnit: int64, pixelsPerUnit: int64, capability: uint32, constraint: text },
  plain,
);
const authToken = fc.record({ token: bytesHex(0, 40), sessionId: text, expiration: int64 }, plain);
const modelConstraint = fc.record(
  { warm: fc.boolean(), capacity: uint32, runnerVersion: text, capacityInUse: uint32 },
  plain,
);
const capabilities: fc.Arbitrary<Capabilities> = fc.record(
  {
    bitstring: fc.array(uint64, { maxLength: 4 }),
    mandatories: fc.array(uint64, { maxLength: 2 }),
    capacities: fc
      .array(fc.tuple(uint32, uint32), { maxLength: 4 })
      .map((e) => sortedMap(e, (a, b) => a - b)),
    version: text,
    constraints: fc.record(
      {
        minVersion: text,
        perCapability: fc
          .array(
            fc.tuple(
              uint32,
              fc.record(
                {
                  models: fc
                    .array(fc.tuple(fc.oneof(text, fc.constant("__proto__")), modelConstraint), {
                      maxLength: 3,
                    })
                    .map((e) => sortedMap(e, byCodePoint)),
                },
                plain,
              ),
            ),
            { maxLength: 3 },
          )
          .map((e) => sortedMap(e, (a, b) => a - b)),
      },
      plain,
    ),
  },
  { ...plain, requiredKeys: ["bitstring", "mandatories", "capacities", "version"] },
);

const payment: fc.Arbitrary<Payment> = fc.record(
  {
    ticketParams,
    sender: address,
    expirationParams,
    ticketSenderParams: fc.array(
      fc.record({ senderNonce: fc.bigInt({ min: 0n, max: 0xffffffffn }), sig: bytesHex(0, 70) }, plain),
      { maxLength: 8 },
    ),
    expectedPrice: priceInfo,
  },
  { ...plain, requiredKeys: ["sender", "ticketSenderParams"] },
);

const orchestratorInfo: fc.Arbitrary<OrchestratorInfo> = fc.record(
  {
    transcoder: text,
    ticketParams,
    priceInfo,
    address,
    capabilities,
    authToken,
    hardware: fc.array(bytesHex(0, 20), { maxLength: 3 }),
    storage: fc.array(bytesHex(0, 20), { maxLength: 3 }),
    capabilitiesPrices: fc.array(priceInfo, { maxLength: 3 }),
    nodes: fc.array(text, { maxLength: 3 }),
  },
  { ...plain, requiredKeys: ["transcoder", "hardware", "storage", "capabilitiesPrices", "nodes"] },
);

const segData: fc.Arbitrary<SegData> = fc.record(
  {
    manifestId: text,
    seq: int64,
    hash: hash32,
    profiles: bytesHex(0, 10),
    sig: bytesHex(0, 70),
    duration: int32,
    capabilities,
    authToken,
    calcPerceptualHash: fc.boolean(),
    storage: fc.array(bytesHex(0, 10), { maxLength: 2 }),
    fullProfiles: fc.array(bytesHex(0, 10), { maxLength: 2 }),
    fullProfiles2: fc.array(bytesHex(0, 10), { maxLength: 2 }),
    fullProfiles3: fc.array(bytesHex(0, 10), { maxLength: 2 }),
    segmentParameters: bytesHex(0, 10),
    forceSessionReinit: fc.boolean(),
  },
  {
    ...plain,
    requiredKeys: [
      "manifestId",
      "seq",
      "hash",
      "profiles",
      "sig",
      "duration",
      "calcPerceptualHash",
      "storage",
      "fullProfiles",
      "fullProfiles2",
      "fullProfiles3",
      "forceSessionReinit",
    ],
  },
);

// ---- codecs under test ------------------------------------------------------------------------

interface Codec {
  name: string;
  encode(x: never): Uint8Array;
  decode(b: Uint8Array): unknown;
}
const codecs: Codec[] = [
  { name: "Payment", encode: encodePayment, decode: decodePayment },
  { name: "OrchestratorInfo", encode: encodeOrchestratorInfo, decode: decodeOrchestratorInfo },
  { name: "SegData", encode: encodeSegData, decode: decodeSegData },
  { name: "Capabilities", encode: encodeCapabilities, decode: decodeCapabilities },
  { name: "OrchestratorRequest", encode: encodeOrchestratorRequest, decode: decodeOrchestratorRequest },
  { name: "PaymentResult", encode: encodePaymentResult, decode: decodePaymentResult },
];

/** Decodes hostile bytes: only WireError may escape, and whatever decodes must re-encode and round-trip. */
function decodeHostile(c: Codec, bytes: Uint8Array): void {
  let decoded: unknown;
  try {
    decoded = c.decode(bytes);
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
    return;
  }
  const again = c.encode(decoded as never);
  expect(c.decode(again)).toStrictEqual(decoded);
}

const RUNS = 400;

describe("round trips (fast-check)", () => {
  it("Payment: decode(encode(x)) == x, and the encoding is a fixed point", () => {
    fc.assert(
      fc.property(payment, (p) => {
        const b = encodePayment(p);
        const d = decodePayment(b);
        expect(d).toStrictEqual(p);
        expect(bytesToHex(encodePayment(d))).toBe(bytesToHex(b));
        expect(decodePaymentHeader(encodePaymentHeader(p))).toStrictEqual(p);
      }),
      { numRuns: RUNS },
    );
  });

  it("OrchestratorInfo", () => {
    fc.assert(
      fc.property(orchestratorInfo, (info) => {
        const b = encodeOrchestratorInfo(info);
        expect(decodeOrchestratorInfo(b)).toStrictEqual(info);
        expect(bytesToHex(encodeOrchestratorInfo(decodeOrchestratorInfo(b)))).toBe(bytesToHex(b));
        expect(decodePaymentResult(encodePaymentResult({ info }))).toStrictEqual({ info });
      }),
      { numRuns: RUNS },
    );
  });

  it("SegData and the segment header", () => {
    fc.assert(
      fc.property(segData, (s) => {
        const b = encodeSegData(s);
        expect(decodeSegData(b)).toStrictEqual(s);
        expect(bytesToHex(encodeSegData(decodeSegData(b)))).toBe(bytesToHex(b));
        expect(decodeSegmentHeader(encodeSegmentHeader(s))).toStrictEqual(s);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("hostile input throws only WireError (fast-check)", () => {
  it.each(codecs)("$name: random bytes", (c) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => decodeHostile(c, b)),
      { numRuns: 2000 },
    );
  });

  it("headers: random strings and random base64", () => {
    const header = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: "binary", maxLength: 50 }),
      fc.uint8Array({ maxLength: 300 }).map(encodeBase64Std),
    );
    fc.assert(
      fc.property(header, (h) => {
        for (const decode of [decodePaymentHeader, decodeSegmentHeader]) {
          try {
            decode(h);
          } catch (e) {
            if (!(e instanceof WireError)) throw e;
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  type Mutation = {
    kind: "set" | "insert" | "delete" | "truncate" | "dup";
    at: number;
    value: number;
    len: number;
  };
  const mutation: fc.Arbitrary<Mutation> = fc.record({
    kind: fc.constantFrom("set", "insert", "delete", "truncate", "dup"),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
    len: fc.integer({ min: 1, max: 8 }),
  });
  function mutate(bytes: Uint8Array, ms: Mutation[]): Uint8Array {
    let b = Array.from(bytes);
    for (const m of ms) {
      const at = b.length === 0 ? 0 : m.at % b.length;
      if (m.kind === "set" && b.length > 0) b[at] = m.value;
      else if (m.kind === "insert") b.splice(at, 0, m.value);
      else if (m.kind === "delete") b.splice(at, m.len);
      else if (m.kind === "truncate") b = b.slice(0, at);
      else if (m.kind === "dup") b.splice(at, 0, ...b.slice(at, at + m.len));
    }
    return new Uint8Array(b);
  }

  it("mutated valid Payments, OrchestratorInfos and SegData", () => {
    const valid = fc.oneof(
      payment.map((p) => ({ c: codecs[0]!, b: encodePayment(p) })),
      orchestratorInfo.map((i) => ({ c: codecs[1]!, b: encodeOrchestratorInfo(i) })),
      segData.map((s) => ({ c: codecs[2]!, b: encodeSegData(s) })),
    );
    fc.assert(
      fc.property(valid, fc.array(mutation, { minLength: 1, maxLength: 4 }), ({ c, b }, ms) =>
        decodeHostile(c, mutate(b, ms)),
      ),
      { numRuns: 3000 },
    );
  });

  it("mutated valid payment headers", () => {
    fc.assert(
      fc.property(payment, fc.nat(), fc.constantFrom(..."AZaz09+/=-_ \n!é"), (p, at, ch) => {
        const h = encodePaymentHeader(p);
        const i = at % h.length;
        try {
          decodePaymentHeader(h.slice(0, i) + ch + h.slice(i + 1));
        } catch (e) {
          if (!(e instanceof WireError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("pathological shapes", () => {
  it("deeply nested groups are refused without recursion", () => {
    const b = new Uint8Array(40_000).fill(0x0b); // field 1, start group, repeated
    expect(() => decodePayment(b)).toThrow(WireError);
    expect(() => decodeOrchestratorInfo(new Uint8Array(1_000_000).fill(0x5b))).toThrow(WireError);
  });

  it("the deepest nesting the schema allows decodes", () => {
    // PaymentResult > info > capabilities > constraints > PerCapability > models > ModelConstraint
    const model = "0801"; // warm
    const models = "0a07" + "0a0161" + "1202" + model; // entry {"a": model}
    const perCapability = "120d" + "081b" + "1209" + models; // entry {27: {models}}
    const hex = "8201" + "13" + "2a11" + "2a0f" + perCapability;
    expect(() =>
      decodePaymentResult(Uint8Array.from(hex.match(/../g)!.map((x) => parseInt(x, 16)))),
    ).not.toThrow();
  });

  it("thousands of repeated empty sub-messages stay cheap", () => {
    const b = new Uint8Array(48_000);
    for (let i = 0; i < b.length; i += 2) b[i] = 0x0a; // ticket_params {} repeated: merged
    const t0 = performance.now();
    expect(() => decodePayment(b)).toThrow(WireError); // no sender / no recipient
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it("a Payment of max size with garbage signatures decodes quickly", () => {
    const sender = "1214" + "11".repeat(20);
    const ticket = "2249" + "08ffffffff0f" + "1241" + "ee".repeat(65);
    const hex = sender + ticket.repeat(600);
    const bytes = Uint8Array.from(hex.match(/../g)!.map((x) => parseInt(x, 16)));
    const t0 = performance.now();
    const p = decodePayment(bytes);
    expect(p.ticketSenderParams).toHaveLength(600);
    expect(p.ticketSenderParams[0]!.senderNonce).toBe(0xffffffffn);
    expect(performance.now() - t0).toBeLessThan(200);
  });
});
