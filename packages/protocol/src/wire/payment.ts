import { create } from "@bufbuild/protobuf";
import type { Hex } from "../bytes/hex.js";
import { PaymentSchema, type Payment as PbPayment } from "./generated/net/lp_rpc_pb.js";
import { WireError } from "./errors.js";
import { MAX_PAYMENT_BYTES, MAX_PAYMENT_TICKET_SENDER_PARAMS } from "./limits.js";
import { decFixed, encArray, encFixed, encObject } from "./fields.js";
import { priceInfoFromProto, priceInfoToProto, type PriceInfo } from "./priceInfo.js";
import {
  decodeMessage,
  encodeMessage,
  parseUnknownFields,
  unknownFieldsHex,
  withUnknown,
} from "./protobufCodec.js";
import {
  expirationParamsFromProto,
  expirationParamsToProto,
  ticketParamsFromProto,
  ticketParamsToProto,
  ticketSenderParamsFromProto,
  ticketSenderParamsToProto,
  type WireExpirationParams,
  type WireTicketParams,
  type WireTicketSenderParams,
} from "./ticketParams.js";

/**
 * `net.Payment`, the content of the `Livepeer-Payment` header: one batch of tickets that share
 * ticket params and differ in nonce and signature (spec §3.3).
 *
 * A Go gateway fills `ticketParams` (without its field 7), `sender`, `expirationParams` (field 3, the
 * one the orchestrator reads), one `ticketSenderParams` entry per ticket in nonce order, and
 * `expectedPrice` (the orchestrator's price_info, verbatim). A Payment without tickets carries only
 * `sender` and `expectedPrice`.
 */
export interface Payment {
  ticketParams?: WireTicketParams;
  /** 20-byte payer address. Required: a Payment without a sender cannot be credited to anyone. */
  sender: Hex;
  expirationParams?: WireExpirationParams;
  ticketSenderParams: WireTicketSenderParams[];
  expectedPrice?: PriceInfo;
  unknownFields?: Hex;
}

function tooManyTickets(count: number): WireError {
  return new WireError(
    "TOO_MANY_TICKETS",
    `payment has ${count} tickets, more than ${MAX_PAYMENT_TICKET_SENDER_PARAMS}`,
    { count, max: MAX_PAYMENT_TICKET_SENDER_PARAMS },
  );
}

/** Domain Payment from protobuf-es. @example paymentFromProto(pb) */
export function paymentFromProto(m: PbPayment): Payment {
  if (m.ticketSenderParams.length > MAX_PAYMENT_TICKET_SENDER_PARAMS) {
    throw tooManyTickets(m.ticketSenderParams.length);
  }
  // Properties in the order of the interface, so that printed Payments read like the spec.
  const out = {} as Payment;
  if (m.ticketParams !== undefined)
    out.ticketParams = ticketParamsFromProto(m.ticketParams, "Payment.ticket_params");
  out.sender = decFixed(m.sender, 20, "Payment.sender");
  if (m.expirationParams !== undefined) {
    out.expirationParams = expirationParamsFromProto(m.expirationParams, "Payment.expiration_params");
  }
  out.ticketSenderParams = m.ticketSenderParams.map(ticketSenderParamsFromProto);
  if (m.expectedPrice !== undefined) out.expectedPrice = priceInfoFromProto(m.expectedPrice);
  return withUnknown(out, unknownFieldsHex(m));
}

/** protobuf-es Payment from the domain. @example paymentToProto(p) */
export function paymentToProto(p: Payment): PbPayment {
  const o = encObject(p, "Payment");
  const tickets = encArray(o.ticketSenderParams, "Payment.ticket_sender_params");
  if (tickets.length > MAX_PAYMENT_TICKET_SENDER_PARAMS) throw tooManyTickets(tickets.length);
  const m = create(PaymentSchema, {
    sender: encFixed(o.sender, 20, "Payment.sender"),
    ticketSenderParams: tickets.map((t, i) =>
      ticketSenderParamsToProto(t as WireTicketSenderParams, `Payment.ticket_sender_params[${i}]`),
    ),
  });
  if (o.ticketParams !== undefined) {
    m.ticketParams = ticketParamsToProto(o.ticketParams as WireTicketParams, "Payment.ticket_params");
  }
  if (o.expirationParams !== undefined) {
    m.expirationParams = expirationParamsToProto(
      o.expirationParams as WireExpirationParams,
      "Payment.expiration_params",
    );
  }
  if (o.expectedPrice !== undefined) {
    m.expectedPrice = priceInfoToProto(o.expectedPrice as PriceInfo, "Payment.expected_price");
  }
  m.$unknown = parseUnknownFields(PaymentSchema, o.unknownFields, "Payment.unknownFields");
  return m;
}

/**
 * Protobuf bytes of a Payment, byte-identical to go-livepeer's `proto.Marshal`. Throws WireError
 * INVALID_FIELD for a value that cannot be encoded (address not 20 bytes, negative face value, ...)
 * and TOO_MANY_TICKETS above `MAX_PAYMENT_TICKET_SENDER_PARAMS`.
 * @example encodePayment({ sender: "0xf39f...2266", ticketSenderParams: [] })
 */
export function encodePayment(p: Payment): Uint8Array {
  return encodeMessage(PaymentSchema, paymentToProto(p));
}

/**
 * Decodes Payment bytes (at most `MAX_PAYMENT_BYTES`). Throws only WireError: INVALID_PROTOBUF,
 * MESSAGE_TOO_LARGE, TOO_MANY_TICKETS, INVALID_FIELD (sender missing or not 20 bytes, recipient not
 * 20 bytes, a hash not 32 bytes, an integer over 256 bits).
 * @example decodePayment(bytes).ticketSenderParams.length
 */
export function decodePayment(bytes: Uint8Array): Payment {
  return paymentFromProto(decodeMessage(PaymentSchema, bytes, "Payment", MAX_PAYMENT_BYTES));
}
