import { create } from "@bufbuild/protobuf";
import type { Hex } from "../bytes/hex.js";
import { PriceInfoSchema, type PriceInfo as PbPriceInfo } from "./generated/net/lp_rpc_pb.js";
import { MAX_WIRE_MESSAGE_BYTES } from "./limits.js";
import { encInt64, encObject, encString, encUint32 } from "./fields.js";
import {
  decodeMessage,
  encodeMessage,
  parseUnknownFields,
  unknownFieldsHex,
  withUnknown,
} from "./protobufCodec.js";

/**
 * `net.PriceInfo`: `pricePerUnit / pixelsPerUnit` wei per unit (pixel, token, ms, ...), optionally for
 * one capability and constraint (model id). Values are int64 on the wire; go-livepeer builds the
 * price with `big.NewRat(pricePerUnit, pixelsPerUnit)`, so a zero `pixelsPerUnit` is invalid there.
 */
export interface PriceInfo {
  pricePerUnit: bigint;
  pixelsPerUnit: bigint;
  /** Capability id (uint32), 0 when not specific. */
  capability: number;
  /** Model id for `capability`, "" when not specific. */
  constraint: string;
  unknownFields?: Hex;
}

/** Domain PriceInfo from protobuf-es. @example priceInfoFromProto(pb) */
export function priceInfoFromProto(m: PbPriceInfo): PriceInfo {
  return withUnknown(
    {
      pricePerUnit: m.pricePerUnit,
      pixelsPerUnit: m.pixelsPerUnit,
      capability: m.capability,
      constraint: m.constraint,
    },
    unknownFieldsHex(m),
  );
}

/** protobuf-es PriceInfo from the domain. @example priceInfoToProto(p, "Payment.expected_price") */
export function priceInfoToProto(p: PriceInfo, field: string): PbPriceInfo {
  const o = encObject(p, field);
  const m = create(PriceInfoSchema, {
    pricePerUnit: encInt64(o.pricePerUnit, `${field}.pricePerUnit`),
    pixelsPerUnit: encInt64(o.pixelsPerUnit, `${field}.pixelsPerUnit`),
    capability: encUint32(o.capability, `${field}.capability`),
    constraint: encString(o.constraint, `${field}.constraint`),
  });
  m.$unknown = parseUnknownFields(PriceInfoSchema, o.unknownFields, `${field}.unknownFields`);
  return m;
}

/**
 * Protobuf bytes of a PriceInfo.
 * @example encodePriceInfo({ pricePerUnit: 1200n, pixelsPerUnit: 1n, capability: 0, constraint: "" })
 */
export function encodePriceInfo(p: PriceInfo): Uint8Array {
  return encodeMessage(PriceInfoSchema, priceInfoToProto(p, "PriceInfo"));
}

/**
 * Decodes PriceInfo bytes; throws only WireError.
 * @example decodePriceInfo(bytes).pricePerUnit
 */
export function decodePriceInfo(bytes: Uint8Array): PriceInfo {
  return priceInfoFromProto(decodeMessage(PriceInfoSchema, bytes, "PriceInfo", MAX_WIRE_MESSAGE_BYTES));
}
