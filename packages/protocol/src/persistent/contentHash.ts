import { bytesToHex, concatBytes, tryHexToBytes, utf8, type Hex } from "../bytes/hex.js";
import { keccak256 } from "../crypto/keccak256.js";
import { InvalidInputError } from "../errors.js";
import { canonicalJson } from "./canonicalJson.js";

/**
 * A salted content hash, `keccak256(salt ‖ content)`: a receipt can be published (treasury reports)
 * without letting anyone confirm a guess of a short prompt or answer; whoever holds the content and
 * the salt (the payer, from the receipt) can check it.
 * @example saltedHash(salt, llmOutputContent([{ text: "Hi!", finishReason: "stop" }]))
 */
export function saltedHash(salt: Hex, content: Uint8Array): Hex {
  const s = tryHexToBytes(salt, true);
  if (!s || s.length !== 32) throw new InvalidInputError("INVALID_SALT", "salt must be 32 bytes of 0x hex");
  return bytesToHex(keccak256(concatBytes(s, content)));
}

/** One generated choice of an LLM response: its whole text and why it stopped. */
export interface LlmChoiceOutput {
  /** The concatenation of every streamed `delta.content` (or the non-streamed `message.content`). */
  text: string;
  /** `finish_reason` ("stop", "length", ...) or null if the stream ended without one. */
  finishReason: string | null;
}

/**
 * Canonical LLM output content: UTF-8 of `canonicalJson([{finish_reason, text}, ...])`, one entry per
 * choice in index order. The text is the concatenation of the deltas, so a streamed and a non-streamed
 * response of the same text hash the same, whatever the chunking or transport.
 * @example llmOutputContent([{ text: "Hello", finishReason: "stop" }]) // utf8('[{"finish_reason":"stop","text":"Hello"}]')
 */
export function llmOutputContent(choices: readonly LlmChoiceOutput[]): Uint8Array {
  return utf8(canonicalJson(choices.map((c) => ({ finish_reason: c.finishReason, text: c.text }))));
}

/**
 * Canonical image output content: the concatenation of keccak256(image bytes) of every delivered image
 * in order (32 bytes each), i.e. the decoded image files, not their base64 or URL.
 * @example imageOutputContent([png1, png2]).length // 64
 */
export function imageOutputContent(images: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(32 * images.length);
  images.forEach((img, i) => out.set(keccak256(img), 32 * i));
  return out;
}

/**
 * Canonical audio output content (text-to-speech): keccak256 of the audio file as delivered (the
 * response body), like one image of `imageOutputContent`.
 * @example saltedHash(salt, audioOutputContent(new Uint8Array(await res.arrayBuffer())))
 */
export function audioOutputContent(audio: Uint8Array): Uint8Array {
  return keccak256(audio);
}

/**
 * Canonical transcription output content (audio-to-text): the UTF-8 of the transcript text, the same
 * whether it was answered as JSON (`text`), verbose JSON or plain text.
 * @example transcriptOutputContent("hello world") // utf8("hello world")
 */
export function transcriptOutputContent(text: string): Uint8Array {
  return utf8(text);
}
