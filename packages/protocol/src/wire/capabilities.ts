import { create } from "@bufbuild/protobuf";
import type { Hex } from "../bytes/hex.js";
import {
  CapabilitiesSchema,
  Capabilities_CapabilityConstraintsSchema,
  Capabilities_ConstraintsSchema,
  Capabilities_ModelConstraintSchema,
  type Capabilities as PbCapabilities,
  type Capabilities_CapabilityConstraints as PbCapabilityConstraints,
  type Capabilities_Constraints as PbConstraints,
  type Capabilities_ModelConstraint as PbModelConstraint,
} from "./generated/net/lp_rpc_pb.js";
import { MAX_WIRE_MESSAGE_BYTES } from "./limits.js";
import { encArray, encBool, encObject, encString, encUint32, encUint64, invalidField } from "./fields.js";
import {
  decodeMessage,
  encodeMessage,
  parseUnknownFields,
  unknownFieldsHex,
  withUnknown,
} from "./protobufCodec.js";

/** `net.Capabilities.ModelConstraint`: one model a runner serves. */
export interface ModelConstraint {
  warm: boolean;
  capacity: number;
  runnerVersion: string;
  capacityInUse: number;
  unknownFields?: Hex;
}

/** `net.Capabilities.CapabilityConstraints`: the models of one capability, by model id. */
export interface CapabilityConstraints {
  models: Map<string, ModelConstraint>;
  unknownFields?: Hex;
}

/** `net.Capabilities.Constraints`. */
export interface CapabilitiesConstraints {
  minVersion: string;
  /** By capability id (27 text-to-image ... 35 live-video-to-video, 36 text-to-speech, 37 BYOC). */
  perCapability: Map<number, CapabilityConstraints>;
  unknownFields?: Hex;
}

/**
 * `net.Capabilities`. Maps are `Map`s (model ids are arbitrary strings, `"__proto__"` included);
 * decoding yields them in ascending key order and encoding writes them in ascending key order,
 * go-livepeer's deterministic order (see WIRE.md for the one exception).
 */
export interface Capabilities {
  /** uint64 words of the capability bit set. */
  bitstring: bigint[];
  mandatories: bigint[];
  /** Capability id -> capacity. */
  capacities: Map<number, number>;
  version: string;
  constraints?: CapabilitiesConstraints;
  unknownFields?: Hex;
}

// UTF-8 byte order equals code point order, which is what Go's deterministic marshal sorts by.
function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function numericMap<V, W>(record: { [key: number]: V }, convert: (v: V) => W): Map<number, W> {
  const keys = Object.keys(record)
    .map(Number)
    .sort((a, b) => a - b);
  return new Map(keys.map((k) => [k, convert(record[k]!)]));
}

// Own properties only: a "__proto__" key must become a property, not the record's prototype.
function setOwn<V>(record: Record<string, V>, key: string, value: V): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

function mapOf(value: unknown, field: string): Map<unknown, unknown> {
  if (!(value instanceof Map)) invalidField(field, "must be a Map");
  return value;
}

function modelFromProto(m: PbModelConstraint): ModelConstraint {
  return withUnknown(
    { warm: m.warm, capacity: m.capacity, runnerVersion: m.runnerVersion, capacityInUse: m.capacityInUse },
    unknownFieldsHex(m),
  );
}

function modelToProto(v: unknown, field: string): PbModelConstraint {
  const o = encObject(v, field);
  const m = create(Capabilities_ModelConstraintSchema, {
    warm: encBool(o.warm, `${field}.warm`),
    capacity: encUint32(o.capacity, `${field}.capacity`),
    runnerVersion: encString(o.runnerVersion, `${field}.runnerVersion`),
    capacityInUse: encUint32(o.capacityInUse, `${field}.capacityInUse`),
  });
  m.$unknown = parseUnknownFields(
    Capabilities_ModelConstraintSchema,
    o.unknownFields,
    `${field}.unknownFields`,
  );
  return m;
}

function capabilityConstraintsFromProto(m: PbCapabilityConstraints): CapabilityConstraints {
  const keys = Object.keys(m.models).sort(compareCodePoints);
  return withUnknown(
    { models: new Map(keys.map((k) => [k, modelFromProto(m.models[k]!)])) },
    unknownFieldsHex(m),
  );
}

function capabilityConstraintsToProto(v: unknown, field: string): PbCapabilityConstraints {
  const o = encObject(v, field);
  const models = mapOf(o.models, `${field}.models`);
  const entries = [...models].map(([k, val]) => [encString(k, `${field}.models key`), val] as const);
  entries.sort((a, b) => compareCodePoints(a[0], b[0]));
  const record: Record<string, PbModelConstraint> = {};
  for (const [k, val] of entries)
    setOwn(record, k, modelToProto(val, `${field}.models[${JSON.stringify(k)}]`));
  const m = create(Capabilities_CapabilityConstraintsSchema);
  m.models = record;
  m.$unknown = parseUnknownFields(
    Capabilities_CapabilityConstraintsSchema,
    o.unknownFields,
    `${field}.unknownFields`,
  );
  return m;
}

function constraintsFromProto(m: PbConstraints): CapabilitiesConstraints {
  return withUnknown(
    { minVersion: m.minVersion, perCapability: numericMap(m.PerCapability, capabilityConstraintsFromProto) },
    unknownFieldsHex(m),
  );
}

function constraintsToProto(v: unknown, field: string): PbConstraints {
  const o = encObject(v, field);
  const per = mapOf(o.perCapability, `${field}.PerCapability`);
  const entries = [...per].map(([k, val]) => [encUint32(k, `${field}.PerCapability key`), val] as const);
  entries.sort((a, b) => a[0] - b[0]);
  const record: { [key: number]: PbCapabilityConstraints } = {};
  for (const [k, val] of entries)
    record[k] = capabilityConstraintsToProto(val, `${field}.PerCapability[${k}]`);
  const m = create(Capabilities_ConstraintsSchema, {
    minVersion: encString(o.minVersion, `${field}.minVersion`),
  });
  m.PerCapability = record;
  m.$unknown = parseUnknownFields(Capabilities_ConstraintsSchema, o.unknownFields, `${field}.unknownFields`);
  return m;
}

/** Domain Capabilities from protobuf-es. @example capabilitiesFromProto(pb) */
export function capabilitiesFromProto(m: PbCapabilities): Capabilities {
  const out: Capabilities = {
    bitstring: [...m.bitstring],
    mandatories: [...m.mandatories],
    capacities: numericMap(m.capacities, (v) => v),
    version: m.version,
  };
  if (m.constraints !== undefined) out.constraints = constraintsFromProto(m.constraints);
  return withUnknown(out, unknownFieldsHex(m));
}

/** protobuf-es Capabilities from the domain. @example capabilitiesToProto(caps, "OrchestratorRequest.capabilities") */
export function capabilitiesToProto(c: Capabilities, field: string): PbCapabilities {
  const o = encObject(c, field);
  const capacities = mapOf(o.capacities, `${field}.capacities`);
  const entries = [...capacities].map(
    ([k, v]) =>
      [encUint32(k, `${field}.capacities key`), encUint32(v, `${field}.capacities[${String(k)}]`)] as const,
  );
  entries.sort((a, b) => a[0] - b[0]);
  const record: { [key: number]: number } = {};
  for (const [k, v] of entries) record[k] = v;
  const m = create(CapabilitiesSchema, {
    bitstring: encArray(o.bitstring, `${field}.bitstring`).map((v, i) =>
      encUint64(v, `${field}.bitstring[${i}]`),
    ),
    mandatories: encArray(o.mandatories, `${field}.mandatories`).map((v, i) =>
      encUint64(v, `${field}.mandatories[${i}]`),
    ),
    version: encString(o.version, `${field}.version`),
  });
  m.capacities = record;
  if (o.constraints !== undefined) m.constraints = constraintsToProto(o.constraints, `${field}.constraints`);
  m.$unknown = parseUnknownFields(CapabilitiesSchema, o.unknownFields, `${field}.unknownFields`);
  return m;
}

/**
 * Protobuf bytes of Capabilities (the remote signer's `capabilities` field is their base64).
 * @example encodeCapabilities({ bitstring: [1n], mandatories: [], capacities: new Map([[27, 1]]), version: "" })
 */
export function encodeCapabilities(c: Capabilities): Uint8Array {
  return encodeMessage(CapabilitiesSchema, capabilitiesToProto(c, "Capabilities"));
}

/** Decodes Capabilities bytes; throws only WireError. @example decodeCapabilities(bytes).capacities.get(27) */
export function decodeCapabilities(bytes: Uint8Array): Capabilities {
  return capabilitiesFromProto(
    decodeMessage(CapabilitiesSchema, bytes, "Capabilities", MAX_WIRE_MESSAGE_BYTES),
  );
}
