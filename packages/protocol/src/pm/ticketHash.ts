import { bytesToHex, tryHexToBytes, type Hex } from "../bytes/hex.js";
import { MAX_UINT256, writeUint } from "../bytes/integers.js";
import { keccak256 } from "../crypto/keccak256.js";
import { InvalidInputError } from "../errors.js";
import type { Ticket } from "./ticket.js";

function hexInto(out: Uint8Array, offset: number, value: string, size: number, field: string): void {
  const b = tryHexToBytes(value, true);
  if (!b || b.length !== size) {
    throw new InvalidInputError(
      size === 20 ? "INVALID_ADDRESS" : "INVALID_HASH",
      `${field} must be ${size} bytes of 0x hex`,
      {
        field,
      },
    );
  }
  out.set(b, offset);
}

function uintInto(out: Uint8Array, offset: number, value: bigint, field: string): void {
  // Callers in plain JavaScript may pass numbers: accept safe integers, reject everything else.
  const v = typeof value === "bigint" ? value : Number.isSafeInteger(value) ? BigInt(value) : undefined;
  if (v === undefined || v < 0n || v > MAX_UINT256) {
    throw new InvalidInputError("INVALID_INTEGER", `${field} must be an unsigned 256-bit integer`, { field });
  }
  writeUint(out, offset, v, 32);
}

function isZeroAux(creationRound: bigint, creationRoundBlockHash: string): boolean {
  return BigInt(creationRound) === 0n && /^0x0{64}$/.test(creationRoundBlockHash);
}

/**
 * The ticket's `auxData`: empty when creation round and block hash are both zero, else
 * `u256(creationRound) || creationRoundBlockHash` (64 bytes, the only length the broker accepts).
 * @example auxData(10n, keccak256Hex("foo")).length // 64
 */
export function auxData(creationRound: bigint, creationRoundBlockHash: Hex): Uint8Array {
  const out = new Uint8Array(64);
  uintInto(out, 0, creationRound, "creationRound");
  hexInto(out, 32, creationRoundBlockHash, 32, "creationRoundBlockHash");
  return isZeroAux(creationRound, creationRoundBlockHash) ? new Uint8Array(0) : out;
}

/**
 * The packed preimage of the ticket hash: recipient(20) ‖ sender(20) ‖ u256 faceValue ‖ u256 winProb
 * ‖ u256 senderNonce ‖ recipientRandHash(32) ‖ auxData (0 or 64): 168 or 232 bytes.
 * @example ticketHashPreimage(ticket).length // 232
 */
export function ticketHashPreimage(ticket: Ticket): Uint8Array {
  const withAux = !isZeroAux(ticket.creationRound, ticket.creationRoundBlockHash);
  const out = new Uint8Array(withAux ? 232 : 168);
  hexInto(out, 0, ticket.recipient, 20, "recipient");
  hexInto(out, 20, ticket.sender, 20, "sender");
  uintInto(out, 40, ticket.faceValue, "faceValue");
  uintInto(out, 72, ticket.winProb, "winProb");
  uintInto(out, 104, ticket.senderNonce, "senderNonce");
  hexInto(out, 136, ticket.recipientRandHash, 32, "recipientRandHash");
  if (withAux) {
    uintInto(out, 168, ticket.creationRound, "creationRound");
    hexInto(out, 200, ticket.creationRoundBlockHash, 32, "creationRoundBlockHash");
  } else {
    // Still validate the (zero) fields' shape.
    hexInto(new Uint8Array(32), 0, ticket.creationRoundBlockHash, 32, "creationRoundBlockHash");
  }
  return out;
}

/**
 * keccak256 of the packed ticket (go-livepeer `Ticket.Hash`, TicketBroker `getTicketHash`).
 * @example ticketHash(ticket) // "0xcd42ee82..."
 */
export function ticketHash(ticket: Ticket): Hex {
  return bytesToHex(keccak256(ticketHashPreimage(ticket)));
}
