import { normalizeAddress } from "../bytes/address.js";
import type { Hex } from "../bytes/hex.js";
import { Rational } from "../money/rational.js";
import { quotePrice } from "../persistent/charge.js";
import type { Quote } from "../persistent/quote.js";
import { PolicyError } from "./errors.js";

/** What a payer lets its key sign. Every limit is optional; amounts are wei. */
export interface SpendingPolicy {
  /** Largest quote maxCharge approved for one request. */
  maxPerRequest?: bigint;
  /** Most new approval (increase of signed cumulative amounts, i.e. worst-case spend) per rolling 24 hours. */
  maxPerDay?: bigint;
  /** Payee addresses allowed; default any. */
  allowedPayees?: readonly string[];
  /** Model ids allowed; default any. */
  allowedModels?: readonly string[];
  /** Capabilities (pipelines) allowed; default any in the unit table. */
  allowedCapabilities?: readonly string[];
  /** Highest price per unit accepted, per capability (wei per unit, exact: "0.5", "1/3", Rational). */
  maxPricePerUnit?: Readonly<Record<string, Rational | string>>;
}

/** The amounts a policy decision depends on. */
export interface SpendingContext {
  /** approval − signedCumulative: what signing this voucher adds to the worst case. */
  approvalIncrease: bigint;
  /** Approval increases already signed in the last 24 hours. */
  approvedLastDay: bigint;
}

function refuse(code: string, message: string, details: Record<string, unknown>): PolicyError {
  return new PolicyError(code, message, details);
}

/**
 * Enforces a spending policy on a (checked) quote before anything is signed, in this order:
 * payee, capability, model, price, per-request and per-day limits. Throws `PolicyError`.
 * @example checkSpendingPolicy({ maxPerRequest: 10n ** 15n }, quote, { approvalIncrease, approvedLastDay })
 */
export function checkSpendingPolicy(policy: SpendingPolicy, quote: Quote, ctx: SpendingContext): void {
  const payee: Hex = normalizeAddress(quote.payee);
  if (policy.allowedPayees && !policy.allowedPayees.some((p) => normalizeAddress(p) === payee)) {
    throw refuse("POLICY_PAYEE_NOT_ALLOWED", "payee is not allowed by the spending policy", { payee });
  }
  if (policy.allowedCapabilities && !policy.allowedCapabilities.includes(quote.capability)) {
    throw refuse("POLICY_CAPABILITY_NOT_ALLOWED", "capability is not allowed by the spending policy", {
      capability: quote.capability,
    });
  }
  if (policy.allowedModels && !policy.allowedModels.includes(quote.model)) {
    throw refuse("POLICY_MODEL_NOT_ALLOWED", "model is not allowed by the spending policy", {
      model: quote.model,
    });
  }
  const cap = policy.maxPricePerUnit?.[quote.capability];
  if (cap !== undefined) {
    const limit = typeof cap === "string" ? Rational.parse(cap) : cap;
    if (quotePrice(quote).gt(limit)) {
      throw refuse("POLICY_PRICE_TOO_HIGH", "price per unit is above the spending policy's limit", {
        price: `${quote.priceNum}/${quote.priceDen}`,
        limit: limit.toString(),
      });
    }
  }
  if (policy.maxPerRequest !== undefined && quote.maxCharge > policy.maxPerRequest) {
    throw refuse("POLICY_MAX_PER_REQUEST", "quote maxCharge is above the per-request limit", {
      maxCharge: String(quote.maxCharge),
      limit: String(policy.maxPerRequest),
    });
  }
  if (policy.maxPerDay !== undefined && ctx.approvedLastDay + ctx.approvalIncrease > policy.maxPerDay) {
    throw refuse("POLICY_MAX_PER_DAY", "approval would exceed the daily limit", {
      approvedLastDay: String(ctx.approvedLastDay),
      approvalIncrease: String(ctx.approvalIncrease),
      limit: String(policy.maxPerDay),
    });
  }
}
