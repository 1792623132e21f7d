import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes, utf8 } from "../bytes/hex.js";
import { checksumAddress } from "../bytes/address.js";
import { hmacSha256, hmacSha256Js } from "./hmacSha256.js";
import { keccak256, keccak256Js, keccakReady } from "./keccak256.js";
import { personalHash } from "./personalHash.js";
import { recoverHashedMessageSigner, signHashedMessage } from "./personalSign.js";
import {
  SignatureError,
  nativeSecp256k1Available,
  privateKeyToAddress,
  recoverDigestSigner,
  secp256k1Backend,
  signDigest,
  useSecp256k1Backend,
  type Secp256k1Backend,
} from "./secp256k1.js";

const SENDER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SENDER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const initial = secp256k1Backend();
afterEach(() => useSecp256k1Backend(initial));

it("loads the native addon on this machine", () => {
  // CI machines are Linux x64 where the addon ships prebuilt; losing it would cost ~10x in throughput.
  expect(nativeSecp256k1Available()).toBe(true);
});

it("keccak256 is Ethereum's Keccak, not SHA3", () => {
  expect(bytesToHex(keccak256(utf8("abc")))).toBe(
    "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45",
  );
  expect(bytesToHex(keccak256(utf8("foo")))).toBe(
    "0x41b1a0649752af1b28b3dc29a1556eee781e4a4c3a1f7f53f90fa834de098c4d",
  );
});

describe.each<Secp256k1Backend>(["native", "js"])("%s backend", (which) => {
  it("recovers go-livepeer's verify_test vector and rejects its bad variants", () => {
    useSecp256k1Backend(which);
    const msg = hexToBytes("b7da355477356fc4c47fcabcf232dc77a6db9b07b7e48b76261cc55cc8fbabb3");
    const sig = hexToBytes(
      "206443228e8f784bc3a122de0d85eb3ebff82d6a79cca26c7eeb907099a6404f6dff57bc6828f28bd6cd073c89d94cf3364204679ed8365fa45b5ee6af19a9841c",
    );
    expect(recoverDigestSigner(personalHash(msg), sig)).toBe("0x3baddb1eee2105893136a3f96c8a963e9c6309d6");
    const highS = hexToBytes(
      "e742ff452d41413616a5bf43fe15dd88294e983d3d36206c2712f39083d638bde0a0fc89be718fbc1033e1d30d78be1c68081562ed2e97af876f286f3453231d1b",
    );
    expect(() => recoverDigestSigner(personalHash(msg), highS)).toThrow("signature s value too high");
    expect(() => recoverDigestSigner(personalHash(msg), sig.subarray(0, 64))).toThrow(
      "invalid signature length",
    );
    const badV = new Uint8Array(65);
    badV[64] = 0xe5;
    expect(() => recoverDigestSigner(personalHash(msg), badV)).toThrow("signature v value must be 27 or 28");
    const zero = new Uint8Array(65);
    zero[64] = 27;
    expect(() => recoverDigestSigner(personalHash(msg), zero)).toThrow(SignatureError);
  });

  it("produces the D1 GetOrchestrator info signature byte for byte", () => {
    useSecp256k1Backend(which);
    const message = utf8(checksumAddress(SENDER));
    expect(checksumAddress(SENDER)).toBe("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    expect(bytesToHex(personalHash(keccak256(message)))).toBe(
      "0xf074936dd977c94afc63c17c070306255d3725c737aeba74ed58961f48f7bde9",
    );
    const sig = signHashedMessage(message, SENDER_KEY);
    expect(bytesToHex(sig)).toBe(
      "0x47d66008c2c5b0671b8e7b43b62245ae9c4ba5f6ff7e94328b68eb45090cb1080815dec67a20bdec15ce794c9ce271fa8e6552d6b0976ab7a0b92d5516b32ef31c",
    );
    expect(recoverHashedMessageSigner(message, sig)).toBe(SENDER);
    expect(privateKeyToAddress(SENDER_KEY)).toBe(SENDER);
  });
});

it("native and pure-JS produce identical signatures and recover the same signer", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.integer({ min: 1, max: 2 ** 30 }),
      (d, k) => {
        const key = new Uint8Array(32);
        new DataView(key.buffer).setUint32(28, k);
        useSecp256k1Backend("native");
        const a = signDigest(d, key);
        const ra = recoverDigestSigner(d, a);
        useSecp256k1Backend("js");
        const b = signDigest(d, key);
        const rb = recoverDigestSigner(d, b);
        expect(bytesToHex(a)).toBe(bytesToHex(b));
        expect(ra).toBe(rb);
        expect(ra).toBe(privateKeyToAddress(key));
      },
    ),
    { numRuns: 200 },
  );
});

it("HMAC-SHA256: Node's OpenSSL path equals the pure-JS path (RFC 4231 case 2 and random inputs)", () => {
  expect(bytesToHex(hmacSha256(utf8("Jefe"), utf8("what do ya want for nothing?")))).toBe(
    "0x5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 100 }),
      fc.uint8Array({ maxLength: 300 }),
      (k, m) => {
        expect(bytesToHex(hmacSha256(k, m))).toBe(bytesToHex(hmacSha256Js(k, m)));
      },
    ),
  );
});

it("keccak256: the WebAssembly path equals the pure-JS path", async () => {
  await keccakReady();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (m) => {
      expect(bytesToHex(keccak256(m))).toBe(bytesToHex(keccak256Js(m)));
    }),
  );
});
