import { create } from "@bufbuild/protobuf";
import { bytesToHex, utf8, type Hex } from "../bytes/hex.js";
import { SegDataSchema, type SegData as PbSegData } from "./generated/net/lp_rpc_pb.js";
import { MAX_SEGDATA_BYTES } from "./limits.js";
import {
  decFixed,
  encArray,
  encBool,
  encFixed,
  encHex,
  encInt32,
  encInt64,
  encObject,
  encString,
  invalidField,
} from "./fields.js";
import { authTokenFromProto, authTokenToProto, type AuthToken } from "./authToken.js";
import { EMPTY_SEGMENT_HASH } from "./segmentCredentials.js";
import { capabilitiesFromProto, capabilitiesToProto, type Capabilities } from "./capabilities.js";
import {
  decodeMessage,
  encodeMessage,
  parseUnknownFields,
  unknownFieldsHex,
  withUnknown,
} from "./protobufCodec.js";

/**
 * `net.SegData`, the content of the `Livepeer-Segment` header: segment credentials signed by the
 * payer (spec §4.3). For AI and live payments the segment is empty: `seq` 0, `hash` =
 * `EMPTY_SEGMENT_HASH`, no profiles. Video profiles, storage and segment parameters are carried as
 * the raw bytes of each embedded message.
 */
export interface SegData {
  /** Bytes on the wire, UTF-8 text in practice (Go's `ManifestID` string); non-UTF-8 is rejected. */
  manifestId: string;
  seq: bigint;
  /** 32-byte segment hash (keccak256 of the segment data). */
  hash: Hex;
  /** Legacy profile bytes; new Go gateways send ASCII "invalid" (0x696e76616c6964). */
  profiles: Hex;
  /** `signSegData` signature ("0x" when absent). */
  sig: Hex;
  /** Segment duration in milliseconds (int32). */
  duration: number;
  capabilities?: Capabilities;
  authToken?: AuthToken;
  calcPerceptualHash: boolean;
  /** Encoded `OSInfo` messages. */
  storage: Hex[];
  /** Encoded `VideoProfile` messages (fields 33, 34, 35). */
  fullProfiles: Hex[];
  fullProfiles2: Hex[];
  fullProfiles3: Hex[];
  /** Encoded `SegParameters` message; "0x" is a present but empty message. */
  segmentParameters?: Hex;
  forceSessionReinit: boolean;
  unknownFields?: Hex;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Domain SegData from protobuf-es. @example segDataFromProto(pb) */
export function segDataFromProto(m: PbSegData): SegData {
  let manifestId: string;
  try {
    manifestId = strictUtf8.decode(m.manifestId);
  } catch {
    return invalidField("SegData.manifestId", "must be UTF-8");
  }
  const out = {
    manifestId,
    seq: m.seq,
    hash: decFixed(m.hash, 32, "SegData.hash"),
    profiles: bytesToHex(m.profiles),
    sig: bytesToHex(m.sig),
    duration: m.duration,
  } as SegData;
  if (m.capabilities !== undefined) out.capabilities = capabilitiesFromProto(m.capabilities);
  if (m.authToken !== undefined) out.authToken = authTokenFromProto(m.authToken);
  out.calcPerceptualHash = m.calcPerceptualHash;
  out.storage = m.storage.map(bytesToHex);
  out.fullProfiles = m.fullProfiles.map(bytesToHex);
  out.fullProfiles2 = m.fullProfiles2.map(bytesToHex);
  out.fullProfiles3 = m.fullProfiles3.map(bytesToHex);
  if (m.segmentParameters !== undefined) out.segmentParameters = bytesToHex(m.segmentParameters);
  out.forceSessionReinit = m.ForceSessionReinit;
  return withUnknown(out, unknownFieldsHex(m));
}

function hexList(value: unknown, field: string): Uint8Array[] {
  return encArray(value, field).map((h, i) => encHex(h, `${field}[${i}]`));
}

/** protobuf-es SegData from the domain. @example segDataToProto(seg) */
export function segDataToProto(s: SegData): PbSegData {
  const o = encObject(s, "SegData");
  const m = create(SegDataSchema, {
    manifestId: utf8(encString(o.manifestId, "SegData.manifestId")),
    seq: encInt64(o.seq, "SegData.seq"),
    hash: encFixed(o.hash, 32, "SegData.hash"),
    profiles: encHex(o.profiles, "SegData.profiles"),
    sig: encHex(o.sig, "SegData.sig"),
    duration: encInt32(o.duration, "SegData.duration"),
    calcPerceptualHash: encBool(o.calcPerceptualHash, "SegData.calc_perceptual_hash"),
    storage: hexList(o.storage, "SegData.storage"),
    fullProfiles: hexList(o.fullProfiles, "SegData.fullProfiles"),
    fullProfiles2: hexList(o.fullProfiles2, "SegData.fullProfiles2"),
    fullProfiles3: hexList(o.fullProfiles3, "SegData.fullProfiles3"),
    ForceSessionReinit: encBool(o.forceSessionReinit, "SegData.ForceSessionReinit"),
  });
  if (o.capabilities !== undefined)
    m.capabilities = capabilitiesToProto(o.capabilities as Capabilities, "SegData.capabilities");
  if (o.authToken !== undefined)
    m.authToken = authTokenToProto(o.authToken as AuthToken, "SegData.auth_token");
  if (o.segmentParameters !== undefined)
    m.segmentParameters = encHex(o.segmentParameters, "SegData.segment_parameters");
  m.$unknown = parseUnknownFields(SegDataSchema, o.unknownFields, "SegData.unknownFields");
  return m;
}

/**
 * Protobuf bytes of a SegData, byte-identical to Go's.
 * @example encodeSegData({ ...seg, sig: signSegData(seg, key) })
 */
export function encodeSegData(s: SegData): Uint8Array {
  return encodeMessage(SegDataSchema, segDataToProto(s));
}

/**
 * Decodes SegData bytes (at most `MAX_SEGDATA_BYTES`); throws only WireError (hash must be 32 bytes,
 * manifestId UTF-8).
 * @example decodeSegData(bytes).manifestId
 */
export function decodeSegData(bytes: Uint8Array): SegData {
  return segDataFromProto(decodeMessage(SegDataSchema, bytes, "SegData", MAX_SEGDATA_BYTES));
}

/** ASCII "invalid": what go-livepeer gateways put in the legacy `profiles` field. */
export const LEGACY_PROFILES_INVALID: Hex = "0x696e76616c6964";

/**
 * A SegData with go-livepeer gateway defaults for everything not given: the empty segment of AI and
 * live payments (`seq` 0, `hash` = keccak256("")), legacy `profiles` = "invalid", no signature, no
 * profiles, storage or flags. Sign it with `signSegData` and set `sig`.
 * @example const seg = createSegData({ manifestId: "27_ByteDance/SDXL-Lightning", authToken: info.authToken })
 */
export function createSegData(init: Partial<SegData> = {}): SegData {
  return {
    manifestId: "",
    seq: 0n,
    hash: EMPTY_SEGMENT_HASH,
    profiles: LEGACY_PROFILES_INVALID,
    sig: "0x",
    duration: 0,
    calcPerceptualHash: false,
    storage: [],
    fullProfiles: [],
    fullProfiles2: [],
    fullProfiles3: [],
    forceSessionReinit: false,
    ...init,
  };
}
