import { create } from "@bufbuild/protobuf";
import type { Hex } from "../bytes/hex.js";
import { PaymentResultSchema } from "./generated/net/lp_rpc_pb.js";
import { MAX_WIRE_MESSAGE_BYTES } from "./limits.js";
import { encObject } from "./fields.js";
import {
  orchestratorInfoFromProto,
  orchestratorInfoToProto,
  type OrchestratorInfo,
} from "./orchestratorInfo.js";
import {
  decodeMessage,
  encodeMessage,
  parseUnknownFields,
  unknownFieldsHex,
  withUnknown,
} from "./protobufCodec.js";

/** `net.PaymentResult`: the body of a successful `POST /payment` (field 16: refreshed info). */
export interface PaymentResult {
  info?: OrchestratorInfo;
  unknownFields?: Hex;
}

/** Protobuf bytes of a PaymentResult. @example encodePaymentResult({ info }) */
export function encodePaymentResult(r: PaymentResult): Uint8Array {
  const o = encObject(r, "PaymentResult");
  const m = create(PaymentResultSchema);
  if (o.info !== undefined)
    m.info = orchestratorInfoToProto(o.info as OrchestratorInfo, "PaymentResult.info");
  m.$unknown = parseUnknownFields(PaymentResultSchema, o.unknownFields, "PaymentResult.unknownFields");
  return encodeMessage(PaymentResultSchema, m);
}

/** Decodes PaymentResult bytes; throws only WireError. @example decodePaymentResult(body).info?.ticketParams */
export function decodePaymentResult(bytes: Uint8Array): PaymentResult {
  const m = decodeMessage(PaymentResultSchema, bytes, "PaymentResult", MAX_WIRE_MESSAGE_BYTES);
  const out: PaymentResult = {};
  if (m.info !== undefined) out.info = orchestratorInfoFromProto(m.info, "PaymentResult.info");
  return withUnknown(out, unknownFieldsHex(m));
}
