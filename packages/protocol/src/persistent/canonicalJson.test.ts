import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8 } from "../bytes/hex.js";
import { InvalidInputError } from "../errors.js";
import { canonicalJson } from "./canonicalJson.js";
import { isJsonContentType, jsonRequestHash, requestContent, requestHash } from "./requestHash.js";

function shuffleKeys(v: unknown, seed: number): unknown {
  if (Array.isArray(v)) return v.map((x, i) => shuffleKeys(x, seed + i));
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>);
    entries.sort(
      (a, b) => ((a[0].length * 31 + seed) % 7) - ((b[0].length * 31 + seed) % 7) || (seed % 2 ? 1 : -1),
    );
    return Object.fromEntries(entries.map(([k, x]) => [k, shuffleKeys(x, seed + 1)]));
  }
  return v;
}

describe("canonical JSON", () => {
  it("sorts keys by UTF-16 code units, no whitespace, numbers as JSON.stringify writes them", () => {
    expect(canonicalJson({ b: [1, 2.5, -0, 1e21, 1e-7], a: "x", é: null, B: true, "": {} })).toBe(
      '{"":{},"B":true,"a":"x","b":[1,2.5,0,1e+21,1e-7],"é":null}',
    );
    expect(canonicalJson({ "\ud83d\ude00": 1, "\uff61": 2 })).toBe('{"😀":1,"｡":2}'); // U+D83D < U+FF61
    expect(canonicalJson('\u2028\n"\\')).toBe('"\u2028\\n\\"\\\\"');
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
  });

  it("is independent of key order and whitespace, and idempotent", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (v, seed) => {
        const c = canonicalJson(v);
        expect(canonicalJson(shuffleKeys(v, seed))).toBe(c);
        expect(canonicalJson(JSON.parse(JSON.stringify(v, null, 2)))).toBe(c);
        expect(canonicalJson(JSON.parse(c))).toBe(c);
      }),
    );
  });

  it("rejects what JSON cannot carry", () => {
    for (const bad of [NaN, Infinity, 1n, () => 1, Symbol("x"), new Date(0), new Map()]) {
      expect(() => canonicalJson({ x: bad })).toThrow(InvalidInputError);
    }
    let deep: unknown = 1;
    for (let i = 0; i < 300; i++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(/too deep/);
  });
});

describe("requestHash", () => {
  it("JSON bodies hash their canonical form; others their bytes", () => {
    const a = requestHash(
      '{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}',
      "application/json",
    );
    const b = requestHash(
      '{ "stream": true,\n "messages": [ {"content":"hi", "role":"user"} ], "model": "m" }',
      "application/json; charset=utf-8",
    );
    expect(a).toBe(b);
    expect(a).toBe(
      jsonRequestHash({ stream: true, model: "m", messages: [{ role: "user", content: "hi" }] }),
    );
    expect(requestHash('{"a":1}', "text/plain")).not.toBe(requestHash('{ "a":1}', "text/plain"));
    expect(requestContent(utf8("raw"), "multipart/form-data; boundary=x")).toEqual(utf8("raw"));
    expect(requestContent(undefined, null)).toEqual(new Uint8Array(0));
    expect(() => requestHash("{not json", "application/json")).toThrow(InvalidInputError);
    expect(isJsonContentType("application/vnd.api+json")).toBe(true);
    expect(isJsonContentType("text/json")).toBe(false);
  });
});
