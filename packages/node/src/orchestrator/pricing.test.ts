import { Rational, type Capabilities } from "@livepay/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jobCapabilities } from "../net/capabilities.js";
import { orchestratorCapabilities, requestedModels } from "./capabilities.js";
import { OrchestratorError } from "./errors.js";
import { PriceBook, modelPrice, toPriceInfo } from "./pricing.js";

const entry = (pricePerUnit: string | undefined, pixelsPerUnit = 1n, currency = "") => ({
  pipeline: "llm" as const,
  modelId: "m",
  pricePerUnit,
  pixelsPerUnit,
  currency,
});

describe("modelPrice", () => {
  it("is price_per_unit / pixels_per_unit in wei, exactly", () => {
    expect(modelPrice(entry("0.5"))).toEqual(Rational.of(1n, 2n));
    expect(modelPrice(entry("4768371", 3n))).toEqual(Rational.of(4768371n, 3n));
    expect(modelPrice(entry("1e3", 1n, "wei"))).toEqual(Rational.of(1000n));
    expect(modelPrice(entry("0.000000001", 1n, "ETH"))).toEqual(Rational.of(1_000_000_000n));
  });

  it("refuses what it cannot price exactly", () => {
    expect(() => modelPrice(entry(undefined))).toThrow(OrchestratorError);
    expect(() => modelPrice(entry("1", 1n, "USD"))).toThrow(/needs a price feed/);
  });
});

describe("toPriceInfo", () => {
  it("carries every int64 rational exactly", () => {
    fc.assert(
      fc.property(fc.bigInt(0n, 2n ** 63n - 1n), fc.bigInt(1n, 2n ** 63n - 1n), (num, den) => {
        const price = Rational.of(num, den);
        const info = toPriceInfo(price, 33, "m");
        expect(Rational.of(info.pricePerUnit, info.pixelsPerUnit)).toEqual(price);
        expect([info.capability, info.constraint]).toEqual([33, "m"]);
      }),
    );
  });

  it("falls back to floor(price)/1 when num or den does not fit int64 (go-livepeer)", () => {
    expect(toPriceInfo(Rational.of(2n ** 70n + 1n, 3n))).toMatchObject({
      pricePerUnit: (2n ** 70n + 1n) / 3n,
      pixelsPerUnit: 1n,
    });
  });
});

describe("PriceBook", () => {
  const book = new PriceBook([
    { pipeline: "llm", modelId: "a", price: Rational.of(3n) },
    { pipeline: "llm", modelId: "b", price: Rational.of(1n, 2n) },
    { pipeline: "text-to-image", modelId: "sd", price: Rational.of(7n) },
  ]);

  it("sums the prices of every requested (capability, model) it serves", () => {
    const caps: Capabilities = jobCapabilities("llm", "a");
    caps
      .constraints!.perCapability.get(33)!
      .models.set("b", caps.constraints!.perCapability.get(33)!.models.get("a")!);
    caps
      .constraints!.perCapability.get(33)!
      .models.set("unknown", caps.constraints!.perCapability.get(33)!.models.get("a")!);
    expect(book.priceForCaps(caps)).toEqual(Rational.of(7n, 2n));
    expect(book.priceForCaps(jobCapabilities("text-to-image", "sd"))).toEqual(Rational.of(7n));
    expect(book.priceForCaps(jobCapabilities("audio-to-text", "sd"))).toEqual(Rational.ZERO);
    expect(book.priceForCaps(undefined)).toEqual(Rational.ZERO);
  });

  it("lists capabilities_prices by capability and model", () => {
    expect(book.capabilitiesPrices()).toEqual([
      { pricePerUnit: 7n, pixelsPerUnit: 1n, capability: 27, constraint: "sd" },
      { pricePerUnit: 3n, pixelsPerUnit: 1n, capability: 33, constraint: "a" },
      { pricePerUnit: 1n, pixelsPerUnit: 2n, capability: 33, constraint: "b" },
    ]);
  });
});

describe("capabilities", () => {
  it("sets one bit per capability id and sums model capacities", () => {
    const caps = orchestratorCapabilities([
      { pipeline: "llm", modelId: "a", warm: true, capacity: 2, inFlight: 1 },
      { pipeline: "llm", modelId: "b", warm: false, capacity: 3, inFlight: 9 },
      { pipeline: "embeddings", modelId: "e", warm: false, capacity: 1, inFlight: 0 },
    ]);
    expect(caps.bitstring).toEqual([(1n << 33n) | (1n << 38n)]);
    expect([...caps.capacities]).toEqual([
      [33, 5],
      [38, 1],
    ]);
    expect(caps.constraints!.perCapability.get(33)!.models.get("b")).toEqual({
      warm: false,
      capacity: 3,
      runnerVersion: "",
      capacityInUse: 3,
    });
    expect(requestedModels(caps)).toEqual([
      { capability: 33, modelId: "a" },
      { capability: 33, modelId: "b" },
      { capability: 38, modelId: "e" },
    ]);
  });
});
