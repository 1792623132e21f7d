import { create } from "@bufbuild/protobuf";
import { bytesToHex, type Hex } from "../bytes/hex.js";
import { AuthTokenSchema, type AuthToken as PbAuthToken } from "./generated/net/lp_rpc_pb.js";
import { MAX_WIRE_MESSAGE_BYTES } from "./limits.js";
import { encHex, encInt64, encObject, encString } from "./fields.js";
import {
  decodeMessage,
  encodeMessage,
  parseUnknownFields,
  unknownFieldsHex,
  withUnknown,
} from "./protobufCodec.js";

/**
 * `net.AuthToken`: an orchestrator's session credential, echoed by the gateway in SegData.
 * go-livepeer sets `token = HMAC-SHA256(secret, sessionId || minBytes(expiration))` (see `authTokenHmac`).
 */
export interface AuthToken {
  token: Hex;
  sessionId: string;
  /** Unix seconds. */
  expiration: bigint;
  unknownFields?: Hex;
}

/** Domain AuthToken from protobuf-es. @example authTokenFromProto(pb) */
export function authTokenFromProto(m: PbAuthToken): AuthToken {
  return withUnknown(
    { token: bytesToHex(m.token), sessionId: m.sessionId, expiration: m.expiration },
    unknownFieldsHex(m),
  );
}

/** protobuf-es AuthToken from the domain. @example authTokenToProto(t, "SegData.auth_token") */
export function authTokenToProto(t: AuthToken, field: string): PbAuthToken {
  const o = encObject(t, field);
  const m = create(AuthTokenSchema, {
    token: encHex(o.token, `${field}.token`),
    sessionId: encString(o.sessionId, `${field}.session_id`),
    expiration: encInt64(o.expiration, `${field}.expiration`),
  });
  m.$unknown = parseUnknownFields(AuthTokenSchema, o.unknownFields, `${field}.unknownFields`);
  return m;
}

/** Protobuf bytes of an AuthToken. @example encodeAuthToken({ token: "0x..", sessionId: "abc", expiration: 1700000000n }) */
export function encodeAuthToken(t: AuthToken): Uint8Array {
  return encodeMessage(AuthTokenSchema, authTokenToProto(t, "AuthToken"));
}

/** Decodes AuthToken bytes; throws only WireError. @example decodeAuthToken(bytes).sessionId */
export function decodeAuthToken(bytes: Uint8Array): AuthToken {
  return authTokenFromProto(decodeMessage(AuthTokenSchema, bytes, "AuthToken", MAX_WIRE_MESSAGE_BYTES));
}
