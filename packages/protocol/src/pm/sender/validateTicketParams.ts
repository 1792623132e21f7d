import { InvalidInputError } from "../../errors.js";
import { Rational } from "../../money/rational.js";
import { TicketParamsError } from "../errors.js";
import { ticketEV } from "../winningTicket.js";
import { TicketParamsErrorCode as Code, TicketParamsExpiredError } from "./errors.js";
import { isUnlockingSoon, type SenderInfo } from "./senderInfo.js";
import { normalizeSenderTicketParams, type SenderTicketParams } from "./senderTicketParams.js";

/** Default cap on one ticket's EV, in wei (go-livepeer `-maxTicketEV`). */
export const DEFAULT_MAX_TICKET_EV = 3_000_000_000_000n;
/** Default cap on a batch's total EV, in wei (go-livepeer `-maxTotalEV`). */
export const DEFAULT_MAX_TOTAL_EV = 20_000_000_000_000n;
/** Default divisor of the deposit giving the largest face value accepted (go-livepeer `-depositMultiplier`). */
export const DEFAULT_DEPOSIT_MULTIPLIER = 1n;
/** The sender treats params as expired when `expirationBlock - lastSeenL1Block <= 1` (`paramsExpiryBuffer`). */
export const PARAMS_EXPIRY_BUFFER = 1n;

/** What the sender knows of the chain and its own limits when it checks ticket params. */
export interface TicketParamsContext {
  /** Latest L1 block the sender has seen (on Arbitrum, the L1 number from the L2 header). */
  lastSeenL1Block: bigint;
  lastInitializedRound: bigint;
  /** Cap on one ticket's EV in wei; defaults to `DEFAULT_MAX_TICKET_EV`. */
  maxTicketEV?: Rational | bigint;
  /** Cap on `ev * numTickets` in wei; defaults to `DEFAULT_MAX_TOTAL_EV`. */
  maxTotalEV?: Rational | bigint;
  /** Largest accepted face value is `floor(deposit / depositMultiplier)`; defaults to 1. */
  depositMultiplier?: bigint | number;
  /** The sender's own on-chain info, or the error fetching it (thrown unchanged, as Go returns it). */
  senderInfo: SenderInfo | Error;
}

function depositMultiplierOf(value: bigint | number | undefined): bigint {
  if (value === undefined) return DEFAULT_DEPOSIT_MULTIPLIER;
  const m = typeof value === "bigint" ? value : Number.isSafeInteger(value) ? BigInt(value) : -1n;
  // Go divides by it as an int: 0 would panic, a negative divisor would make every face value "too high".
  if (m < 1n) {
    throw new InvalidInputError(
      "INVALID_DEPOSIT_MULTIPLIER",
      "depositMultiplier must be a positive integer",
      {
        value: String(value),
      },
    );
  }
  return m;
}

function fail(code: string, message: string, details: Record<string, unknown>): never {
  throw new TicketParamsError(code, message, details);
}

/**
 * The gateway's checks before signing `numTickets` tickets against orchestrator params (go-livepeer
 * `sender.validateTicketParams`, spec §3.2), in Go's order and with its exact messages. Throws
 * `TicketParamsExpiredError` (code `TICKET_PARAMS_EXPIRED`) when the params are about to expire: the
 * caller should refresh them. Other failures are `TicketParamsError`s with a code from
 * `TicketParamsErrorCode`; a `senderInfo` that is an `Error` is thrown unchanged. Free params (EV 0)
 * pass without the sender checks, as in Go.
 *
 * @example validateTicketParams(params, 3, { lastSeenL1Block, lastInitializedRound, senderInfo })
 */
export function validateTicketParams(
  params: SenderTicketParams | null | undefined,
  numTickets: number,
  ctx: TicketParamsContext,
): void {
  if (params === null || params === undefined) fail(Code.Nil, "ticketParams is nil", {});
  if (!Number.isSafeInteger(numTickets) || numTickets < 0) {
    throw new InvalidInputError("INVALID_TICKET_COUNT", "numTickets must be a non-negative integer", {
      value: String(numTickets),
    });
  }
  const p = normalizeSenderTicketParams(params);
  const depositMultiplier = depositMultiplierOf(ctx.depositMultiplier);

  if (p.expirationBlock === 0n) fail(Code.ExpirationBlockZero, "ticketParams expiration block is 0", {});
  // Go compares the difference's Int64(); exact bigint arithmetic agrees for any real block numbers.
  if (p.expirationBlock - ctx.lastSeenL1Block <= PARAMS_EXPIRY_BUFFER) {
    throw new TicketParamsExpiredError({
      expirationBlock: p.expirationBlock.toString(),
      lastSeenL1Block: ctx.lastSeenL1Block.toString(),
    });
  }

  const ev = ticketEV(p.faceValue, p.winProb);
  if (ev.sign() <= 0) return;

  // Rejects winProb = 2^256-1 too (EV == faceValue): a certain ticket is not a micropayment.
  if (ev.gte(p.faceValue)) {
    fail(Code.FaceValueTooLow, `ticket faceValue too low faceValue=${p.faceValue}`, {
      faceValue: p.faceValue.toString(),
    });
  }
  const maxTicketEV = Rational.from(ctx.maxTicketEV ?? DEFAULT_MAX_TICKET_EV);
  if (ev.gt(maxTicketEV)) {
    fail(Code.EVTooHigh, `ticket EV ${ev.toFixed(5)} > max ticket EV ${maxTicketEV.toFixed(5)}`, {
      ev: ev.toString(),
      maxTicketEV: maxTicketEV.toString(),
    });
  }

  const info = ctx.senderInfo;
  if (info instanceof Error) throw info;
  if (isUnlockingSoon(info.withdrawRound, ctx.lastInitializedRound)) {
    fail(Code.SenderUnlocking, "unable to validate sender: deposit and reserve is set to unlock soon", {
      withdrawRound: info.withdrawRound.toString(),
      lastInitializedRound: ctx.lastInitializedRound.toString(),
    });
  }
  if (info.reserve.fundsRemaining === 0n) fail(Code.NoSenderReserve, "no sender reserve", {});
  if (info.deposit === 0n) fail(Code.NoSenderDeposit, "no sender deposit", {});

  const totalEV = ev.mul(BigInt(numTickets));
  const maxTotalEV = Rational.from(ctx.maxTotalEV ?? DEFAULT_MAX_TOTAL_EV);
  if (totalEV.gt(maxTotalEV)) {
    fail(
      Code.TotalEVTooHigh,
      `total ticket EV ${totalEV.toFixed(5)} for ${numTickets} tickets > max total ticket EV ${maxTotalEV.toFixed(5)}`,
      { totalEV: totalEV.toString(), numTickets, maxTotalEV: maxTotalEV.toString() },
    );
  }

  // big.Int.Div is Euclidean division; with a positive divisor and deposit >= 0 it is the floor.
  const maxFaceValue = info.deposit / depositMultiplier;
  if (p.faceValue > maxFaceValue) {
    fail(Code.FaceValueTooHigh, `ticket faceValue ${p.faceValue} > max faceValue ${maxFaceValue}`, {
      faceValue: p.faceValue.toString(),
      maxFaceValue: maxFaceValue.toString(),
    });
  }
}
