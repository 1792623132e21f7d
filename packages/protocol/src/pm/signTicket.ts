import { bytesToHex, hexToBytes, type Hex } from "../bytes/hex.js";
import { keccak256 } from "../crypto/keccak256.js";
import { personalHash } from "../crypto/personalHash.js";
import { recoverDigestSigner, signDigest, type PrivateKey } from "../crypto/secp256k1.js";
import type { Ticket } from "./ticket.js";
import { ticketHashPreimage } from "./ticketHash.js";

function ticketDigest(ticket: Ticket): Uint8Array {
  // The 32-byte ticket hash is the personal-sign message itself: it is not hashed again.
  return personalHash(keccak256(ticketHashPreimage(ticket)));
}

/**
 * Signs a ticket as go-livepeer's sender does: `sign(personalHash(ticketHash))`, 65 bytes, v = 27/28.
 * @example signTicket(ticket, senderKey) // "0x88f48764...1c"
 */
export function signTicket(ticket: Ticket, privateKey: PrivateKey): Hex {
  return bytesToHex(signDigest(ticketDigest(ticket), privateKey));
}

/**
 * The address that signed a ticket (lowercase). Throws `SignatureError` for a malformed signature
 * (length, high s, v not 27/28), with go-livepeer's messages.
 * @example recoverTicketSigner(ticket, sig) === ticket.sender
 */
export function recoverTicketSigner(ticket: Ticket, signature: Hex | Uint8Array): Hex {
  const sig = typeof signature === "string" ? hexToBytes(signature) : signature;
  return recoverDigestSigner(ticketDigest(ticket), sig);
}
