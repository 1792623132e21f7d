import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { crc32 } from "./crc32.js";
import { isRunnerError } from "./errors.js";
import { encodePngRgb, readPng } from "./png.js";
import { syntheticPng } from "./synthetic.js";

describe("crc32", () => {
  it("matches the standard check value", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
  it("continues across pieces", () => {
    const all = new TextEncoder().encode("hello, world");
    expect(crc32(all.subarray(5), crc32(all.subarray(0, 5)))).toBe(crc32(all));
  });
});

describe("PNG", () => {
  it("round-trips size and pixels through an independent inflate", () => {
    const png = encodePngRgb(3, 2, (y) => Uint8Array.of(y, 1, 2, 3, 4, 5, 6, 7, 8));
    const info = readPng(png);
    expect([info.width, info.height, info.bitDepth, info.colorType, info.interlace]).toEqual([3, 2, 8, 2, 0]);
    expect(info.chunks.map((c) => c.type)).toEqual(["IHDR", "IDAT", "IEND"]);
    const raw = inflateSync(info.idat);
    expect([...raw]).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("synthetic 512x512 is a valid PNG with the right decoded length", () => {
    const png = syntheticPng(512, 512, 1);
    const info = readPng(png);
    expect([info.width, info.height]).toEqual([512, 512]);
    expect(inflateSync(info.idat).length).toBe(512 * (1 + 512 * 3));
    expect(syntheticPng(512, 512, 1).equals(png)).toBe(true);
    expect(syntheticPng(512, 512, 2).equals(png)).toBe(false);
  });

  it("rejects a corrupted CRC, a bad signature and truncation", () => {
    const png = Buffer.from(syntheticPng(8, 8, 3));
    const flipped = Buffer.from(png);
    flipped[40] = flipped[40]! ^ 0xff; // inside IDAT data
    expect(() => readPng(flipped)).toThrow(/CRC mismatch/);
    const sig = Buffer.from(png);
    sig[1] = 0;
    expect(() => readPng(sig)).toThrow(/signature/);
    expect(() => readPng(png.subarray(0, png.length - 6))).toThrow(/truncated/);
    try {
      readPng(sig);
    } catch (e) {
      expect(isRunnerError(e, "BAD_REQUEST")).toBe(true);
    }
  });

  it("encodes 2048x2048 (the synthetic cap) quickly", () => {
    const t = performance.now();
    const info = readPng(syntheticPng(2048, 2048, 9));
    expect([info.width, info.height]).toEqual([2048, 2048]);
    expect(performance.now() - t).toBeLessThan(5000);
  });
});
