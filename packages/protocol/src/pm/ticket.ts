import type { Hex } from "../bytes/hex.js";

/**
 * A Livepeer probabilistic micropayment ticket (go-livepeer `pm.Ticket`, Solidity
 * `MTicketBrokerCore.Ticket` with `auxData` split into creation round and block hash).
 * Integers are bigint; addresses and hashes are 0x hex (livepay emits lowercase).
 */
export interface Ticket {
  /** Payee: the orchestrator's on-chain address. */
  recipient: Hex;
  /** Payer: the gateway's (or remote signer's) address. */
  sender: Hex;
  /** Wei paid if the ticket wins. */
  faceValue: bigint;
  /** Numerator of winProb / (2^256 - 1). */
  winProb: bigint;
  /** uint32 counter per recipientRandHash; the first ticket uses 1. */
  senderNonce: bigint;
  /** keccak256(u256(recipientRand)). */
  recipientRandHash: Hex;
  /** Livepeer round the ticket was created in (0 with a zero block hash means no auxData). */
  creationRound: bigint;
  /** RoundsManager.blockHashForRound(creationRound). */
  creationRoundBlockHash: Hex;
}

/** Largest sender nonce: Go keeps it in a uint32. */
export const MAX_SENDER_NONCE = 0xffffffffn;
