import { create } from "@bufbuild/protobuf";
import { bytesToHex, type Hex } from "../bytes/hex.js";
import {
  TicketExpirationParamsSchema,
  TicketParamsSchema,
  TicketSenderParamsSchema,
  type TicketExpirationParams as PbExpirationParams,
  type TicketParams as PbTicketParams,
  type TicketSenderParams as PbTicketSenderParams,
} from "./generated/net/lp_rpc_pb.js";
import {
  decFixed,
  decUint256,
  encFixed,
  encInt64,
  encObject,
  encUint256,
  encUint32,
  encHex,
} from "./fields.js";
import { parseUnknownFields, unknownFieldsHex, withUnknown } from "./protobufCodec.js";

/**
 * `net.TicketExpirationParams`: the creation round and its block hash, bound into each ticket's
 * auxData. Go always sends the 32-byte hash (a zero hash is 32 zero bytes), so livepay requires it.
 */
export interface WireExpirationParams {
  creationRound: bigint;
  /** 32 bytes, 0x lowercase. */
  creationRoundBlockHash: Hex;
  /** Raw records of fields this schema does not declare (see WIRE.md); absent when there are none. */
  unknownFields?: Hex;
}

/**
 * `net.TicketParams` as an orchestrator publishes them. Integers travel as minimal big-endian bytes.
 * `expirationParams` (field 7) is what an orchestrator sends in OrchestratorInfo; Go gateways leave
 * it unset in a Payment and put the expiration params in `Payment.expirationParams` (field 3).
 */
export interface WireTicketParams {
  /** 20-byte address of the payee. */
  recipient: Hex;
  faceValue: bigint;
  winProb: bigint;
  /** 32 bytes. */
  recipientRandHash: Hex;
  seed: bigint;
  expirationBlock: bigint;
  expirationParams?: WireExpirationParams;
  unknownFields?: Hex;
}

/** `net.TicketSenderParams`: one ticket of a batch. */
export interface WireTicketSenderParams {
  /** uint32 on the wire. */
  senderNonce: bigint;
  /** Exactly the bytes received (65 for a well-formed signature; not checked here). */
  sig: Hex;
  unknownFields?: Hex;
}

/** Domain expiration params from protobuf-es. @example expirationParamsFromProto(pb, "Payment.expiration_params") */
export function expirationParamsFromProto(m: PbExpirationParams, field: string): WireExpirationParams {
  return withUnknown(
    {
      creationRound: m.creationRound,
      creationRoundBlockHash: decFixed(m.creationRoundBlockHash, 32, `${field}.creation_round_block_hash`),
    },
    unknownFieldsHex(m),
  );
}

/** protobuf-es expiration params from the domain. @example expirationParamsToProto(p, "Payment.expiration_params") */
export function expirationParamsToProto(p: WireExpirationParams, field: string): PbExpirationParams {
  const o = encObject(p, field);
  const m = create(TicketExpirationParamsSchema, {
    creationRound: encInt64(o.creationRound, `${field}.creation_round`),
    creationRoundBlockHash: encFixed(o.creationRoundBlockHash, 32, `${field}.creation_round_block_hash`),
  });
  m.$unknown = parseUnknownFields(TicketExpirationParamsSchema, o.unknownFields, `${field}.unknownFields`);
  return m;
}

/** Domain ticket params from protobuf-es. @example ticketParamsFromProto(pb, "Payment.ticket_params") */
export function ticketParamsFromProto(m: PbTicketParams, field: string): WireTicketParams {
  const out: WireTicketParams = {
    recipient: decFixed(m.recipient, 20, `${field}.recipient`),
    faceValue: decUint256(m.faceValue, `${field}.face_value`),
    winProb: decUint256(m.winProb, `${field}.win_prob`),
    recipientRandHash: decFixed(m.recipientRandHash, 32, `${field}.recipient_rand_hash`),
    seed: decUint256(m.seed, `${field}.seed`),
    expirationBlock: decUint256(m.expirationBlock, `${field}.expiration_block`),
  };
  if (m.expirationParams !== undefined) {
    out.expirationParams = expirationParamsFromProto(m.expirationParams, `${field}.expiration_params`);
  }
  return withUnknown(out, unknownFieldsHex(m));
}

/** protobuf-es ticket params from the domain. @example ticketParamsToProto(p, "Payment.ticket_params") */
export function ticketParamsToProto(p: WireTicketParams, field: string): PbTicketParams {
  const o = encObject(p, field);
  const m = create(TicketParamsSchema, {
    recipient: encFixed(o.recipient, 20, `${field}.recipient`),
    faceValue: encUint256(o.faceValue, `${field}.face_value`),
    winProb: encUint256(o.winProb, `${field}.win_prob`),
    recipientRandHash: encFixed(o.recipientRandHash, 32, `${field}.recipient_rand_hash`),
    seed: encUint256(o.seed, `${field}.seed`),
    expirationBlock: encUint256(o.expirationBlock, `${field}.expiration_block`),
  });
  if (o.expirationParams !== undefined) {
    m.expirationParams = expirationParamsToProto(
      o.expirationParams as WireExpirationParams,
      `${field}.expiration_params`,
    );
  }
  m.$unknown = parseUnknownFields(TicketParamsSchema, o.unknownFields, `${field}.unknownFields`);
  return m;
}

/** Domain ticket sender params from protobuf-es. @example ticketSenderParamsFromProto(pb, "Payment.ticket_sender_params[0]") */
export function ticketSenderParamsFromProto(m: PbTicketSenderParams): WireTicketSenderParams {
  return withUnknown({ senderNonce: BigInt(m.senderNonce), sig: bytesToHex(m.sig) }, unknownFieldsHex(m));
}

/** protobuf-es ticket sender params from the domain. @example ticketSenderParamsToProto(t, "Payment.ticket_sender_params[0]") */
export function ticketSenderParamsToProto(p: WireTicketSenderParams, field: string): PbTicketSenderParams {
  const o = encObject(p, field);
  const m = create(TicketSenderParamsSchema, {
    senderNonce: encUint32(o.senderNonce, `${field}.sender_nonce`),
    sig: encHex(o.sig, `${field}.sig`),
  });
  m.$unknown = parseUnknownFields(TicketSenderParamsSchema, o.unknownFields, `${field}.unknownFields`);
  return m;
}
