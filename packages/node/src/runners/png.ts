// A tiny PNG encoder (8-bit RGB, no interlace, filter 0) and a strict PNG reader, enough to
// produce the synthetic runner's images and to check any PNG's structure.
import { deflateSync } from "node:zlib";
import { crc32 } from "./crc32.js";
import { badRequest } from "./errors.js";

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  out.set(data, 8);
  // The CRC covers the chunk type and data, not the length.
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encodes an 8-bit RGB image. `rowAt(y)` returns row `y` as `width*3` bytes; returning the same
 * buffer for many rows is fine (rows are copied), which keeps banded images cheap.
 *
 * @example
 * const png = encodePngRgb(2, 1, () => Uint8Array.of(255, 0, 0, 0, 0, 255));
 */
export function encodePngRgb(width: number, height: number, rowAt: (y: number) => Uint8Array): Buffer {
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    width > 0x7fffffff
  ) {
    throw new RangeError(`invalid PNG size ${width}x${height}`);
  }
  const stride = 1 + width * 3;
  const raw = Buffer.alloc(stride * height); // filter byte 0 (None) starts each row
  for (let y = 0; y < height; y++) {
    const row = rowAt(y);
    if (row.length !== width * 3)
      throw new RangeError(`row ${y} has ${row.length} bytes, expected ${width * 3}`);
    raw.set(row, y * stride + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour RGB
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  // Level 1: synthetic images are highly repetitive, so speed matters more than ratio.
  const idat = deflateSync(raw, { level: 1 });
  return Buffer.concat([
    Buffer.from(PNG_SIGNATURE),
    chunk("IHDR", ihdr),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

export interface PngChunkInfo {
  readonly type: string;
  readonly offset: number;
  readonly length: number;
}

export interface PngInfo {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colorType: number;
  readonly interlace: number;
  readonly chunks: readonly PngChunkInfo[];
  /** Concatenated IDAT payloads (still deflated). */
  readonly idat: Buffer;
}

/**
 * Parses a whole PNG strictly: signature, chunk lengths, every CRC, IHDR first, IDAT present,
 * IEND last. Throws `BAD_REQUEST` naming the first defect.
 *
 * @example
 * const { width, height } = readPng(bytes);
 */
export function readPng(bytes: Uint8Array): PngInfo {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 8 || !PNG_SIGNATURE.every((v, i) => b[i] === v))
    throw badRequest("not a PNG (bad signature)");
  const chunks: PngChunkInfo[] = [];
  const idat: Buffer[] = [];
  let off = 8;
  let header: Omit<PngInfo, "chunks" | "idat"> | undefined;
  let ended = false;
  while (off < b.length) {
    if (ended) throw badRequest("PNG has data after IEND");
    if (off + 12 > b.length) throw badRequest("PNG chunk header truncated", { offset: off });
    const length = b.readUInt32BE(off);
    const type = b.toString("latin1", off + 4, off + 8);
    if (length > 0x7fffffff || off + 12 + length > b.length)
      throw badRequest("PNG chunk truncated", { type, offset: off });
    const crc = b.readUInt32BE(off + 8 + length);
    if (crc32(b.subarray(off + 4, off + 8 + length)) !== crc)
      throw badRequest("PNG chunk CRC mismatch", { type, offset: off });
    const data = b.subarray(off + 8, off + 8 + length);
    if (chunks.length === 0 && type !== "IHDR") throw badRequest("PNG does not start with IHDR");
    if (type === "IHDR") {
      if (chunks.length !== 0 || length !== 13) throw badRequest("PNG IHDR misplaced or wrong size");
      header = {
        width: data.readUInt32BE(0),
        height: data.readUInt32BE(4),
        bitDepth: data[8]!,
        colorType: data[9]!,
        interlace: data[12]!,
      };
      if (header.width === 0 || header.height === 0) throw badRequest("PNG has a zero dimension");
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      ended = true;
    }
    chunks.push({ type, offset: off, length });
    off += 12 + length;
  }
  if (!header) throw badRequest("PNG has no IHDR");
  if (idat.length === 0) throw badRequest("PNG has no IDAT");
  if (!ended) throw badRequest("PNG has no IEND");
  return { ...header, chunks, idat: Buffer.concat(idat) };
}
