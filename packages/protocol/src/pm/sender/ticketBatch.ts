import type { Hex } from "../../bytes/hex.js";
import type { Ticket } from "../ticket.js";
import type { ExpirationParams } from "../ticketParams.js";
import type { SenderTicketParams } from "./senderTicketParams.js";

/** One ticket's own part of a batch: its nonce and the sender's 65-byte signature over its hash. */
export interface SignedNonce {
  senderNonce: bigint;
  sig: Hex;
}

/**
 * The fields of a ticket batch (go-livepeer `pm.TicketBatch`): one set of params, one set of expiration
 * params, the sender, and one (nonce, sig) per ticket in nonce order. This is what a `Payment` carries.
 */
export interface TicketBatchData {
  ticketParams: Readonly<SenderTicketParams>;
  /** The expiration params every ticket of the batch was signed with (the Payment's field 3). */
  expirationParams: Readonly<ExpirationParams>;
  sender: Hex;
  senderParams: readonly SignedNonce[];
}

/** A ticket batch with its expansion into tickets. */
export interface TicketBatch extends TicketBatchData {
  /** The batch's tickets in nonce order (signatures stay in `senderParams`). @example batch.tickets()[0].senderNonce // 1n */
  tickets(): Ticket[];
}

/**
 * Expands a batch into its tickets: identical but for the nonce (go-livepeer `TicketBatch.Tickets`).
 * @example expandTicketBatch(batch).map(ticketHash)
 */
export function expandTicketBatch(batch: TicketBatchData): Ticket[] {
  const p = batch.ticketParams;
  const e = batch.expirationParams;
  return batch.senderParams.map((sp) => ({
    recipient: p.recipient,
    sender: batch.sender,
    faceValue: p.faceValue,
    winProb: p.winProb,
    senderNonce: sp.senderNonce,
    recipientRandHash: p.recipientRandHash,
    creationRound: e.creationRound,
    creationRoundBlockHash: e.creationRoundBlockHash,
  }));
}

/**
 * Freezes batch data and attaches `tickets()`.
 * @example const batch = ticketBatch({ ticketParams, expirationParams, sender, senderParams })
 */
export function ticketBatch(data: TicketBatchData): TicketBatch {
  const frozen: TicketBatchData = {
    ticketParams: data.ticketParams,
    expirationParams: data.expirationParams,
    sender: data.sender,
    senderParams: Object.freeze(data.senderParams.map((sp) => Object.freeze({ ...sp }))),
  };
  return Object.freeze({ ...frozen, tickets: () => expandTicketBatch(frozen) });
}
