import { create } from "@bufbuild/protobuf";
import { bytesToHex, type Hex } from "../bytes/hex.js";
import {
  OrchestratorRequestSchema,
  type OrchestratorRequest as PbOrchestratorRequest,
} from "./generated/net/lp_rpc_pb.js";
import { MAX_WIRE_MESSAGE_BYTES } from "./limits.js";
import { decFixed, encBool, encFixed, encHex, encObject } from "./fields.js";
import { capabilitiesFromProto, capabilitiesToProto, type Capabilities } from "./capabilities.js";
import {
  decodeMessage,
  encodeMessage,
  parseUnknownFields,
  unknownFieldsHex,
  withUnknown,
} from "./protobufCodec.js";

/** `net.OrchestratorRequest`: the GetOrchestrator request of a gateway (spec §4.2). */
export interface OrchestratorRequest {
  /** Gateway (sender) address, 20 bytes. Required. */
  address: Hex;
  /** Info signature (`signOrchestratorInfoRequest`), any length on the wire ("0x" when absent). */
  sig: Hex;
  capabilities?: Capabilities;
  ignoreCapacityCheck: boolean;
  unknownFields?: Hex;
}

/**
 * Protobuf bytes of an OrchestratorRequest.
 * @example encodeOrchestratorRequest({ address, sig: signOrchestratorInfoRequest(address, key), ignoreCapacityCheck: false })
 */
export function encodeOrchestratorRequest(r: OrchestratorRequest): Uint8Array {
  const o = encObject(r, "OrchestratorRequest");
  const m = create(OrchestratorRequestSchema, {
    address: encFixed(o.address, 20, "OrchestratorRequest.address"),
    sig: encHex(o.sig, "OrchestratorRequest.sig"),
    ignoreCapacityCheck: encBool(o.ignoreCapacityCheck, "OrchestratorRequest.ignoreCapacityCheck"),
  });
  if (o.capabilities !== undefined) {
    m.capabilities = capabilitiesToProto(o.capabilities as Capabilities, "OrchestratorRequest.capabilities");
  }
  m.$unknown = parseUnknownFields(
    OrchestratorRequestSchema,
    o.unknownFields,
    "OrchestratorRequest.unknownFields",
  );
  return encodeMessage(OrchestratorRequestSchema, m);
}

/**
 * Decodes OrchestratorRequest bytes; throws only WireError (address must be 20 bytes).
 * @example verifyOrchestratorInfoRequest(decodeOrchestratorRequest(b).address, decodeOrchestratorRequest(b).sig)
 */
export function decodeOrchestratorRequest(bytes: Uint8Array): OrchestratorRequest {
  const m: PbOrchestratorRequest = decodeMessage(
    OrchestratorRequestSchema,
    bytes,
    "OrchestratorRequest",
    MAX_WIRE_MESSAGE_BYTES,
  );
  const out: OrchestratorRequest = {
    address: decFixed(m.address, 20, "OrchestratorRequest.address"),
    sig: bytesToHex(m.sig),
    ignoreCapacityCheck: m.ignoreCapacityCheck,
  };
  if (m.capabilities !== undefined) out.capabilities = capabilitiesFromProto(m.capabilities);
  return withUnknown(out, unknownFieldsHex(m));
}
