import { keccak_256 } from "@noble/hashes/sha3.js";
import { createKeccak, type IHasher } from "hash-wasm";

// Every ticket costs five or six Keccak hashes; hash-wasm's WebAssembly Keccak is ~5x faster than the
// pure-JS one. WebAssembly instantiates asynchronously, so calls made before it is ready (the first
// milliseconds after import) use @noble/hashes, which gives the same bytes.
let wasm: IHasher | undefined;
const ready: Promise<void> = createKeccak(256).then(
  (h) => {
    wasm = h;
  },
  () => undefined,
);

/**
 * Resolves once the WebAssembly Keccak is in use (it always falls back to pure JS meanwhile).
 * @example await keccakReady()
 */
export function keccakReady(): Promise<void> {
  return ready;
}

/**
 * Original Keccak-256 (Ethereum's), not NIST SHA3-256.
 * @example bytesToHex(keccak256(utf8("foo"))) // "0x41b1a064..."
 */
export function keccak256(data: Uint8Array): Uint8Array {
  if (wasm) {
    wasm.init();
    wasm.update(data);
    return wasm.digest("binary");
  }
  return keccak_256(data);
}

/** The pure-JS Keccak-256, for tests that compare both paths. */
export function keccak256Js(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}
