import { LivepayError } from "@livepay/protocol";

/** An amount string that is not a valid, non-negative wei quantity. */
export class AmountError extends LivepayError {}

const MAX_UINT256 = (1n << 256n) - 1n;
const WEI_PER_UNIT = { wei: 1n, gwei: 10n ** 9n, eth: 10n ** 18n } as const;
const DECIMALS = { wei: 0, gwei: 9, eth: 18 } as const;
type Unit = keyof typeof WEI_PER_UNIT;

// digits, optional fraction, optional unit; whitespace allowed only between number and unit.
const AMOUNT_RE = /^(\d+)(?:\.(\d+))?\s*([A-Za-z]*)$/;

/**
 * Parses an amount to wei exactly (bigint arithmetic, never floating point). Accepts ETH
 * ("0.5eth", "0.5 ETH"), gwei ("3gwei") or wei ("1000wei", or a bare integer, which is wei).
 * Rejects negatives, more decimals than the unit allows (18 for ETH, 9 for gwei, none for wei),
 * exponents, separators and values above 2^256 - 1, with an `AmountError` saying why.
 *
 * @example parseAmount("0.5 ETH") // 500000000000000000n
 */
export function parseAmount(input: string): bigint {
  if (typeof input !== "string") throw new AmountError("AMOUNT_INVALID", "amount must be a string");
  const text = input.trim();
  if (text === "") throw new AmountError("AMOUNT_EMPTY", "amount is empty");
  if (text.startsWith("-")) {
    throw new AmountError("AMOUNT_NEGATIVE", `amount must not be negative: "${input}"`, { input });
  }
  const m = AMOUNT_RE.exec(text);
  if (!m) {
    throw new AmountError(
      "AMOUNT_INVALID",
      `invalid amount "${input}": expected e.g. "0.5eth", "0.5 ETH", "3gwei", "1000wei" or a whole number of wei`,
      { input },
    );
  }
  const [, whole, fraction = "", unitText] = m;
  const unit = (unitText === "" ? "wei" : unitText!.toLowerCase()) as Unit;
  if (!(unit in WEI_PER_UNIT)) {
    throw new AmountError("AMOUNT_UNIT", `unknown unit "${unitText}" in "${input}": use eth, gwei or wei`, {
      input,
    });
  }
  const decimals = DECIMALS[unit];
  if (fraction.length > decimals) {
    const what =
      decimals === 0 ? `${unit} amounts must be whole numbers` : `${unit} has at most ${decimals} decimals`;
    throw new AmountError("AMOUNT_PRECISION", `too many decimals in "${input}": ${what}`, { input });
  }
  const wei =
    BigInt(whole!) * WEI_PER_UNIT[unit] + (fraction === "" ? 0n : BigInt(fraction.padEnd(decimals, "0")));
  if (wei > MAX_UINT256)
    throw new AmountError("AMOUNT_RANGE", `amount "${input}" exceeds 2^256 - 1 wei`, { input });
  return wei;
}

/**
 * Formats wei as an exact decimal ETH string without trailing zeros.
 * @example formatEth(1500000000000000000n) // "1.5"
 */
export function formatEth(wei: bigint): string {
  const sign = wei < 0n ? "-" : "";
  const abs = wei < 0n ? -wei : wei;
  const whole = abs / WEI_PER_UNIT.eth;
  const fraction = (abs % WEI_PER_UNIT.eth).toString().padStart(18, "0").replace(/0+$/, "");
  return `${sign}${whole}${fraction === "" ? "" : `.${fraction}`}`;
}

/**
 * Formats wei for people: exact ETH plus the wei count.
 * @example formatAmount(10n ** 18n) // "1 ETH (1000000000000000000 wei)"
 */
export function formatAmount(wei: bigint): string {
  return `${formatEth(wei)} ETH (${wei} wei)`;
}
