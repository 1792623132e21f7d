// The orchestrator's two HMAC secrets, generated once and persisted in the store's meta table.
import { randomBytes } from "node:crypto";
import { authTokenHmac, bytesToHex, hexToBytes, type AuthToken, type Hex } from "@livepay/protocol";
import type { MetaStore } from "../store/meta.js";

/** Meta keys of the secrets (one orchestrator identity per store). */
export const RECIPIENT_SECRET_KEY = "orchestrator.recipientRandSecret";
export const AUTH_TOKEN_SECRET_KEY = "orchestrator.authTokenSecret";

export interface OrchestratorSecrets {
  /** HMAC key of recipientRand (spec §1.8). */
  recipientSecret: Uint8Array;
  /** HMAC key of auth tokens (spec §4.3). */
  authSecret: Uint8Array;
}

async function secret(meta: MetaStore, key: string): Promise<Uint8Array> {
  const value = await meta.setIfAbsent(key, bytesToHex(randomBytes(32)));
  const bytes = hexToBytes(value);
  if (bytes.length < 32) throw new Error(`store meta ${key} is not a 32-byte secret`);
  return bytes;
}

/**
 * Loads the secrets, creating them on first start. go-livepeer draws a new recipient secret at every
 * start, which invalidates every outstanding ticket params and auth token on restart; livepay keeps
 * them, so a restarted orchestrator still accepts the tickets and tokens it issued (nonces are
 * persisted too, so nothing can be replayed across the restart).
 * @example const { recipientSecret, authSecret } = await loadSecrets(store.meta)
 */
export async function loadSecrets(meta: MetaStore): Promise<OrchestratorSecrets> {
  return {
    recipientSecret: await secret(meta, RECIPIENT_SECRET_KEY),
    authSecret: await secret(meta, AUTH_TOKEN_SECRET_KEY),
  };
}

/**
 * A new auth token (go-livepeer `orchestrator.AuthToken`): random session id, expiry `ttlSeconds`
 * from now, `token = HMAC-SHA256(secret, sessionId || minBytes(expiration))`.
 * @example issueAuthToken(secrets.authSecret, 1800, Date.now())
 */
export function issueAuthToken(secret: Uint8Array, ttlSeconds: number, nowMs: number): AuthToken {
  const sessionId = randomBytes(16).toString("hex");
  const expiration = BigInt(Math.floor(nowMs / 1000) + ttlSeconds);
  return { token: authTokenHmac(secret, sessionId, expiration) as Hex, sessionId, expiration };
}
