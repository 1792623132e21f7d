// data: URIs, as ai-runner returns generated images and audio.
import { badRequest } from "./errors.js";

/**
 * A base64 `data:` URI for `bytes`.
 *
 * @example
 * toDataUri("image/png", png) // "data:image/png;base64,iVBORw0KGgo..."
 */
export function toDataUri(mediaType: string, bytes: Uint8Array): string {
  return `data:${mediaType};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")}`;
}

/**
 * Decodes a `data:` URI (base64 or percent-encoded). Throws `BAD_REQUEST` when it is not one.
 *
 * @example
 * parseDataUri("data:text/plain;base64,aGk=") // { mediaType: "text/plain", data: <68 69> }
 */
export function parseDataUri(uri: string): { mediaType: string; data: Buffer } {
  const m = /^data:([^,]*?),(.*)$/s.exec(uri);
  if (!m) throw badRequest("not a data: URI");
  const params = m[1]!.split(";");
  const base64 = params[params.length - 1]!.toLowerCase() === "base64";
  if (base64) params.pop();
  const mediaType = params[0] || "text/plain";
  const body = m[2]!;
  if (base64) {
    if (!/^[A-Za-z0-9+/=\s_-]*$/.test(body)) throw badRequest("data: URI has invalid base64");
    return { mediaType, data: Buffer.from(body, "base64") };
  }
  return { mediaType, data: Buffer.from(decodeURIComponent(body), "utf8") };
}
