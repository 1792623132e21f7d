// The gateway's `persistent` config section: persistent tickets toward orchestrators that support
// them (DESIGN.md § Persistent tickets), either paid by the gateway's own key ("gateway") or relayed
// for self-custody clients that sign their own vouchers ("relay").
import { ConfigError } from "../config/chainOptions.js";
import { AmountError, parseAmount } from "../config/amount.js";

/** `persistent` as written in the gateway config file. */
export interface PersistentGatewayConfigInput {
  /** "off" (default), "gateway" (the gateway's key pays, API keys hold credit), "relay" (self-custody). */
  mode?: "off" | "gateway" | "relay";
  /** PersistentTicketBroker address; default the devnet manifest's `contracts.persistentTicketBroker`. */
  broker?: string;
  /**
   * The gateway's own fee per request, in wei ("0.0001eth" or wei), default 0. A separate, explicit
   * line (DESIGN: never hidden in the quote): reserved and charged to the API key on top of the
   * receipt's charge in "gateway" mode, and the only thing charged to the key in "relay" mode.
   */
  feeWei?: string | number;
  /** Spending policy of the gateway's key in "gateway" mode (wei amounts). */
  policy?: { maxPerRequest?: string | number; maxPerDay?: string | number };
  /** Weight of estimate accuracy in persistent selection, in [0, 1] (default 0.15). */
  accuracyWeight?: number;
  /** Moving-average factor of estimate accuracy, in (0, 1] (default 0.2: the last ~5 requests weigh most). */
  accuracyAlpha?: number;
}

/** The resolved `persistent` section. */
export interface PersistentGatewayConfig {
  mode: "off" | "gateway" | "relay";
  broker: `0x${string}` | undefined;
  feeWei: bigint;
  policy: { maxPerRequest?: bigint; maxPerDay?: bigint };
  accuracyWeight: number;
  accuracyAlpha: number;
}

function bad(field: string, why: string): ConfigError {
  return new ConfigError("CONFIG_GATEWAY", `gateway config: persistent.${field} ${why}`, {
    field: `persistent.${field}`,
  });
}

function wei(v: unknown, field: string): bigint | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v !== "string") throw bad(field, 'must be an amount such as "0.001eth" or "1000" (wei)');
  try {
    return parseAmount(v);
  } catch (e) {
    if (e instanceof AmountError) throw bad(field, `is invalid: ${e.message}`);
    throw e;
  }
}

function fraction(v: unknown, field: string, dflt: number, min: number, minOpen: boolean): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v > 1 || v < min || (minOpen && v === min))
    throw bad(field, `must be a number in ${minOpen ? "(" : "["}${min}, 1]`);
  return v;
}

/**
 * Validates the gateway's `persistent` section and fills the defaults.
 * @example resolvePersistentGatewayConfig({ mode: "gateway", feeWei: "1000" }).feeWei // 1000n
 */
export function resolvePersistentGatewayConfig(input: unknown): PersistentGatewayConfig {
  const i = (input ?? {}) as PersistentGatewayConfigInput;
  if (typeof i !== "object" || Array.isArray(i)) throw bad("", "must be an object");
  const mode = i.mode ?? "off";
  if (mode !== "off" && mode !== "gateway" && mode !== "relay")
    throw bad("mode", 'must be "off", "gateway" or "relay"');
  if (i.broker !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(i.broker))
    throw bad("broker", "must be an address");
  const maxPerRequest = wei(i.policy?.maxPerRequest, "policy.maxPerRequest");
  const maxPerDay = wei(i.policy?.maxPerDay, "policy.maxPerDay");
  return {
    mode,
    broker: i.broker?.toLowerCase() as `0x${string}` | undefined,
    feeWei: wei(i.feeWei, "feeWei") ?? 0n,
    policy: {
      ...(maxPerRequest !== undefined ? { maxPerRequest } : {}),
      ...(maxPerDay !== undefined ? { maxPerDay } : {}),
    },
    accuracyWeight: fraction(i.accuracyWeight, "accuracyWeight", 0.15, 0, false),
    accuracyAlpha: fraction(i.accuracyAlpha, "accuracyAlpha", 0.2, 0, true),
  };
}
