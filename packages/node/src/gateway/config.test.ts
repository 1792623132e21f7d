import { Rational } from "@livepay/protocol";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../config/chainOptions.js";
import {
  DEFAULT_SELECTION_WEIGHTS,
  applyGatewayOverrides,
  gatewayOverridesFromEnv,
  parsePrice,
  redactGatewayConfig,
  resolveGatewayConfig,
} from "./config.js";

describe("resolveGatewayConfig", () => {
  it("fills price-heavy defaults", () => {
    const c = resolveGatewayConfig({});
    expect(c.port).toBe(8937);
    expect(c.store).toEqual({ path: ".livepay/gateway.db" });
    expect(c.selection.maxFailovers).toBe(2);
    expect(c.selection.weights).toEqual(DEFAULT_SELECTION_WEIGHTS);
    expect(c.selection.weights.price).toBeGreaterThan(0.5);
    expect(c.payments).toMatchObject({
      maxTicketEV: 3_000_000_000_000n,
      maxTotalEV: 20_000_000_000_000n,
      nonceBlock: 16,
    });
    expect(c.orchestrators).toBeUndefined();
  });

  it("parses price caps exactly, per pipeline and model, with pixels per unit", () => {
    const c = resolveGatewayConfig({
      maxPrice: {
        global: "0.001",
        capabilities: [
          { pipeline: "text-to-image", model_id: "sd", price_per_unit: "3", pixels_per_unit: 2 },
          { pipeline: "llm", model_id: "default", price_per_unit: 30000 },
        ],
      },
    });
    expect(c.maxPrice.global!.eq(Rational.of(1n, 1000n))).toBe(true);
    expect(c.maxPrice.capabilities[0]).toMatchObject({ pipeline: "text-to-image", model: "sd" });
    expect(c.maxPrice.capabilities[0]!.price.eq(Rational.of(3n, 2n))).toBe(true);
    expect(c.maxPrice.capabilities[1]!.model).toBeUndefined();
  });

  it("normalizes selection weights", () => {
    const c = resolveGatewayConfig({
      selection: { weights: { price: 2, stake: 2, latency: 0, successRate: 0 } },
    });
    expect(c.selection.weights).toEqual({ price: 0.5, stake: 0.5, latency: 0, successRate: 0, random: 0 });
  });

  it.each([
    [{ port: 70000 }, "port"],
    [{ typo: 1 }, "typo"],
    [{ maxPrice: { global: 0.5 } }, "maxPrice.global"],
    [{ maxPrice: { capabilities: [{ pipeline: "video", price_per_unit: "1" }] } }, "pipeline"],
    [{ selection: { weights: { price: 0, stake: 0, latency: 0, successRate: 0 } } }, "selection.weights"],
    [{ payments: { maxTicketEV: "1 banana" } }, "payments.maxTicketEV"],
    [{ adminToken: "short" }, "adminToken"],
    [{ store: { path: "a", url: "postgres://x" } }, "store"],
  ])("refuses %j naming %s", (input, field) => {
    expect(() => resolveGatewayConfig(input as never)).toThrow(ConfigError);
    expect(() => resolveGatewayConfig(input as never)).toThrow(field);
  });

  it("parsePrice never takes a float", () => {
    expect(parsePrice("1/3", "p").eq(Rational.of(1n, 3n))).toBe(true);
    expect(() => parsePrice(0.1, "p")).toThrow("string");
    expect(() => parsePrice("-1", "p")).toThrow("negative");
  });
});

describe("overrides and redaction", () => {
  it("flags win over the environment, which wins over the file", () => {
    const env = gatewayOverridesFromEnv({
      LIVEPAY_GATEWAY_PORT: "9000",
      LIVEPAY_GATEWAY_STORE: "postgres://u:pw@h/db",
      LIVEPAY_GATEWAY_ORCHESTRATORS: "http://a:1, http://b:2",
    });
    const input = applyGatewayOverrides({ port: 1, host: "0.0.0.0" }, { port: "9001" }, env);
    expect(input).toMatchObject({
      port: 9001,
      host: "0.0.0.0",
      store: { url: "postgres://u:pw@h/db" },
      orchestrators: ["http://a:1", "http://b:2"],
    });
    const c = resolveGatewayConfig({
      ...input,
      privateKey: "0x" + "11".repeat(32),
      adminToken: "0123456789abcdef",
    });
    const shown = JSON.stringify(redactGatewayConfig(c));
    expect(shown).not.toContain("1111111111");
    expect(shown).not.toContain("0123456789abcdef");
    expect(shown).not.toContain("pw@");
    expect(shown).toContain("u:***@h/db");
  });
});
