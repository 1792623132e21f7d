// Audio-to-text bills decoded input milliseconds (the unit table). A WAV file's duration is in its
// header, so both sides can measure it without decoding: the payee before it quotes, the payer to
// check the quote and the receipt. Pure TypeScript (DataView), browser-safe.
import { InvalidInputError } from "../errors.js";

/** WAV encodings whose sample frames have a fixed size, so `frames = data bytes / block align`. */
const FIXED_FRAME_FORMATS = new Set([1 /* PCM */, 3 /* IEEE float */, 6 /* A-law */, 7 /* mu-law */, 0xfffe]);

/** What a WAV header says about its audio. */
export interface WavDuration {
  formatTag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  /** Sample frames present in the file (one sample per channel each). */
  frames: bigint;
  /** Duration in milliseconds, rounded up (`msFromSamples`). */
  durationMs: bigint;
}

function bad(message: string, details?: Record<string, unknown>): InvalidInputError {
  return new InvalidInputError("INVALID_WAV", message, details);
}

function tag(v: DataView, off: number): string {
  return String.fromCharCode(v.getUint8(off), v.getUint8(off + 1), v.getUint8(off + 2), v.getUint8(off + 3));
}

/**
 * Whether bytes start like a WAV file (`RIFF….WAVE`): the format test before measuring.
 * @example isWav(wavBytes) // true
 */
export function isWav(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return tag(v, 0) === "RIFF" && tag(v, 8) === "WAVE";
}

/**
 * Measures a RIFF/WAVE file from its header: the sample data actually present (a `data` size larger
 * than the file, as streaming writers leave it, counts what is there); compressed encodings need a
 * `fact` chunk. Any other input throws `InvalidInputError` `INVALID_WAV`, never anything else.
 * @example wavDuration(wav).durationMs // 1500n for 1.5 s of audio
 */
export function wavDuration(bytes: Uint8Array): WavDuration {
  if (!isWav(bytes)) throw bad("audio is not a WAV file (expected a RIFF/WAVE header)");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 12;
  let fmt: { formatTag: number; channels: number; sampleRate: number; blockAlign: number } | undefined;
  let factFrames: bigint | undefined;
  while (off + 8 <= v.byteLength) {
    const id = tag(v, off);
    const size = v.getUint32(off + 4, true);
    const body = off + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > v.byteLength) throw bad("WAV fmt chunk is truncated");
      let formatTag = v.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID's first two bytes are the real format.
      if (formatTag === 0xfffe && size >= 40 && body + 26 <= v.byteLength)
        formatTag = v.getUint16(body + 24, true);
      fmt = {
        formatTag,
        channels: v.getUint16(body + 2, true),
        sampleRate: v.getUint32(body + 4, true),
        blockAlign: v.getUint16(body + 12, true),
      };
      if (fmt.channels === 0 || fmt.sampleRate === 0 || fmt.blockAlign === 0) {
        throw bad("WAV fmt chunk has a zero channel count, sample rate or block align", { ...fmt });
      }
    } else if (id === "fact" && size >= 4 && body + 4 <= v.byteLength) {
      factFrames = BigInt(v.getUint32(body, true));
    } else if (id === "data") {
      if (!fmt) throw bad("WAV data chunk comes before the fmt chunk");
      const dataBytes = Math.min(size, v.byteLength - body);
      let frames: bigint;
      if (FIXED_FRAME_FORMATS.has(fmt.formatTag)) frames = BigInt(Math.floor(dataBytes / fmt.blockAlign));
      else if (factFrames !== undefined) frames = factFrames;
      else
        throw bad("unsupported WAV encoding (compressed without a fact chunk)", { formatTag: fmt.formatTag });
      const rate = BigInt(fmt.sampleRate);
      // Rounded up as units.ts msFromSamples does (not imported: units.ts imports this module).
      return { ...fmt, frames, durationMs: (frames * 1000n + rate - 1n) / rate };
    }
    off = body + size + (size & 1); // chunks are padded to an even size
  }
  throw bad(fmt ? "WAV file has no data chunk" : "WAV file has no fmt chunk");
}
