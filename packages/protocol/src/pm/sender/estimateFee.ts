import { InvalidInputError } from "../../errors.js";
import { Rational } from "../../money/rational.js";

/**
 * go-livepeer's `pixelEstimateMultiplier`: the float64 1.02 taken exactly by `big.Rat.SetFloat64`,
 * i.e. the binary double 0x3FF051EB851EB852 = 2296835809958953 / 2^51, not 51/50.
 */
export const PIXEL_ESTIMATE_MULTIPLIER = Rational.of(2296835809958953n, 2251799813685248n);

/** Frame rate go-livepeer assumes for a passthrough profile (framerate 0). Its docs say 120; the code uses 60. */
export const PASSTHROUGH_FPS = 60;

/** An output rendition as the fee estimate sees it (go-livepeer `ffmpeg.VideoProfile`). */
export interface VideoProfileSize {
  width: number;
  height: number;
  /** Frames per second numerator; 0 or absent means passthrough (60). */
  framerate?: number;
  /** Frames per second denominator; 0 or absent means 1. */
  framerateDen?: number;
}

function count(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidInputError("INVALID_VIDEO_PROFILE", `${field} must be a non-negative integer`, {
      field,
    });
  }
  return value;
}

function price(value: Rational | bigint): Rational {
  if (typeof value !== "bigint" && !(value instanceof Rational)) {
    throw new InvalidInputError("INVALID_PRICE", "price must be a bigint or Rational");
  }
  return Rational.from(value);
}

/**
 * Output pixels a transcoding segment is charged for: `Σ width * height * ceil(fps) * ceil(duration)`,
 * with `fps = framerate / framerateDen` in float64 as Go computes it.
 * @example transcodeOutputPixels(2.0, [{ width: 256, height: 144, framerate: 30 }]) // 2211840n
 */
export function transcodeOutputPixels(
  durationSeconds: number,
  profiles: readonly VideoProfileSize[],
): bigint {
  if (typeof durationSeconds !== "number" || !Number.isFinite(durationSeconds) || durationSeconds < 0) {
    throw new InvalidInputError("INVALID_DURATION", "segment duration must be a finite non-negative number");
  }
  const seconds = BigInt(Math.ceil(durationSeconds));
  let pixels = 0n;
  for (const p of profiles) {
    const w = count(p.width, "width");
    const h = count(p.height, "height");
    const num = count(p.framerate ?? 0, "framerate") || PASSTHROUGH_FPS;
    const den = count(p.framerateDen ?? 0, "framerateDen") || 1;
    pixels += BigInt(w) * BigInt(h) * BigInt(Math.ceil(num / den)) * seconds;
  }
  return pixels;
}

/**
 * The gateway's fee estimate for a transcoding segment (go-livepeer `estimateFee`, spec §3.5):
 * `outputPixels * 1.02 * price`, exact, with 1.02 the binary double `PIXEL_ESTIMATE_MULTIPLIER`.
 * @example estimateTranscodeFee(2.0, [{ width: 256, height: 144, framerate: 30 }], 3n) // 2211840 * 1.02 * 3
 */
export function estimateTranscodeFee(
  durationSeconds: number,
  profiles: readonly VideoProfileSize[],
  pricePerPixel: Rational | bigint,
): Rational {
  const p = price(pricePerPixel);
  return PIXEL_ESTIMATE_MULTIPLIER.mul(transcodeOutputPixels(durationSeconds, profiles)).mul(p);
}

/**
 * The gateway's fee for an AI request (go-livepeer `estimateAIFee`): `units * price`, exact. Units per
 * pipeline are in spec §3.5 (e.g. text-to-image: height * width * images; llm: max_tokens).
 * @example estimateAIFee(512n * 512n, Rational.of(1n, 100n)) // 65536/25
 */
export function estimateAIFee(units: bigint | number, pricePerUnit: Rational | bigint): Rational {
  const u = typeof units === "bigint" ? units : Number.isSafeInteger(units) ? BigInt(units) : -1n;
  if (u < 0n) throw new InvalidInputError("INVALID_UNITS", "units must be a non-negative integer");
  return price(pricePerUnit).mul(u);
}
