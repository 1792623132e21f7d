import { InvalidInputError } from "../errors.js";

/** A JSON value as `JSON.parse` returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Deepest nesting accepted: request bodies come from untrusted clients, recursion must stay bounded. */
export const CANONICAL_JSON_MAX_DEPTH = 256;

function fail(reason: string, path: string): InvalidInputError {
  return new InvalidInputError("INVALID_CANONICAL_JSON", `cannot canonicalize JSON: ${reason}`, { path });
}

function write(value: unknown, depth: number, path: string, out: string[]): void {
  if (value === null) {
    out.push("null");
    return;
  }
  switch (typeof value) {
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "number":
      if (!Number.isFinite(value)) throw fail("non-finite number", path);
      // ECMAScript Number::toString: the shortest string that round-trips (RFC 8785 §3.2.2.3); -0 is "0".
      out.push(JSON.stringify(value));
      return;
    case "string":
      out.push(JSON.stringify(value));
      return;
    case "object": {
      if (depth >= CANONICAL_JSON_MAX_DEPTH) throw fail("nesting too deep", path);
      if (Array.isArray(value)) {
        out.push("[");
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(",");
          const item: unknown = value[i];
          // JSON.stringify writes null for undefined array items; so do we, to match what was sent.
          write(item === undefined ? null : item, depth + 1, `${path}[${i}]`, out);
        }
        out.push("]");
        return;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) throw fail("not a plain object", path);
      const obj = value as Record<string, unknown>;
      // Keys sorted by UTF-16 code units (JavaScript's default sort), as RFC 8785 §3.2.3 requires.
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      out.push("{");
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        if (i > 0) out.push(",");
        out.push(JSON.stringify(k), ":");
        write(obj[k], depth + 1, `${path}.${k}`, out);
      }
      out.push("}");
      return;
    }
    default:
      throw fail(`unsupported ${typeof value}`, path);
  }
}

/**
 * livepay's canonical JSON (the RFC 8785 "JCS" form for values `JSON.parse` produces): no whitespace;
 * object keys sorted by UTF-16 code units; strings and numbers exactly as `JSON.stringify` writes them
 * (shortest round-trip numbers, `-0` as `0`, minimal escapes); object members whose value is
 * `undefined` omitted. Rejects NaN/Infinity, bigint, functions, symbols, non-plain objects and nesting
 * deeper than 256 with `InvalidInputError` `INVALID_CANONICAL_JSON`.
 * @example canonicalJson({ b: [1, 2.50], a: "x" }) // '{"a":"x","b":[1,2.5]}'
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, 0, "$", out);
  return out.join("");
}
