import { describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes, utf8 } from "../bytes/hex.js";
import { WireError } from "./errors.js";
import { decodeCapabilities, encodeCapabilities, type Capabilities } from "./capabilities.js";
import { decodeOrchestratorInfo, encodeOrchestratorInfo, type OrchestratorInfo } from "./orchestratorInfo.js";
import { decodeOrchestratorRequest, encodeOrchestratorRequest } from "./orchestratorRequest.js";
import { decodePaymentResult, encodePaymentResult } from "./paymentResult.js";
import { decodePriceInfo, encodePriceInfo } from "./priceInfo.js";
import { decodeAuthToken, encodeAuthToken } from "./authToken.js";

const RECIPIENT = "70997970c51812dc3a010c7d01b50e0d17dc79c8";
const SENDER = "f39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const RAND_HASH = "2aad9be4d3937d8f6bb30b5a3f9f3f19138a56efa8727e268558c9993a286264";
const SEED = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
const BLOCK_HASH = "41b1a0649752af1b28b3dc29a1556eee781e4a4c3a1f7f53f90fa834de098c4d";
const TOKEN = "aa".repeat(32);
const hex = (s: string) => bytesToHex(utf8(s)).slice(2);

const caps: Capabilities = {
  bitstring: [1n << 27n],
  mandatories: [],
  capacities: new Map([[27, 1]]),
  version: "0.9.1",
  constraints: {
    minVersion: "",
    perCapability: new Map([
      [27, { models: new Map([["m", { warm: true, capacity: 1, runnerVersion: "", capacityInUse: 0 }]]) }],
    ]),
  },
};

// Capabilities, hand-assembled: packed bitstring, map entries (key and value always written).
const capsBytes = [
  "0a0480808040", // 1 bitstring, packed: [2^27]
  "1a04081b1001", // 3 capacities entry {27: 1}
  `2205${hex("0.9.1")}`, // 4 version
  "2a11", // 5 constraints, 17 bytes
  "120f", //   2 PerCapability entry, 15 bytes
  "081b", //     key 27
  "120b", //     value CapabilityConstraints, 11 bytes
  "0a09", //       1 models entry, 9 bytes
  "0a016d", //         key "m"
  "120408011001", //         value ModelConstraint{warm: true, capacity: 1}
].join("");

const info: OrchestratorInfo = {
  transcoder: "https://127.0.0.1:8935",
  ticketParams: {
    recipient: `0x${RECIPIENT}`,
    faceValue: 12_000_000_000_000_000n,
    winProb: 77194726158210796949047323339125271902179989777093709359638392000000000n,
    recipientRandHash: `0x${RAND_HASH}`,
    seed: BigInt(`0x${SEED}`),
    expirationBlock: 19_000_040n,
    expirationParams: { creationRound: 3500n, creationRoundBlockHash: `0x${BLOCK_HASH}` },
  },
  priceInfo: { pricePerUnit: 1200n, pixelsPerUnit: 1n, capability: 0, constraint: "" },
  address: `0x${RECIPIENT}`,
  capabilities: caps,
  authToken: { token: `0x${TOKEN}`, sessionId: "abc", expiration: 1_700_000_000n },
  hardware: [`0x0a04${hex("test")}`],
  storage: ["0x"],
  capabilitiesPrices: [{ pricePerUnit: 5n, pixelsPerUnit: 1n, capability: 27, constraint: "m" }],
  nodes: ["https://n1"],
};

const infoBytes = [
  `0a16${hex("https://127.0.0.1:8935")}`, // 1 transcoder
  "12b001", // 2 ticket_params, 176 bytes
  `0a14${RECIPIENT}12072aa1efb94e0000`, //   recipient, face_value
  "1a1e0b2f4fc0794908cf232ff78625902416a7530755a66c5788c4a773d4b000", //   win_prob
  `2220${RAND_HASH}2a20${SEED}32040121eae8`, //   recipient_rand_hash, seed, expiration_block
  `3a2508ac1b1220${BLOCK_HASH}`, //   7 expiration_params {3500, hash}
  "1a0508b0091001", // 3 price_info {1200, 1}
  `2214${RECIPIENT}`, // 4 address
  `2a26${capsBytes}`, // 5 capabilities, 38 bytes
  "322d", // 6 auth_token, 45 bytes
  `0a20${TOKEN}1203${hex("abc")}1880e2cfaa06`, //   token, session_id, expiration 1700000000
  `3a060a04${hex("test")}`, // 7 hardware (opaque HardwareInformation bytes)
  "820200", // 32 storage: one empty OSInfo
  `8a020908051001181b22016d`, // 33 capabilities_prices {5, 1, 27, "m"}
  `92020a${hex("https://n1")}`, // 34 nodes
].join("");

function wireError(f: () => unknown): WireError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    return e as WireError;
  }
  throw new Error("expected a WireError");
}

describe("OrchestratorInfo", () => {
  it("encodes every declared field byte for byte (fields 32-34 with two-byte tags)", () => {
    expect(bytesToHex(encodeOrchestratorInfo(info))).toBe(`0x${infoBytes}`);
  });

  it("decodes Go's bytes to the domain object and back to the same bytes", () => {
    const decoded = decodeOrchestratorInfo(hexToBytes(infoBytes));
    expect(decoded).toStrictEqual(info);
    expect(bytesToHex(encodeOrchestratorInfo(decoded))).toBe(`0x${infoBytes}`);
  });

  it("has empty defaults and optional fields for an off-chain orchestrator", () => {
    const bare = decodeOrchestratorInfo(hexToBytes(`0a01${hex("x")}`));
    expect(bare).toStrictEqual({
      transcoder: "x",
      hardware: [],
      storage: [],
      capabilitiesPrices: [],
      nodes: [],
    });
  });

  it("keeps fields a newer orchestrator adds", () => {
    const extra = `${infoBytes}a8021e`; // field 37 varint 30
    const decoded = decodeOrchestratorInfo(hexToBytes(extra));
    expect(decoded.unknownFields).toBe("0xa8021e");
    expect(bytesToHex(encodeOrchestratorInfo(decoded))).toBe(`0x${extra}`);
  });

  it("rejects an address that is not 20 bytes", () => {
    expect(wireError(() => decodeOrchestratorInfo(hexToBytes(`2213${RECIPIENT.slice(2)}`))).code).toBe(
      "INVALID_FIELD",
    );
  });

  it("wraps into PaymentResult at field 16", () => {
    const bare: OrchestratorInfo = {
      transcoder: "x",
      hardware: [],
      storage: [],
      capabilitiesPrices: [],
      nodes: [],
    };
    expect(bytesToHex(encodePaymentResult({ info: bare }))).toBe(`0x8201030a0178`);
    expect(decodePaymentResult(hexToBytes("8201030a0178"))).toStrictEqual({ info: bare });
    expect(decodePaymentResult(new Uint8Array())).toStrictEqual({});
  });
});

describe("Capabilities", () => {
  it("encodes maps as Go does and decodes them to Maps", () => {
    expect(bytesToHex(encodeCapabilities(caps))).toBe(`0x${capsBytes}`);
    expect(decodeCapabilities(hexToBytes(capsBytes))).toStrictEqual(caps);
  });

  it("writes map keys in ascending order and zero map values explicitly", () => {
    const c: Capabilities = {
      bitstring: [],
      mandatories: [],
      capacities: new Map([
        [35, 0],
        [27, 2],
      ]),
      version: "",
    };
    // Go's map entries always carry key and value, zero or not.
    expect(bytesToHex(encodeCapabilities(c))).toBe("0x1a04081b10021a0408231000");
    const back = decodeCapabilities(encodeCapabilities(c));
    expect([...back.capacities]).toStrictEqual([
      [27, 2],
      [35, 0],
    ]);
  });

  it("treats model id __proto__ as an ordinary key", () => {
    const c: Capabilities = {
      bitstring: [],
      mandatories: [],
      capacities: new Map(),
      version: "",
      constraints: {
        minVersion: "1",
        perCapability: new Map([
          [
            27,
            {
              models: new Map([
                ["__proto__", { warm: false, capacity: 3, runnerVersion: "v", capacityInUse: 1 }],
                ["a", { warm: true, capacity: 0, runnerVersion: "", capacityInUse: 0 }],
              ]),
            },
          ],
        ]),
      },
    };
    const back = decodeCapabilities(encodeCapabilities(c));
    expect(back).toStrictEqual(c);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  it("reads unpacked repeated uint64 too (both encodings are valid protobuf)", () => {
    expect(decodeCapabilities(hexToBytes("08010802")).bitstring).toStrictEqual([1n, 2n]);
  });

  it("rejects a map entry whose key has the wrong wire type", () => {
    expect(wireError(() => decodeCapabilities(hexToBytes("1a030a0100"))).code).toBe("INVALID_PROTOBUF");
  });

  it("requires Maps on encode", () => {
    const bad = { ...caps, capacities: { 27: 1 } } as unknown as Capabilities;
    expect(wireError(() => encodeCapabilities(bad)).code).toBe("INVALID_FIELD");
  });
});

describe("OrchestratorRequest, PriceInfo, AuthToken", () => {
  it("round-trip byte for byte", () => {
    const req = `0a14${SENDER}1241${"11".repeat(65)}1a00` + "2001";
    const decoded = decodeOrchestratorRequest(hexToBytes(req));
    expect(decoded).toStrictEqual({
      address: `0x${SENDER}`,
      sig: `0x${"11".repeat(65)}`,
      capabilities: { bitstring: [], mandatories: [], capacities: new Map(), version: "" },
      ignoreCapacityCheck: true,
    });
    expect(bytesToHex(encodeOrchestratorRequest(decoded))).toBe(`0x${req}`);

    const price = "08ffffffffffffffffff0110011803";
    expect(decodePriceInfo(hexToBytes(price))).toStrictEqual({
      pricePerUnit: -1n,
      pixelsPerUnit: 1n,
      capability: 3,
      constraint: "",
    });
    expect(bytesToHex(encodePriceInfo(decodePriceInfo(hexToBytes(price))))).toBe(`0x${price}`);

    const token = `0a02abcd1201781801`;
    expect(decodeAuthToken(hexToBytes(token))).toStrictEqual({
      token: "0xabcd",
      sessionId: "x",
      expiration: 1n,
    });
    expect(bytesToHex(encodeAuthToken(decodeAuthToken(hexToBytes(token))))).toBe(`0x${token}`);
  });

  it("requires the request address", () => {
    expect(wireError(() => decodeOrchestratorRequest(new Uint8Array())).code).toBe("INVALID_FIELD");
  });
});
