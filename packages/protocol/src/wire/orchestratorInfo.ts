import { create } from "@bufbuild/protobuf";
import { bytesToHex, type Hex } from "../bytes/hex.js";
import {
  OrchestratorInfoSchema,
  type OrchestratorInfo as PbOrchestratorInfo,
} from "./generated/net/lp_rpc_pb.js";
import { MAX_WIRE_MESSAGE_BYTES } from "./limits.js";
import { decOptFixed, encArray, encHex, encObject, encOptFixed, encString } from "./fields.js";
import { authTokenFromProto, authTokenToProto, type AuthToken } from "./authToken.js";
import { capabilitiesFromProto, capabilitiesToProto, type Capabilities } from "./capabilities.js";
import { priceInfoFromProto, priceInfoToProto, type PriceInfo } from "./priceInfo.js";
import {
  decodeMessage,
  encodeMessage,
  parseUnknownFields,
  unknownFieldsHex,
  withUnknown,
} from "./protobufCodec.js";
import { ticketParamsFromProto, ticketParamsToProto, type WireTicketParams } from "./ticketParams.js";

/**
 * `net.OrchestratorInfo`: the answer to GetOrchestrator (and `PaymentResult.info`, and the
 * `payment_params` of a live-runner 402 challenge). `hardware` and `storage` are carried as the raw
 * bytes of each embedded message, unchanged: livepay does not interpret them.
 */
export interface OrchestratorInfo {
  /** Service URI, e.g. "https://orch.example:8935". */
  transcoder: string;
  ticketParams?: WireTicketParams;
  priceInfo?: PriceInfo;
  /** The node's signing address (20 bytes); may differ from `ticketParams.recipient`. */
  address?: Hex;
  capabilities?: Capabilities;
  authToken?: AuthToken;
  /** Encoded `HardwareInformation` messages. */
  hardware: Hex[];
  /** Encoded `OSInfo` messages. */
  storage: Hex[];
  /** Per capability/model prices (GetOrchestrator without capabilities). */
  capabilitiesPrices: PriceInfo[];
  nodes: string[];
  unknownFields?: Hex;
}

/** Domain OrchestratorInfo from protobuf-es. @example orchestratorInfoFromProto(pb, "OrchestratorInfo") */
export function orchestratorInfoFromProto(m: PbOrchestratorInfo, field: string): OrchestratorInfo {
  const out = { transcoder: m.transcoder } as OrchestratorInfo;
  if (m.ticketParams !== undefined)
    out.ticketParams = ticketParamsFromProto(m.ticketParams, `${field}.ticket_params`);
  if (m.priceInfo !== undefined) out.priceInfo = priceInfoFromProto(m.priceInfo);
  const address = decOptFixed(m.address, 20, `${field}.address`);
  if (address !== undefined) out.address = address;
  if (m.capabilities !== undefined) out.capabilities = capabilitiesFromProto(m.capabilities);
  if (m.authToken !== undefined) out.authToken = authTokenFromProto(m.authToken);
  out.hardware = m.hardware.map(bytesToHex);
  out.storage = m.storage.map(bytesToHex);
  out.capabilitiesPrices = m.capabilitiesPrices.map(priceInfoFromProto);
  out.nodes = [...m.nodes];
  return withUnknown(out, unknownFieldsHex(m));
}

/** protobuf-es OrchestratorInfo from the domain. @example orchestratorInfoToProto(info, "OrchestratorInfo") */
export function orchestratorInfoToProto(info: OrchestratorInfo, field: string): PbOrchestratorInfo {
  const o = encObject(info, field);
  const m = create(OrchestratorInfoSchema, {
    transcoder: encString(o.transcoder, `${field}.transcoder`),
    address: encOptFixed(o.address, 20, `${field}.address`),
    hardware: encArray(o.hardware, `${field}.hardware`).map((h, i) => encHex(h, `${field}.hardware[${i}]`)),
    storage: encArray(o.storage, `${field}.storage`).map((h, i) => encHex(h, `${field}.storage[${i}]`)),
    capabilitiesPrices: encArray(o.capabilitiesPrices, `${field}.capabilities_prices`).map((p, i) =>
      priceInfoToProto(p as PriceInfo, `${field}.capabilities_prices[${i}]`),
    ),
    nodes: encArray(o.nodes, `${field}.nodes`).map((n, i) => encString(n, `${field}.nodes[${i}]`)),
  });
  if (o.ticketParams !== undefined) {
    m.ticketParams = ticketParamsToProto(o.ticketParams as WireTicketParams, `${field}.ticket_params`);
  }
  if (o.priceInfo !== undefined)
    m.priceInfo = priceInfoToProto(o.priceInfo as PriceInfo, `${field}.price_info`);
  if (o.capabilities !== undefined) {
    m.capabilities = capabilitiesToProto(o.capabilities as Capabilities, `${field}.capabilities`);
  }
  if (o.authToken !== undefined)
    m.authToken = authTokenToProto(o.authToken as AuthToken, `${field}.auth_token`);
  m.$unknown = parseUnknownFields(OrchestratorInfoSchema, o.unknownFields, `${field}.unknownFields`);
  return m;
}

/**
 * Protobuf bytes of an OrchestratorInfo, byte-identical to Go's.
 * @example encodeOrchestratorInfo({ transcoder: "https://o:8935", hardware: [], storage: [], capabilitiesPrices: [], nodes: [] })
 */
export function encodeOrchestratorInfo(info: OrchestratorInfo): Uint8Array {
  return encodeMessage(OrchestratorInfoSchema, orchestratorInfoToProto(info, "OrchestratorInfo"));
}

/**
 * Decodes OrchestratorInfo bytes (at most `MAX_WIRE_MESSAGE_BYTES`); throws only WireError.
 * @example decodeOrchestratorInfo(bytes).ticketParams?.recipient
 */
export function decodeOrchestratorInfo(bytes: Uint8Array): OrchestratorInfo {
  return orchestratorInfoFromProto(
    decodeMessage(OrchestratorInfoSchema, bytes, "OrchestratorInfo", MAX_WIRE_MESSAGE_BYTES),
    "OrchestratorInfo",
  );
}
