import { normalizeAddress } from "../../bytes/address.js";
import type { Hex } from "../../bytes/hex.js";
import { MAX_UINT256 } from "../../bytes/integers.js";
import { InvalidInputError } from "../../errors.js";
import type { ExpirationParams } from "../ticketParams.js";

/**
 * Ticket params as a gateway receives them in `OrchestratorInfo.ticket_params` (go-livepeer
 * `pm.TicketParams` without the price, which travels apart as `price_info`). Integers are bigint,
 * addresses and hashes 0x hex. `expirationParams` is optional: old orchestrators leave it out and the
 * sender then uses its own last initialized round (spec §3.1).
 *
 * @example
 * const p: SenderTicketParams = { recipient, faceValue, winProb, recipientRandHash, seed, expirationBlock };
 */
export interface SenderTicketParams {
  recipient: Hex;
  faceValue: bigint;
  winProb: bigint;
  recipientRandHash: Hex;
  seed: bigint;
  expirationBlock: bigint;
  expirationParams?: ExpirationParams | undefined;
}

const HASH_RE = /^0x[0-9a-fA-F]{64}$/;

function uint256(value: unknown, field: string): bigint {
  if (typeof value !== "bigint" || value < 0n || value > MAX_UINT256) {
    throw new InvalidInputError("INVALID_TICKET_PARAMS", `${field} must be an unsigned 256-bit bigint`, {
      field,
    });
  }
  return value;
}

function hash32(value: unknown, field: string): Hex {
  if (typeof value !== "string" || !HASH_RE.test(value)) {
    throw new InvalidInputError("INVALID_TICKET_PARAMS", `${field} must be 32 bytes of 0x hex`, { field });
  }
  return value.toLowerCase() as Hex;
}

/**
 * Checks the shape of ticket params (types and ranges, not the §3.2 business rules) and returns a
 * frozen copy with lowercase hex. Lowercasing keeps every byte, so the values the recipient bound into
 * recipientRand are still echoed unchanged.
 * @example const p = normalizeSenderTicketParams(fromWire) // throws InvalidInputError on bad input
 */
export function normalizeSenderTicketParams(params: SenderTicketParams): Readonly<SenderTicketParams> {
  if (typeof params !== "object" || params === null) {
    throw new InvalidInputError("INVALID_TICKET_PARAMS", "ticket params must be an object");
  }
  const out: SenderTicketParams = {
    recipient: normalizeAddress(params.recipient),
    faceValue: uint256(params.faceValue, "faceValue"),
    winProb: uint256(params.winProb, "winProb"),
    recipientRandHash: hash32(params.recipientRandHash, "recipientRandHash"),
    seed: uint256(params.seed, "seed"),
    expirationBlock: uint256(params.expirationBlock, "expirationBlock"),
  };
  const ep = params.expirationParams;
  if (ep !== undefined && ep !== null) {
    out.expirationParams = Object.freeze({
      creationRound: uint256(ep.creationRound, "expirationParams.creationRound"),
      creationRoundBlockHash: hash32(ep.creationRoundBlockHash, "expirationParams.creationRoundBlockHash"),
    });
  }
  return Object.freeze(out);
}
