// Reads the pixel size of an input image from its header (PNG, JPEG, WebP, GIF) without decoding
// it: image-to-image bills input width × height, so the size must be known before the job runs.
import { badRequest } from "./errors.js";

export interface ImageSize {
  readonly format: "png" | "jpeg" | "webp" | "gif";
  readonly width: number;
  readonly height: number;
}

/**
 * Width and height of a PNG, JPEG, WebP or GIF image, from its header. Throws `BAD_REQUEST` when
 * the format is unknown or the header is truncated.
 *
 * @example
 * probeImageSize(pngBytes) // { format: "png", width: 512, height: 512 }
 */
export function probeImageSize(bytes: Uint8Array): ImageSize {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = (format: ImageSize["format"], width: number, height: number): ImageSize => {
    if (width < 1 || height < 1) throw badRequest(`${format} image has a zero dimension`);
    return { format, width, height };
  };
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString("latin1", 12, 16) === "IHDR") {
    return size("png", b.readUInt32BE(16), b.readUInt32BE(20));
  }
  if (
    b.length >= 10 &&
    (b.toString("latin1", 0, 6) === "GIF87a" || b.toString("latin1", 0, 6) === "GIF89a")
  ) {
    return size("gif", b.readUInt16LE(6), b.readUInt16LE(8));
  }
  if (b.length >= 30 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WEBP") {
    const kind = b.toString("latin1", 12, 16);
    if (kind === "VP8X") return size("webp", b.readUIntLE(24, 3) + 1, b.readUIntLE(27, 3) + 1);
    if (kind === "VP8L" && b[20] === 0x2f) {
      const bits = b.readUInt32LE(21);
      return size("webp", (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
    }
    if (kind === "VP8 ") return size("webp", b.readUInt16LE(26) & 0x3fff, b.readUInt16LE(28) & 0x3fff);
    throw badRequest("unsupported WebP variant");
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) return jpegSize(b);
  throw badRequest("image format not recognised (PNG, JPEG, WebP or GIF expected)");
}

function jpegSize(b: Buffer): ImageSize {
  let off = 2;
  while (off + 4 <= b.length) {
    if (b[off] !== 0xff) throw badRequest("JPEG marker expected", { offset: off });
    const marker = b[off + 1]!;
    if (marker === 0xff) {
      off += 1; // fill byte
      continue;
    }
    // Stand-alone markers carry no length.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      off += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // end of image or start of scan: no frame header seen
    const length = b.readUInt16BE(off + 2);
    if (length < 2) throw badRequest("JPEG segment length invalid", { offset: off });
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (off + 9 > b.length) break;
      const height = b.readUInt16BE(off + 5);
      const width = b.readUInt16BE(off + 7);
      if (width < 1 || height < 1) throw badRequest("JPEG image has a zero dimension");
      return { format: "jpeg", width, height };
    }
    off += 2 + length;
  }
  throw badRequest("JPEG frame header not found");
}
