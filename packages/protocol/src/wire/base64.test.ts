import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8 } from "../bytes/hex.js";
import { decodeBase64Std, encodeBase64Std } from "./base64.js";
import { WireError } from "./errors.js";

describe("strict standard base64", () => {
  it.each([
    ["", ""],
    ["f", "Zg=="],
    ["fo", "Zm8="],
    ["foo", "Zm9v"],
    ["foob", "Zm9vYg=="],
    ["fooba", "Zm9vYmE="],
    ["foobar", "Zm9vYmFy"],
  ])("RFC 4648 vector %j", (text, b64) => {
    expect(encodeBase64Std(utf8(text))).toBe(b64);
    expect(decodeBase64Std(b64)).toStrictEqual(utf8(text));
  });

  it("uses + and / (not the URL alphabet)", () => {
    expect(encodeBase64Std(new Uint8Array([0xfb, 0xff]))).toBe("+/8=");
    expect(decodeBase64Std("+/8=")).toStrictEqual(new Uint8Array([0xfb, 0xff]));
  });

  it.each([
    ["missing padding", "Zg"],
    ["missing one pad", "Zm8"],
    ["URL-safe alphabet", "-_8="],
    ["whitespace", "Zm9v Zm9v"],
    ["line break", "Zm9v\nZm9v"],
    ["trailing newline", "Zm9v\n"],
    ["padding in the middle", "Zg==Zm9v"],
    ["misplaced padding", "Z=g="],
    ["only padding", "===="],
    ["three pads", "Z==="],
    ["non-zero trailing bits (1 pad)", "Zm9="],
    ["non-zero trailing bits (2 pads)", "Zh=="],
    ["non-ASCII", "Zm9é"],
  ])("rejects %s with INVALID_BASE64", (_name, s) => {
    expect(() => decodeBase64Std(s)).toThrow(WireError);
    try {
      decodeBase64Std(s);
    } catch (e) {
      expect((e as WireError).code).toBe("INVALID_BASE64");
    }
  });

  it("agrees with Node's Buffer on random bytes, and round-trips", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const s = encodeBase64Std(bytes);
        expect(s).toBe(Buffer.from(bytes).toString("base64"));
        expect(decodeBase64Std(s)).toStrictEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it("accepts exactly the canonical encodings: every accepted string re-encodes to itself", () => {
    const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n";
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...chars), maxLength: 16 }), (s) => {
        let bytes: Uint8Array;
        try {
          bytes = decodeBase64Std(s);
        } catch (e) {
          expect(e).toBeInstanceOf(WireError);
          return;
        }
        expect(encodeBase64Std(bytes)).toBe(s);
      }),
      { numRuns: 3000 },
    );
  });
});
