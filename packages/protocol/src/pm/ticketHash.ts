import { normalizeAddress } from "../bytes/address.js";
import { bytesToHex, hexToBytes, type Hex } from "../bytes/hex.js";
import { MAX_UINT256, u256 } from "../bytes/integers.js";
import { keccak256 } from "../crypto/keccak256.js";
import { InvalidInputError } from "../errors.js";
import type { Ticket } from "./ticket.js";

const ZERO_HASH = 0n;

function bytes32(value: string, field: string): Uint8Array {
  const b = hexToBytes(value);
  if (b.length !== 32) throw new InvalidInputError("INVALID_HASH", `${field} must be 32 bytes`, { field });
  return b;
}

function uint(value: bigint, field: string): Uint8Array {
  // Callers in plain JavaScript may pass numbers: accept safe integers, reject everything else.
  const v = typeof value === "bigint" ? value : Number.isSafeInteger(value) ? BigInt(value) : undefined;
  if (v === undefined || v < 0n || v > MAX_UINT256) {
    throw new InvalidInputError("INVALID_INTEGER", `${field} must be an unsigned 256-bit integer`, { field });
  }
  return u256(v);
}

/**
 * The ticket's `auxData`: empty when creation round and block hash are both zero, else
 * `u256(creationRound) || creationRoundBlockHash` (64 bytes, the only length the broker accepts).
 * @example auxData(10n, keccak256Hex("foo")).length // 64
 */
export function auxData(creationRound: bigint, creationRoundBlockHash: Hex): Uint8Array {
  const hash = bytes32(creationRoundBlockHash, "creationRoundBlockHash");
  const round = uint(creationRound, "creationRound");
  if (BigInt(creationRound) === 0n && BigInt(bytesToHex(hash)) === ZERO_HASH) return new Uint8Array(0);
  const out = new Uint8Array(64);
  out.set(round, 0);
  out.set(hash, 32);
  return out;
}

/**
 * The packed preimage of the ticket hash: recipient(20) ‖ sender(20) ‖ u256 faceValue ‖ u256 winProb
 * ‖ u256 senderNonce ‖ recipientRandHash(32) ‖ auxData (0 or 64): 168 or 232 bytes.
 * @example ticketHashPreimage(ticket).length // 232
 */
export function ticketHashPreimage(ticket: Ticket): Uint8Array {
  const aux = auxData(ticket.creationRound, ticket.creationRoundBlockHash);
  const out = new Uint8Array(168 + aux.length);
  out.set(hexToBytes(normalizeAddress(ticket.recipient)), 0);
  out.set(hexToBytes(normalizeAddress(ticket.sender)), 20);
  out.set(uint(ticket.faceValue, "faceValue"), 40);
  out.set(uint(ticket.winProb, "winProb"), 72);
  out.set(uint(ticket.senderNonce, "senderNonce"), 104);
  out.set(bytes32(ticket.recipientRandHash, "recipientRandHash"), 136);
  out.set(aux, 168);
  return out;
}

/**
 * keccak256 of the packed ticket (go-livepeer `Ticket.Hash`, TicketBroker `getTicketHash`).
 * @example ticketHash(ticket) // "0xcd42ee82..."
 */
export function ticketHash(ticket: Ticket): Hex {
  return bytesToHex(keccak256(ticketHashPreimage(ticket)));
}
