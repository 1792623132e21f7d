import type { Hex } from "../bytes/hex.js";
import { normalizeAddress } from "../bytes/address.js";
import { ZERO_HASH } from "./constants.js";
import type { Rational } from "../money/rational.js";
import { recipientRand, recipientRandHash } from "./recipientRand.js";
import { winProbForFaceValue } from "./faceValue.js";

/** L1 blocks ticket params stay valid after the block the orchestrator last saw. */
export const PARAMS_EXPIRATION_BLOCKS = 40n;

/** Creation round and its block hash, bound into every ticket's auxData. */
export interface ExpirationParams {
  creationRound: bigint;
  creationRoundBlockHash: Hex;
}

/** Ticket params as an orchestrator issues them (go-livepeer `pm.TicketParams`). */
export interface IssuedTicketParams {
  recipient: Hex;
  faceValue: bigint;
  winProb: bigint;
  recipientRandHash: Hex;
  seed: bigint;
  expirationBlock: bigint;
  /** Off-chain only: travels as OrchestratorInfo.price_info, bound into recipientRand. */
  price: Rational;
  expirationParams: ExpirationParams;
}

export interface IssueTicketParamsInput {
  /** The orchestrator's on-chain (recipient) address. */
  recipient: Hex;
  /** The recipient's per-process HMAC secret (32 random bytes). */
  secret: Uint8Array;
  sender: Hex;
  price: Rational;
  /** From `faceValue(...)`. */
  faceValue: bigint;
  ev: bigint;
  /** 32 random bytes as an integer; public. */
  seed: bigint;
  lastSeenL1Block: bigint;
  lastInitializedRound: bigint;
  lastInitializedRoundBlockHash: Hex;
  /** Block hash of the round before, used when the last round's hash is still zero (Arbitrum quirk). */
  previousRoundBlockHash?: Hex;
}

/**
 * Issues ticket params for a sender (spec §2.1): win probability from the face value, expiry 40 L1
 * blocks ahead, creation round = last initialized round (or the one before if its hash is zero),
 * recipientRand bound by HMAC to every value the gateway must echo.
 * @example issueTicketParams({ recipient, secret, sender, price, faceValue: fv, ev: 8_000_000_000n, seed, ... })
 */
export function issueTicketParams(i: IssueTicketParamsInput): IssuedTicketParams {
  const winProb = winProbForFaceValue(i.faceValue, i.ev);
  const expirationBlock = i.lastSeenL1Block + PARAMS_EXPIRATION_BLOCKS;
  let expirationParams: ExpirationParams = {
    creationRound: i.lastInitializedRound,
    creationRoundBlockHash: i.lastInitializedRoundBlockHash.toLowerCase() as Hex,
  };
  if (BigInt(i.lastInitializedRoundBlockHash) === 0n && i.lastInitializedRound > 0n) {
    expirationParams = {
      creationRound: i.lastInitializedRound - 1n,
      creationRoundBlockHash: (i.previousRoundBlockHash ?? ZERO_HASH).toLowerCase() as Hex,
    };
  }
  const rand = recipientRand(i.secret, {
    seed: i.seed,
    sender: i.sender,
    faceValue: i.faceValue,
    winProb,
    expirationBlock,
    price: i.price,
    ...expirationParams,
  });
  return {
    recipient: normalizeAddress(i.recipient),
    faceValue: i.faceValue,
    winProb,
    recipientRandHash: recipientRandHash(rand),
    seed: i.seed,
    expirationBlock,
    price: i.price,
    expirationParams,
  };
}
