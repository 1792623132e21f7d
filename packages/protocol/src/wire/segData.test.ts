import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes, utf8, type Hex } from "../bytes/hex.js";
import { keccak256 } from "../crypto/keccak256.js";
import { privateKeyToAddress } from "../crypto/secp256k1.js";
import { authTokenHmac, verifyAuthToken } from "./authTokenHmac.js";
import { WireError } from "./errors.js";
import { createSegData, decodeSegData, encodeSegData, type SegData } from "./segData.js";
import {
  EMPTY_SEGMENT_HASH,
  profilesHex,
  segDataFlatten,
  signSegData,
  verifySegDataSig,
} from "./segmentCredentials.js";

const SENDER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SENDER: Hex = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const EMPTY = EMPTY_SEGMENT_HASH.slice(2);
const SIG = "cd".repeat(65);

function wireError(f: () => unknown): WireError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    return e as WireError;
  }
  throw new Error("expected a WireError");
}

describe("SegData protobuf", () => {
  const seg: SegData = {
    manifestId: "mid1",
    seq: 7n,
    hash: EMPTY_SEGMENT_HASH,
    profiles: "0x696e76616c6964",
    sig: `0x${SIG}`,
    duration: 2000,
    authToken: { token: "0xabcd", sessionId: "x", expiration: 1n },
    calcPerceptualHash: true,
    storage: [],
    fullProfiles: [],
    fullProfiles2: [],
    fullProfiles3: ["0x0a0131"],
    segmentParameters: "0x",
    forceSessionReinit: true,
  };
  const bytes = [
    "0a046d696431", // 1 manifestId "mid1"
    "1007", // 2 seq 7
    `1a20${EMPTY}`, // 3 hash
    "2207696e76616c6964", // 4 profiles "invalid"
    `2a41${SIG}`, // 5 sig
    "30d00f", // 6 duration 2000
    "42090a02abcd1201781801", // 8 auth_token
    "5001", // 10 calc_perceptual_hash
    "9a02030a0131", // 35 fullProfiles3 (opaque VideoProfile)
    "aa0200", // 37 segment_parameters, present and empty
    "b00201", // 38 ForceSessionReinit
  ].join("");

  it("encodes byte for byte and decodes back", () => {
    expect(bytesToHex(encodeSegData(seg))).toBe(`0x${bytes}`);
    expect(decodeSegData(hexToBytes(bytes))).toStrictEqual(seg);
  });

  it("omits segment_parameters when absent (optional field)", () => {
    const { segmentParameters: _omit, ...rest } = seg;
    expect(bytesToHex(encodeSegData(rest))).toBe(`0x${bytes.replace("aa0200", "")}`);
  });

  it("rejects a manifest id that is not UTF-8 and a hash that is not 32 bytes", () => {
    expect(wireError(() => decodeSegData(hexToBytes(`0a01ff1a20${EMPTY}`))).code).toBe("INVALID_FIELD");
    expect(wireError(() => decodeSegData(hexToBytes(`1a1f${EMPTY.slice(2)}`))).code).toBe("INVALID_FIELD");
  });
});

describe("segment credentials (spec §4.3)", () => {
  it("EMPTY_SEGMENT_HASH is keccak256 of the empty string", () => {
    expect(bytesToHex(keccak256(new Uint8Array()))).toBe(EMPTY_SEGMENT_HASH);
  });

  it("flattens as manifestId || u256(seq) || hash || profiles hex", () => {
    expect(bytesToHex(segDataFlatten("mid1", 7n, EMPTY_SEGMENT_HASH))).toBe(
      `0x6d696431${"00".repeat(31)}07${EMPTY}`,
    );
    // The AI case: no manifest id bytes beyond the id, seq 0, empty segment.
    expect(segDataFlatten("27_m", 0n, EMPTY_SEGMENT_HASH)).toHaveLength(4 + 32 + 32);
    // Go writes big.NewInt(seq).Bytes(): the magnitude of a negative seq.
    expect(segDataFlatten("", -7n, EMPTY_SEGMENT_HASH)).toStrictEqual(
      segDataFlatten("", 7n, EMPTY_SEGMENT_HASH),
    );
  });

  it("appends 8 hex characters per profile: the first 4 bytes of keccak256(name)", () => {
    const name = "P240p30fps16x9";
    const h = bytesToHex(keccak256(utf8(name))).slice(2, 10);
    expect(profilesHex([name, name])).toBe(h + h);
    expect(bytesToHex(segDataFlatten("m", 0n, EMPTY_SEGMENT_HASH, [name]).subarray(-8))).toBe(
      bytesToHex(utf8(h)),
    );
  });

  it("createSegData fills Go's defaults for an AI payment, and its header verifies", () => {
    const seg = createSegData({ manifestId: "27_m" });
    expect(seg.hash).toBe(bytesToHex(keccak256(new Uint8Array())));
    expect(new TextDecoder().decode(hexToBytes(seg.profiles))).toBe("invalid");
    const signed = { ...seg, sig: signSegData(seg, SENDER_KEY) };
    expect(verifySegDataSig(decodeSegData(encodeSegData(signed)), SENDER)).toBe(SENDER);
  });

  it("signs and verifies against the payment sender", () => {
    const seg = { manifestId: "27_ByteDance/SDXL-Lightning", seq: 0n, hash: EMPTY_SEGMENT_HASH };
    const sig = signSegData(seg, SENDER_KEY);
    expect(sig).toHaveLength(2 + 130);
    expect(verifySegDataSig({ ...seg, sig }, SENDER)).toBe(SENDER);
    expect(verifySegDataSig({ ...seg, sig }, "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266")).toBe(SENDER);
  });

  it("rejects a signature by someone else, over other data, or malformed, with SEGMENT_SIG_INVALID", () => {
    const seg = { manifestId: "mid", seq: 0n, hash: EMPTY_SEGMENT_HASH };
    const forged = signSegData(seg, OTHER_KEY);
    const e = wireError(() => verifySegDataSig({ ...seg, sig: forged }, SENDER));
    expect(e.code).toBe("SEGMENT_SIG_INVALID");
    expect(e.details?.signer).toBe(privateKeyToAddress(OTHER_KEY));

    const sig = signSegData(seg, SENDER_KEY);
    expect(wireError(() => verifySegDataSig({ ...seg, manifestId: "mid2", sig }, SENDER)).code).toBe(
      "SEGMENT_SIG_INVALID",
    );
    expect(wireError(() => verifySegDataSig({ ...seg, seq: 1n, sig }, SENDER)).code).toBe(
      "SEGMENT_SIG_INVALID",
    );
    expect(wireError(() => verifySegDataSig({ ...seg, sig: "0x" }, SENDER)).code).toBe("SEGMENT_SIG_INVALID");
    expect(wireError(() => verifySegDataSig({ ...seg, sig: sig.slice(0, -2) as Hex }, SENDER)).code).toBe(
      "SEGMENT_SIG_INVALID",
    );
  });
});

describe("auth token", () => {
  it("is HMAC-SHA256(secret, sessionId || minBytes(expiration)), checked against node:crypto", () => {
    const secret = hexToBytes("03" + "00".repeat(31));
    const expected = createHmac("sha256", secret)
      .update(Buffer.concat([Buffer.from("sess-1"), Buffer.from("6553f100", "hex")]))
      .digest("hex");
    expect(authTokenHmac(secret, "sess-1", 1_700_000_000n)).toBe(`0x${expected}`);
    // minBytes(0) is empty: only the session id is hashed.
    const zero = createHmac("sha256", secret).update("s").digest("hex");
    expect(authTokenHmac(bytesToHex(secret), "s", 0n)).toBe(`0x${zero}`);
  });

  it("verifies in go-livepeer's order: missing, invalid, expired", () => {
    const secret = hexToBytes("11".repeat(32));
    const token = { token: authTokenHmac(secret, "s", 100n), sessionId: "s", expiration: 100n };
    expect(() => verifyAuthToken(secret, token, 100n)).not.toThrow();
    expect(wireError(() => verifyAuthToken(secret, undefined, 0n)).code).toBe("AUTH_TOKEN_MISSING");
    expect(wireError(() => verifyAuthToken(secret, { ...token, expiration: 101n }, 0n)).code).toBe(
      "AUTH_TOKEN_INVALID",
    );
    expect(wireError(() => verifyAuthToken(secret, token, 101n)).code).toBe("AUTH_TOKEN_EXPIRED");
    expect(wireError(() => verifyAuthToken(secret, { ...token, token: "0x" }, 0n)).message).toBe(
      "invalid auth token",
    );
  });
});
