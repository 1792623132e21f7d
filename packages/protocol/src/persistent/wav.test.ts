import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../errors.js";
import { msFromSamples } from "./units.js";
import { isWav, wavDuration } from "./wav.js";

function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}
function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}
function u16(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff];
}
function chunk(id: string, body: number[], declared = body.length): number[] {
  return [...ascii(id), ...u32(declared), ...body, ...(body.length & 1 ? [0] : [])];
}
function fmtBody(formatTag: number, channels: number, rate: number, blockAlign: number, bits = 16): number[] {
  return [
    ...u16(formatTag),
    ...u16(channels),
    ...u32(rate),
    ...u32(rate * blockAlign),
    ...u16(blockAlign),
    ...u16(bits),
  ];
}
function wav(chunks: number[][]): Uint8Array {
  const body = chunks.flat();
  return new Uint8Array([...ascii("RIFF"), ...u32(4 + body.length), ...ascii("WAVE"), ...body]);
}

/** A 16-bit PCM WAV of `frames` frames. */
function pcm(frames: number, rate: number, channels = 1): Uint8Array {
  return wav([
    chunk("fmt ", fmtBody(1, channels, rate, 2 * channels)),
    chunk("data", new Array(frames * 2 * channels).fill(0)),
  ]);
}

function expectWavError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidInputError);
    expect((e as InvalidInputError).code).toBe("INVALID_WAV");
    return;
  }
}

describe("wavDuration", () => {
  it("measures PCM: frames from the data bytes, milliseconds rounded up", () => {
    expect(wavDuration(pcm(16_000, 16_000)).durationMs).toBe(1000n);
    expect(wavDuration(pcm(16_001, 16_000)).durationMs).toBe(1001n);
    expect(wavDuration(pcm(1, 44_100)).durationMs).toBe(1n);
    expect(wavDuration(pcm(0, 8_000)).durationMs).toBe(0n);
    const stereo = wavDuration(pcm(22_050, 44_100, 2));
    expect(stereo).toMatchObject({ channels: 2, sampleRate: 44_100, frames: 22_050n, durationMs: 500n });
  });

  it("skips other chunks (odd sizes padded), cuts a data size larger than the file, reads extensible and fact", () => {
    const withList = wav([
      chunk("fmt ", fmtBody(1, 1, 8000, 2)),
      chunk("LIST", [1, 2, 3]),
      chunk("data", new Array(16_002).fill(0)),
    ]);
    expect(wavDuration(withList).frames).toBe(8001n);
    const streamed = wav([
      chunk("fmt ", fmtBody(1, 1, 8000, 2)),
      chunk("data", new Array(800).fill(0), 0xffffffff),
    ]);
    expect(wavDuration(streamed).durationMs).toBe(50n);
    const ext = [
      ...fmtBody(0xfffe, 1, 8000, 2),
      ...u16(22),
      ...u16(16),
      ...u32(4),
      ...u16(1),
      ...new Array(14).fill(0),
    ];
    expect(wavDuration(wav([chunk("fmt ", ext), chunk("data", new Array(160).fill(0))])).durationMs).toBe(
      10n,
    );
    const adpcm = wav([
      chunk("fmt ", fmtBody(2, 1, 8000, 256, 4)),
      chunk("fact", u32(12_000)),
      chunk("data", new Array(100).fill(0)),
    ]);
    expect(wavDuration(adpcm).durationMs).toBe(1500n);
  });

  it("refuses what it cannot measure with INVALID_WAV", () => {
    const bad = [
      new Uint8Array(0),
      new Uint8Array(ascii("ID3\u0004 not a wav file at all")),
      wav([]),
      wav([chunk("fmt ", fmtBody(1, 1, 8000, 2))]),
      wav([chunk("data", [0, 0]), chunk("fmt ", fmtBody(1, 1, 8000, 2))]),
      wav([chunk("fmt ", fmtBody(1, 0, 8000, 2)), chunk("data", [0, 0])]),
      wav([chunk("fmt ", fmtBody(1, 1, 0, 2)), chunk("data", [0, 0])]),
      wav([chunk("fmt ", [1, 0, 1, 0])]),
      wav([chunk("fmt ", fmtBody(2, 1, 8000, 256, 4)), chunk("data", [0, 0])]),
    ];
    for (const b of bad) expect(() => wavDuration(b)).toThrow(InvalidInputError);
    expect(isWav(bad[1]!)).toBe(false);
    expect(isWav(pcm(1, 8000))).toBe(true);
  });

  it("agrees with msFromSamples for any PCM size", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 1, max: 192_000 }),
        fc.integer({ min: 1, max: 4 }),
        (frames, rate, ch) => {
          const d = wavDuration(pcm(frames, rate, ch));
          expect(d.frames).toBe(BigInt(frames));
          expect(d.durationMs).toBe(msFromSamples(BigInt(frames), BigInt(rate)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("random bytes and random headers never throw anything but INVALID_WAV", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (b) => expectWavError(() => wavDuration(b))),
      { numRuns: 500 },
    );
    // RIFF/WAVE files made of random chunks with random (often lying) sizes, and random fmt fields.
    const anyChunk = fc.record({
      id: fc.constantFrom("fmt ", "data", "fact", "LIST", "junk"),
      body: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 48 }),
      declared: fc.option(fc.nat(), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(anyChunk, { maxLength: 5 }), fc.nat({ max: 8 }), (chunks, cut) => {
        const full = wav(chunks.map((c) => chunk(c.id, c.body, c.declared ?? c.body.length)));
        const b = full.subarray(0, Math.max(12, full.length - cut));
        expectWavError(() => {
          const d = wavDuration(b);
          expect(d.durationMs >= 0n).toBe(true);
        });
      }),
      { numRuns: 1000 },
    );
  });
});
