import { describe, expect, it } from "vitest";
import { encodeWavPcm16, parseWav } from "./wav.js";

function wavHeader(opts: {
  formatTag?: number;
  channels?: number;
  rate?: number;
  bits?: number;
  blockAlign?: number;
  dataSize: number;
  extraChunk?: Buffer;
}): Buffer {
  const channels = opts.channels ?? 1;
  const bits = opts.bits ?? 16;
  const fmt = Buffer.alloc(24);
  fmt.write("fmt ", 0, "latin1");
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(opts.formatTag ?? 1, 8);
  fmt.writeUInt16LE(channels, 10);
  fmt.writeUInt32LE(opts.rate ?? 8000, 12);
  fmt.writeUInt32LE(((opts.rate ?? 8000) * channels * bits) / 8, 16);
  fmt.writeUInt16LE(opts.blockAlign ?? (channels * bits) / 8, 20);
  fmt.writeUInt16LE(bits, 22);
  const dataHead = Buffer.alloc(8);
  dataHead.write("data", 0, "latin1");
  dataHead.writeUInt32LE(opts.dataSize, 4);
  const head = Buffer.from("RIFF\0\0\0\0WAVE", "latin1");
  return Buffer.concat([head, fmt, opts.extraChunk ?? Buffer.alloc(0), dataHead]);
}

describe("WAV", () => {
  it("measures PCM duration exactly", () => {
    const wav = encodeWavPcm16(new Int16Array(24000), 16000); // 1.5 s
    const info = parseWav(wav);
    expect(info.durationMs).toBe(1500n);
    expect(info.frames).toBe(24000n);
    expect([info.channels, info.sampleRate, info.blockAlign]).toEqual([1, 16000, 2]);
  });

  it("counts frames, not samples, for stereo and rounds a started millisecond up", () => {
    const stereo = encodeWavPcm16(new Int16Array(2 * 44101), 44100, 2);
    expect(parseWav(stereo).frames).toBe(44101n);
    expect(parseWav(stereo).durationMs).toBe(1001n); // 1000.0227 ms
    expect(parseWav(encodeWavPcm16(new Int16Array(1), 44100)).durationMs).toBe(1n);
    expect(parseWav(encodeWavPcm16(new Int16Array(0), 44100)).durationMs).toBe(0n);
  });

  it("skips unknown chunks with odd-size padding and cuts an oversized data size to the file", () => {
    const list = Buffer.concat([
      Buffer.from("LIST", "latin1"),
      Buffer.from([3, 0, 0, 0]),
      Buffer.from("abc\0", "latin1"),
    ]);
    const head = wavHeader({ rate: 8000, dataSize: 0xffffffff, extraChunk: list });
    const wav = Buffer.concat([head, Buffer.alloc(8000 * 2)]); // 1 s present
    expect(parseWav(wav).durationMs).toBe(1000n);
  });

  it("uses the fact chunk for compressed encodings and rejects them without one", () => {
    const fact = Buffer.concat([
      Buffer.from("fact", "latin1"),
      Buffer.from([4, 0, 0, 0]),
      Buffer.from([0x40, 0x1f, 0, 0]),
    ]); // 8000 frames
    const adpcm = Buffer.concat([
      wavHeader({ formatTag: 0x11, rate: 8000, bits: 4, blockAlign: 256, dataSize: 100, extraChunk: fact }),
      Buffer.alloc(100),
    ]);
    expect(parseWav(adpcm).durationMs).toBe(1000n);
    const bare = Buffer.concat([
      wavHeader({ formatTag: 0x11, rate: 8000, bits: 4, blockAlign: 256, dataSize: 100 }),
      Buffer.alloc(100),
    ]);
    expect(() => parseWav(bare)).toThrow(/unsupported WAV encoding/);
  });

  it("rejects non-WAV input with a clear error", () => {
    expect(() => parseWav(Buffer.from("ID3\x03\x00\x00\x00 mp3 data"))).toThrow(/not a WAV file/);
    expect(() => parseWav(new Uint8Array(0))).toThrow(/not a WAV file/);
    const noData = wavHeader({ dataSize: 0 }).subarray(0, 36);
    expect(() => parseWav(noData)).toThrow(/no data chunk/);
  });
});
