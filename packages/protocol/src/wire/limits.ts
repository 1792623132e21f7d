/**
 * Size caps, checked before any decoding work so that hostile input costs O(cap) at most.
 *
 * A Payment header grows by ~100 base64 characters per ticket (75 bytes of protobuf: nonce + 65-byte
 * signature), on top of ~300 for ticket params, sender, expiration params and price: 10 tickets are
 * ~1.3 KB, 100 tickets ~10 KB, 600 tickets ~60 KB. go-livepeer's recipient accepts at most 600
 * distinct nonces per recipientRandHash (`maxSenderNonces`) and all tickets of one Payment share one
 * recipientRandHash, so a Payment with more than 600 tickets can never be fully accepted: it is rejected
 * at decode. 64 KiB of base64 holds 600 tickets with room to spare; Node's default HTTP header limit
 * (16 KiB for all headers) is the tighter bound in practice (~150 tickets).
 */

/** Largest `Livepeer-Payment` header value accepted or produced, in characters (base64). */
export const MAX_PAYMENT_HEADER_BYTES = 64 * 1024;

/** Largest `Livepeer-Segment` header value accepted or produced, in characters (base64). */
export const MAX_SEGMENT_HEADER_BYTES = 64 * 1024;

/** Largest encoded Payment (what a maximal header decodes to). */
export const MAX_PAYMENT_BYTES = (MAX_PAYMENT_HEADER_BYTES / 4) * 3;

/** Largest encoded SegData (what a maximal header decodes to). */
export const MAX_SEGDATA_BYTES = (MAX_SEGMENT_HEADER_BYTES / 4) * 3;

/** Most tickets (ticket_sender_params) in one Payment: go-livepeer's `maxSenderNonces`. */
export const MAX_PAYMENT_TICKET_SENDER_PARAMS = 600;

/** Largest OrchestratorInfo, OrchestratorRequest, PaymentResult, Capabilities, ... accepted (1 MiB). */
export const MAX_WIRE_MESSAGE_BYTES = 1024 * 1024;
