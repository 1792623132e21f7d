import { bytesToHex, utf8, type Hex } from "../bytes/hex.js";
import { keccak256 } from "../crypto/keccak256.js";
import { InvalidInputError } from "../errors.js";
import { canonicalJson } from "./canonicalJson.js";

/**
 * Whether a Content-Type names JSON (`application/json`, `…+json`, any parameters).
 * @example isJsonContentType("application/json; charset=utf-8") // true
 */
export function isJsonContentType(contentType: string | null | undefined): boolean {
  if (!contentType) return false;
  const mime = contentType.split(";")[0]!.trim().toLowerCase();
  return mime === "application/json" || (mime.startsWith("application/") && mime.endsWith("+json"));
}

/**
 * The canonical content of a request body, the bytes `requestHash` and a receipt's `inputHash` cover:
 * for a JSON body (by Content-Type), the UTF-8 of `canonicalJson(JSON.parse(body))`, so key order and
 * whitespace do not matter; for any other body (multipart audio, images), the body bytes as sent.
 * Throws `InvalidInputError` `INVALID_REQUEST_BODY` for a JSON Content-Type with a body that is not JSON.
 * @example requestContent('{"model":"m", "stream":true}', "application/json") // utf8('{"model":"m","stream":true}')
 */
export function requestContent(
  body: string | Uint8Array | undefined,
  contentType: string | null | undefined,
): Uint8Array {
  const raw = body === undefined ? new Uint8Array(0) : typeof body === "string" ? utf8(body) : body;
  if (!isJsonContentType(contentType)) return raw;
  let parsed: unknown;
  try {
    parsed = JSON.parse(
      typeof body === "string" ? body : new TextDecoder("utf-8", { fatal: true }).decode(raw),
    );
  } catch {
    throw new InvalidInputError("INVALID_REQUEST_BODY", "request body is not valid JSON");
  }
  return utf8(canonicalJson(parsed));
}

/**
 * `requestHash = keccak256(requestContent(body, contentType))`: what a quote binds and what the client
 * SDK recomputes from the request it sent.
 * @example requestHash(JSON.stringify({ model: "m", messages }), "application/json") // "0x…"
 */
export function requestHash(
  body: string | Uint8Array | undefined,
  contentType: string | null | undefined,
): Hex {
  return bytesToHex(keccak256(requestContent(body, contentType)));
}

/**
 * The request hash of a JSON value (as already parsed): keccak256 of its canonical JSON.
 * @example jsonRequestHash({ model: "m", messages }) // same as requestHash(JSON.stringify(...), "application/json")
 */
export function jsonRequestHash(value: unknown): Hex {
  return bytesToHex(keccak256(utf8(canonicalJson(value))));
}
