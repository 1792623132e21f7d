// WAV for runners: the duration reader (the protocol's, as a runner error) and a 16-bit PCM writer.
import { endianness } from "node:os";
import { LivepayError, wavDuration, type WavDuration } from "@livepay/protocol";
import { badRequest } from "./errors.js";

const LITTLE_ENDIAN = endianness() === "LE";

export type WavInfo = WavDuration;

/**
 * Measures a WAV file with the protocol's reader (`wavDuration`, the one the payer checks quotes
 * with, so both sides bill the same milliseconds), as a runner `BAD_REQUEST` on anything else.
 *
 * @example
 * parseWav(bytes).durationMs // 1500n for 1.5 s of audio
 */
export function parseWav(bytes: Uint8Array): WavInfo {
  try {
    return wavDuration(bytes);
  } catch (e) {
    if (e instanceof LivepayError) throw badRequest(e.message, e.details && { ...e.details });
    throw e;
  }
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
