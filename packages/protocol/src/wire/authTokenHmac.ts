import { hmacSha256 } from "../crypto/hmacSha256.js";
import { bytesToHex, concatBytes, equalBytes, hexToBytes, utf8, type Hex } from "../bytes/hex.js";
import { minBytes } from "../bytes/integers.js";
import { WireError } from "./errors.js";
import { encHex } from "./fields.js";
import type { AuthToken } from "./authToken.js";

function secretBytes(secret: Uint8Array | Hex): Uint8Array {
  return typeof secret === "string" ? hexToBytes(secret) : secret;
}

/**
 * The orchestrator's auth token: `HMAC-SHA256(secret, utf8(sessionId) || minBytes(expiration))`
 * (go-livepeer `orchestrator.AuthToken`). Only the orchestrator knows `secret`.
 * @example authTokenHmac(secret, "a1b2c3", 1_700_000_000n) // "0x..." (32 bytes)
 */
export function authTokenHmac(secret: Uint8Array | Hex, sessionId: string, expiration: bigint): Hex {
  return bytesToHex(hmacSha256(secretBytes(secret), concatBytes(utf8(sessionId), minBytes(expiration))));
}

/**
 * An orchestrator's check of the auth token a gateway echoed in SegData, in go-livepeer's order and
 * with its messages: AUTH_TOKEN_MISSING "missing auth token", AUTH_TOKEN_INVALID "invalid auth token"
 * (constant-time comparison), AUTH_TOKEN_EXPIRED "expired auth token" (now after expiration).
 * @example verifyAuthToken(secret, seg.authToken, BigInt(Math.floor(Date.now() / 1000)))
 */
export function verifyAuthToken(
  secret: Uint8Array | Hex,
  token: AuthToken | undefined,
  nowSeconds: bigint,
): void {
  if (token === undefined) throw new WireError("AUTH_TOKEN_MISSING", "missing auth token");
  const expected = hexToBytes(authTokenHmac(secret, token.sessionId, token.expiration));
  let received: Uint8Array;
  try {
    received = encHex(token.token, "AuthToken.token");
  } catch {
    received = new Uint8Array(0);
  }
  if (!equalBytes(received, expected)) {
    throw new WireError("AUTH_TOKEN_INVALID", "invalid auth token");
  }
  if (nowSeconds > token.expiration) throw new WireError("AUTH_TOKEN_EXPIRED", "expired auth token");
}
