// A small deterministic PRNG (xoshiro128**) seeded from SHA-256, for synthetic outputs that must
// be identical for identical requests.
import { createHash } from "node:crypto";

export class Prng {
  private s: Uint32Array;

  /** Seeds from 16 bytes (all-zero input is replaced, xoshiro needs a non-zero state). */
  constructor(seed: Uint8Array) {
    const s = new Uint32Array(4);
    for (let i = 0; i < 4; i++)
      s[i] =
        (seed[i * 4]! | (seed[i * 4 + 1]! << 8) | (seed[i * 4 + 2]! << 16) | (seed[i * 4 + 3]! << 24)) >>> 0;
    if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 0x9e3779b9;
    this.s = s;
  }

  /**
   * A PRNG seeded by SHA-256 of `material`.
   *
   * @example
   * Prng.fromMaterial("request-json").nextInt(10) // same value for the same material
   */
  static fromMaterial(material: string | Uint8Array): Prng {
    return new Prng(createHash("sha256").update(material).digest());
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform integer in [0, n) (n ≤ 2^32; the tiny modulo bias is irrelevant for test data). */
  nextInt(n: number): number {
    return this.nextU32() % n;
  }

  /** Uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 0x100000000;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * Hex SHA-256 of a string or bytes.
 *
 * @example
 * sha256Hex("abc").slice(0, 8) // "ba7816bf"
 */
export function sha256Hex(material: string | Uint8Array): string {
  return createHash("sha256").update(material).digest("hex");
}
