import { InvalidInputError } from "../errors.js";
import { keccak256 } from "../crypto/keccak256.js";
import { bytesToHex, hexToBytes, utf8, type Hex } from "./hex.js";

export const ZERO_ADDRESS: Hex = "0x0000000000000000000000000000000000000000";

/**
 * Validates a 20-byte address (any case) and returns it lowercase.
 * @example normalizeAddress("0xF39F...2266") // "0xf39f...2266"
 */
export function normalizeAddress(address: string): Hex {
  if (typeof address !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(address)) {
    throw new InvalidInputError("INVALID_ADDRESS", "invalid address", {
      value: String(address).slice(0, 80),
    });
  }
  return address.toLowerCase() as Hex;
}

/**
 * 20 raw bytes as a lowercase address; throws unless exactly 20 bytes.
 * @example bytesToAddress(payment.sender)
 */
export function bytesToAddress(bytes: Uint8Array): Hex {
  if (bytes.length !== 20) {
    throw new InvalidInputError("INVALID_ADDRESS", "address must be 20 bytes", { length: bytes.length });
  }
  return bytesToHex(bytes);
}

/** 20 raw bytes of an address. @example addressToBytes("0xf39f...") */
export function addressToBytes(address: string): Uint8Array {
  return hexToBytes(normalizeAddress(address));
}

/**
 * EIP-55 mixed-case checksum form (what go-ethereum's `Address.Hex()` prints).
 * @example checksumAddress("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266") // "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
 */
export function checksumAddress(address: string): string {
  const lower = normalizeAddress(address).slice(2);
  const hash = bytesToHex(keccak256(utf8(lower))).slice(2);
  let out = "0x";
  for (let i = 0; i < 40; i++) {
    out += parseInt(hash[i]!, 16) >= 8 ? lower[i]!.toUpperCase() : lower[i]!;
  }
  return out;
}
