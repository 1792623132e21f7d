// A small WAV (RIFF/WAVE) reader that measures duration exactly, and a 16-bit PCM writer.
import { endianness } from "node:os";
import { badRequest } from "./errors.js";

const LITTLE_ENDIAN = endianness() === "LE";

/** WAV encodings whose frames are fixed-size, so `frames = data bytes / block align`. */
const FIXED_FRAME_FORMATS = new Set([1 /* PCM */, 3 /* IEEE float */, 6 /* A-law */, 7 /* mu-law */, 0xfffe]);

export interface WavInfo {
  readonly formatTag: number;
  readonly channels: number;
  readonly sampleRate: number;
  readonly bitsPerSample: number;
  readonly blockAlign: number;
  /** Offset and length of the sample data actually present in the file. */
  readonly dataOffset: number;
  readonly dataBytes: number;
  /** Sample frames (one sample per channel each). */
  readonly frames: bigint;
  /** Duration in whole milliseconds, rounded up: a started millisecond counts. */
  readonly durationMs: bigint;
}

/**
 * Parses a RIFF/WAVE header and measures its duration from the sample data present (a `data`
 * size larger than the file, as streaming writers leave it, is cut to what is there).
 * Compressed encodings need a `fact` chunk. Throws `BAD_REQUEST` for anything else.
 *
 * @example
 * parseWav(bytes).durationMs // 1500n for 1.5 s of audio
 */
export function parseWav(bytes: Uint8Array): WavInfo {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 12 || b.toString("latin1", 0, 4) !== "RIFF" || b.toString("latin1", 8, 12) !== "WAVE") {
    throw badRequest("audio is not a WAV file (expected a RIFF/WAVE header)");
  }
  let off = 12;
  let fmt:
    | { formatTag: number; channels: number; sampleRate: number; blockAlign: number; bitsPerSample: number }
    | undefined;
  let factFrames: bigint | undefined;
  while (off + 8 <= b.length) {
    const id = b.toString("latin1", off, off + 4);
    const size = b.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > b.length) throw badRequest("WAV fmt chunk is truncated");
      let formatTag = b.readUInt16LE(body);
      if (formatTag === 0xfffe && size >= 40 && body + 26 <= b.length) formatTag = b.readUInt16LE(body + 24); // sub-format GUID's first two bytes
      fmt = {
        formatTag,
        channels: b.readUInt16LE(body + 2),
        sampleRate: b.readUInt32LE(body + 4),
        blockAlign: b.readUInt16LE(body + 12),
        bitsPerSample: b.readUInt16LE(body + 14),
      };
      if (fmt.channels === 0 || fmt.sampleRate === 0 || fmt.blockAlign === 0) {
        throw badRequest("WAV fmt chunk has a zero channel count, sample rate or block align", { ...fmt });
      }
    } else if (id === "fact" && size >= 4 && body + 4 <= b.length) {
      factFrames = BigInt(b.readUInt32LE(body));
    } else if (id === "data") {
      if (!fmt) throw badRequest("WAV data chunk comes before the fmt chunk");
      const dataBytes = Math.min(size, b.length - body);
      let frames: bigint;
      if (FIXED_FRAME_FORMATS.has(fmt.formatTag)) frames = BigInt(Math.floor(dataBytes / fmt.blockAlign));
      else if (factFrames !== undefined) frames = factFrames;
      else
        throw badRequest("unsupported WAV encoding (compressed without a fact chunk)", {
          formatTag: fmt.formatTag,
        });
      const rate = BigInt(fmt.sampleRate);
      return { ...fmt, dataOffset: body, dataBytes, frames, durationMs: (frames * 1000n + rate - 1n) / rate };
    }
    off = body + size + (size & 1); // chunks are padded to an even size
  }
  throw badRequest(fmt ? "WAV file has no data chunk" : "WAV file has no fmt chunk");
}

/**
 * Encodes 16-bit little-endian PCM samples (interleaved when `channels > 1`) as a WAV file.
 *
 * @example
 * const wav = encodeWavPcm16(new Int16Array(16000), 16000); // one second of silence
 */
export function encodeWavPcm16(samples: Int16Array, sampleRate: number, channels = 1): Buffer {
  const dataBytes = samples.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write("RIFF", 0, "latin1");
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write("WAVE", 8, "latin1");
  out.write("fmt ", 12, "latin1");
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * channels * 2, 28); // byte rate
  out.writeUInt16LE(channels * 2, 32); // block align
  out.writeUInt16LE(16, 34);
  out.write("data", 36, "latin1");
  out.writeUInt32LE(dataBytes, 40);
  if (LITTLE_ENDIAN) out.set(new Uint8Array(samples.buffer, samples.byteOffset, dataBytes), 44);
  else for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i]!, 44 + i * 2);
  return out;
}
