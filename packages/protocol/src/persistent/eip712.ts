import { bytesToHex, tryHexToBytes, utf8, type Hex } from "../bytes/hex.js";
import { writeUint } from "../bytes/integers.js";
import { keccak256 } from "../crypto/keccak256.js";
import { InvalidInputError } from "../errors.js";

// EIP-712 for flat structs (no nested struct types), which is all livepay signs. Static fields are
// written in place into one buffer (the hot path: a voucher is hashed on every request); `string`
// and `bytes` are replaced by the keccak256 of their contents, as the standard requires.

/** One member of an EIP-712 struct type, e.g. `{ name: "epoch", type: "uint64" }`. */
export interface Eip712Field {
  readonly name: string;
  readonly type: string;
}

/** A flat EIP-712 struct type with its canonical type string and precomputed type hash. */
export interface Eip712Struct {
  readonly name: string;
  readonly fields: readonly Eip712Field[];
  /** `Name(type1 name1,type2 name2,...)`, exactly what `encodeType` produces. */
  readonly typeString: string;
  /** keccak256 of `typeString`. */
  readonly typeHash: Uint8Array;
}

/** The four-field domain livepay uses: `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`. */
export interface Eip712Domain {
  name: string;
  version: string;
  chainId: bigint | number;
  verifyingContract: Hex;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function checkType(type: string): void {
  if (type === "address" || type === "bool" || type === "bytes32" || type === "string" || type === "bytes")
    return;
  const m = /^uint(\d+)$/.exec(type);
  if (m) {
    const bits = Number(m[1]);
    if (bits >= 8 && bits <= 256 && bits % 8 === 0 && String(bits) === m[1]) return;
  }
  throw new InvalidInputError("INVALID_TYPED_DATA", `unsupported EIP-712 field type ${type}`, { type });
}

/**
 * Declares a flat struct type and precomputes its type string and hash.
 * @example const Mail = defineEip712Struct("Mail", [{ name: "contents", type: "string" }]);
 */
export function defineEip712Struct(name: string, fields: readonly Eip712Field[]): Eip712Struct {
  if (!IDENT.test(name)) throw new InvalidInputError("INVALID_TYPED_DATA", "invalid struct name", { name });
  const seen = new Set<string>();
  for (const f of fields) {
    if (!IDENT.test(f.name) || seen.has(f.name)) {
      throw new InvalidInputError("INVALID_TYPED_DATA", "invalid or duplicate field name", { field: f.name });
    }
    seen.add(f.name);
    checkType(f.type);
  }
  const typeString = `${name}(${fields.map((f) => `${f.type} ${f.name}`).join(",")})`;
  return Object.freeze({
    name,
    fields: Object.freeze([...fields]),
    typeString,
    typeHash: keccak256(utf8(typeString)),
  });
}

// Quotes repeat the same few capability, model and unit strings; their hashes are cached (strings are
// immutable, so a cached hash can never go stale). Bounded: cleared when full.
const STRING_HASHES = new Map<string, Uint8Array>();

function stringHash(value: string): Uint8Array {
  let h = STRING_HASHES.get(value);
  if (!h) {
    h = keccak256(utf8(value));
    if (value.length <= 256) {
      if (STRING_HASHES.size >= 1024) STRING_HASHES.clear();
      STRING_HASHES.set(value, h);
    }
  }
  return h;
}

function bad(field: string, type: string): InvalidInputError {
  return new InvalidInputError("INVALID_TYPED_DATA", `${field} is not a valid ${type}`, { field, type });
}

function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === "bigint") return value;
  // Plain JavaScript callers may pass numbers: only exact (safe) integers are accepted.
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  return undefined;
}

/** Writes one field's 32-byte encoding (`encodeData` member) at `offset`. */
function encodeField(out: Uint8Array, offset: number, field: Eip712Field, value: unknown): void {
  const { name, type } = field;
  switch (type) {
    case "address": {
      const b = tryHexToBytes(value, true);
      if (!b || b.length !== 20) throw bad(name, type);
      out.set(b, offset + 12);
      return;
    }
    case "bytes32": {
      const b = tryHexToBytes(value, true);
      if (!b || b.length !== 32) throw bad(name, type);
      out.set(b, offset);
      return;
    }
    case "bool":
      if (typeof value !== "boolean") throw bad(name, type);
      out[offset + 31] = value ? 1 : 0;
      return;
    case "string":
      if (typeof value !== "string") throw bad(name, type);
      out.set(stringHash(value), offset);
      return;
    case "bytes": {
      const b = value instanceof Uint8Array ? value : tryHexToBytes(value, true);
      if (!b) throw bad(name, type);
      out.set(keccak256(b), offset);
      return;
    }
    default: {
      // uintN (checked when the struct was defined)
      const bits = BigInt(type.slice(4));
      const v = toBigInt(value);
      if (v === undefined || v < 0n || v >> bits !== 0n) throw bad(name, type);
      writeUint(out, offset, v, 32);
    }
  }
}

/**
 * `encodeData`: the type hash followed by each field's 32-byte encoding, in declaration order.
 * Throws `InvalidInputError` `INVALID_TYPED_DATA` naming the first field that does not fit its type.
 * @example eip712EncodeData(Mail, { contents: "hi" }).length // 64
 */
export function eip712EncodeData(
  struct: Eip712Struct,
  values: Readonly<Record<string, unknown>>,
): Uint8Array {
  const out = new Uint8Array(32 * (struct.fields.length + 1));
  out.set(struct.typeHash, 0);
  for (let i = 0; i < struct.fields.length; i++) {
    const f = struct.fields[i]!;
    encodeField(out, 32 * (i + 1), f, values[f.name]);
  }
  return out;
}

/**
 * `hashStruct` = keccak256(encodeData).
 * @example eip712StructHash(Mail, { contents: "hi" }) // 32 bytes
 */
export function eip712StructHash(
  struct: Eip712Struct,
  values: Readonly<Record<string, unknown>>,
): Uint8Array {
  return keccak256(eip712EncodeData(struct, values));
}

/** The EIP712Domain struct with livepay's four fields. */
export const EIP712_DOMAIN_STRUCT = defineEip712Struct("EIP712Domain", [
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "chainId", type: "uint256" },
  { name: "verifyingContract", type: "address" },
]);

/**
 * The domain separator: `hashStruct(EIP712Domain{name, version, chainId, verifyingContract})`.
 * @example bytesToHex(eip712DomainSeparator({ name: "x", version: "1", chainId: 1n, verifyingContract })) // "0x…"
 */
export function eip712DomainSeparator(domain: Eip712Domain): Uint8Array {
  return eip712StructHash(EIP712_DOMAIN_STRUCT, domain as unknown as Record<string, unknown>);
}

/**
 * The signed digest: `keccak256(0x19 0x01 ‖ domainSeparator ‖ structHash)`, i.e. viem's `hashTypedData`.
 * @example eip712Digest(eip712DomainSeparator(domain), eip712StructHash(Mail, mail))
 */
export function eip712Digest(domainSeparator: Uint8Array, structHash: Uint8Array): Uint8Array {
  if (domainSeparator.length !== 32 || structHash.length !== 32) {
    throw new InvalidInputError("INVALID_TYPED_DATA", "domain separator and struct hash must be 32 bytes");
  }
  const buf = new Uint8Array(66);
  buf[0] = 0x19;
  buf[1] = 0x01;
  buf.set(domainSeparator, 2);
  buf.set(structHash, 34);
  return keccak256(buf);
}

/**
 * The digest as 0x hex. Convenience for logs and JSON.
 * @example eip712DigestHex(ds, sh) // "0x…"
 */
export function eip712DigestHex(domainSeparator: Uint8Array, structHash: Uint8Array): Hex {
  return bytesToHex(eip712Digest(domainSeparator, structHash));
}
