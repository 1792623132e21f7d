import {
  ScalarType,
  fromBinary,
  toBinary,
  type DescField,
  type DescMessage,
  type Message,
  type MessageShape,
  type UnknownField,
} from "@bufbuild/protobuf";
import { bytesToHex, type Hex } from "../bytes/hex.js";
import { encHex } from "./fields.js";
import { WireError } from "./errors.js";

// go-livepeer's messages are proto3 without groups; wire types 3, 4, 6 and 7 never occur.
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;
const MAX_FIELD_NUMBER = 2 ** 29 - 1;

function scalarWireType(t: ScalarType): number {
  switch (t) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return LEN;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return I64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return I32;
    default:
      return VARINT;
  }
}

const fieldIndex = new WeakMap<DescMessage, Map<number, DescField>>();
function fieldsOf(desc: DescMessage): Map<number, DescField> {
  let m = fieldIndex.get(desc);
  if (!m) {
    m = new Map(desc.fields.map((f) => [f.number, f]));
    fieldIndex.set(desc, m);
  }
  return m;
}

function bad(what: string, reason: string, position: number): WireError {
  return new WireError("INVALID_PROTOBUF", `invalid ${what} protobuf: ${reason}`, { position });
}

/**
 * A strict pre-pass over protobuf bytes, driven by the message descriptor. protobuf-es's reader is
 * lenient about wire types of known fields (it reads a bytes field sent as a varint as if it were
 * length-prefixed); this pass rejects every record whose wire type does not match the schema, every
 * length or varint that runs past its enclosing message, over-long varints, field number 0 and groups,
 * so that what reaches `fromBinary` is structurally sound. The schema has no recursive messages, so
 * nesting depth is bounded by the schema (at most 8).
 */
class Scanner {
  pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {}

  varint(end: number): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw bad(this.what, "truncated varint", this.pos);
      const b = this.buf[this.pos++]!;
      if (i === 9 && b > 1) throw bad(this.what, "varint overflows 64 bits", this.pos - 1);
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw bad(this.what, "varint longer than 10 bytes", this.pos);
  }

  /** Advances past one value of wire type `wt`; `end` is the end of the enclosing message. */
  skip(wt: number, end: number): void {
    switch (wt) {
      case VARINT:
        this.varint(end);
        return;
      case I64:
        this.advance(8, end);
        return;
      case I32:
        this.advance(4, end);
        return;
      case LEN:
        this.advance(this.varint(end), end);
        return;
      default:
        throw bad(this.what, `unsupported wire type ${wt}`, this.pos);
    }
  }

  advance(n: number, end: number): void {
    if (n > end - this.pos) throw bad(this.what, "length runs past the end of the message", this.pos);
    this.pos += n;
  }

  /** Reads a length prefix and returns the end offset of the value it announces. */
  lengthEnd(end: number): number {
    const n = this.varint(end);
    if (n > end - this.pos) throw bad(this.what, "length runs past the end of the message", this.pos);
    return this.pos + n;
  }

  tag(end: number): [number, number] {
    const start = this.pos;
    const tag = this.varint(end);
    const fieldNo = Math.floor(tag / 8);
    if (fieldNo < 1 || fieldNo > MAX_FIELD_NUMBER) throw bad(this.what, "invalid field number", start);
    return [fieldNo, tag % 8];
  }

  expect(field: string, wt: number, want: number): void {
    if (wt !== want) throw bad(this.what, `wrong wire type ${wt} for field ${field}`, this.pos);
  }

  message(desc: DescMessage, end: number): void {
    const fields = fieldsOf(desc);
    while (this.pos < end) {
      const [no, wt] = this.tag(end);
      const field = fields.get(no);
      if (field === undefined) this.skip(wt, end);
      else this.field(field, wt, end);
    }
  }

  field(f: DescField, wt: number, end: number): void {
    switch (f.fieldKind) {
      case "scalar":
        this.expect(f.name, wt, scalarWireType(f.scalar));
        this.skip(wt, end);
        return;
      case "enum":
        this.expect(f.name, wt, VARINT);
        this.skip(wt, end);
        return;
      case "message":
        this.expect(f.name, wt, LEN);
        this.message(f.message, this.lengthEnd(end));
        return;
      case "list": {
        if (f.listKind === "message") {
          this.expect(f.name, wt, LEN);
          this.message(f.message, this.lengthEnd(end));
          return;
        }
        const elem = f.listKind === "enum" ? VARINT : scalarWireType(f.scalar);
        if (wt === LEN && elem !== LEN) {
          // Packed repeated scalars: a run of values that must end exactly at the announced length.
          const packedEnd = this.lengthEnd(end);
          while (this.pos < packedEnd) this.skip(elem, packedEnd);
          return;
        }
        this.expect(f.name, wt, elem);
        this.skip(wt, end);
        return;
      }
      case "map": {
        this.expect(f.name, wt, LEN);
        const entryEnd = this.lengthEnd(end);
        while (this.pos < entryEnd) {
          const [no, ewt] = this.tag(entryEnd);
          if (no === 1) {
            this.expect(`${f.name}.key`, ewt, scalarWireType(f.mapKey));
            this.skip(ewt, entryEnd);
          } else if (no === 2 && f.mapKind === "message") {
            this.expect(`${f.name}.value`, ewt, LEN);
            this.message(f.message, this.lengthEnd(entryEnd));
          } else if (no === 2) {
            this.expect(`${f.name}.value`, ewt, f.mapKind === "scalar" ? scalarWireType(f.scalar) : VARINT);
            this.skip(ewt, entryEnd);
          } else {
            this.skip(ewt, entryEnd);
          }
        }
        return;
      }
    }
  }
}

/**
 * Strictly decodes protobuf bytes into a protobuf-es message: size cap, structural pre-pass, then
 * `fromBinary` (which also rejects invalid UTF-8 in string fields, as Go does). Throws only
 * `WireError` (`MESSAGE_TOO_LARGE`, `INVALID_PROTOBUF`).
 * @example decodeMessage(PaymentSchema, bytes, "Payment", MAX_PAYMENT_BYTES)
 */
export function decodeMessage<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
  what: string,
  maxBytes: number,
): MessageShape<Desc> {
  if (!(bytes instanceof Uint8Array)) {
    throw new WireError("INVALID_PROTOBUF", `invalid ${what} protobuf: not a Uint8Array`);
  }
  if (bytes.length > maxBytes) {
    throw new WireError("MESSAGE_TOO_LARGE", `${what} is larger than ${maxBytes} bytes`, {
      length: bytes.length,
      max: maxBytes,
    });
  }
  new Scanner(bytes, what).message(schema, bytes.length);
  try {
    return fromBinary(schema, bytes);
  } catch (e) {
    throw new WireError("INVALID_PROTOBUF", `invalid ${what} protobuf: ${(e as Error).message}`);
  }
}

/**
 * Encodes a protobuf-es message: fields in ascending number order, proto3 zero values omitted, set
 * sub-messages always written, unknown fields last (all as Go's `proto.Marshal`).
 * @example encodeMessage(PaymentSchema, msg)
 */
export function encodeMessage<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): Uint8Array {
  try {
    return toBinary(schema, message);
  } catch (e) {
    // Field values are validated before they get here; this only guards against a missed case.
    throw new WireError("INVALID_FIELD", `cannot encode ${schema.typeName}: ${(e as Error).message}`);
  }
}

/**
 * The fields of a decoded message that the schema does not declare, as raw records (tag and value)
 * in wire order; undefined when there are none.
 * @example unknownFieldsHex(fromBinary(PaymentSchema, bytes))
 */
export function unknownFieldsHex(message: Message): Hex | undefined {
  const unknown = message.$unknown;
  if (unknown === undefined || unknown.length === 0) return undefined;
  const parts: number[] = [];
  for (const { no, wireType, data } of unknown) {
    let tag = no * 8 + wireType;
    while (tag >= 0x80) {
      parts.push((tag % 0x80) | 0x80);
      tag = Math.floor(tag / 0x80);
    }
    parts.push(tag);
    for (const b of data) parts.push(b);
  }
  return bytesToHex(new Uint8Array(parts));
}

/**
 * Parses `unknownFields` hex of a domain object back into protobuf-es unknown fields, rejecting
 * malformed records and records that reuse a field number the schema declares (they would be read
 * back as that field).
 * @example msg.$unknown = parseUnknownFields(PaymentSchema, p.unknownFields, "Payment.unknownFields")
 */
export function parseUnknownFields(
  desc: DescMessage,
  hex: unknown,
  field: string,
): UnknownField[] | undefined {
  if (hex === undefined) return undefined;
  const bytes = encHex(hex, field);
  const scanner = new Scanner(bytes, field);
  const fields = fieldsOf(desc);
  const out: UnknownField[] = [];
  try {
    while (scanner.pos < bytes.length) {
      const [no, wireType] = scanner.tag(bytes.length);
      if (fields.has(no)) throw bad(field, `field ${no} is declared by the schema`, scanner.pos);
      const start = scanner.pos;
      scanner.skip(wireType, bytes.length);
      out.push({ no, wireType, data: bytes.slice(start, scanner.pos) });
    }
  } catch (e) {
    throw new WireError("INVALID_FIELD", `${field}: ${(e as Error).message}`, { field });
  }
  return out.length > 0 ? out : undefined;
}

/**
 * Sets `unknownFields` on a decoded domain object when the message had undeclared fields, and
 * leaves the property absent otherwise (so canonical objects deep-equal their round trip).
 * @example withUnknown({ sig }, unknownFieldsHex(pb))
 */
export function withUnknown<T extends object>(value: T, unknown: Hex | undefined): T {
  if (unknown !== undefined) (value as { unknownFields?: Hex }).unknownFields = unknown;
  return value;
}
