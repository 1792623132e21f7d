import { Rational, type OrchestratorInfo } from "@livepay/protocol";
import { describe, expect, it } from "vitest";
import { CapabilityMap } from "./capabilities.js";
import { GatewayMetrics } from "./metrics.js";
import { OrchestratorRpc, grpcTarget } from "../net/orchestratorRpc.js";
import { SessionCache, type PricedSession } from "./sessions.js";

const KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SENDER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

function session(
  expirationBlock: bigint,
  fetchedAtMs: number,
  tokenExpiration: bigint,
  ticketsSigned = 0,
): PricedSession {
  const info = {
    transcoder: "",
    authToken: { token: "0x01", sessionId: "s", expiration: tokenExpiration },
    hardware: [],
    storage: [],
    capabilitiesPrices: [],
    nodes: [],
  } as OrchestratorInfo;
  return {
    uri: "http://o:1",
    httpBase: "http://o:1",
    pipeline: "llm",
    capability: 33,
    model: "m",
    manifestId: "33_m",
    info,
    params: {
      recipient: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
      faceValue: 10n,
      winProb: 1n,
      recipientRandHash: `0x${"ab".repeat(32)}`,
      seed: 1n,
      expirationBlock,
    },
    price: Rational.ONE,
    initialPrice: Rational.ONE,
    sessionId: `0x${"ab".repeat(32)}`,
    balanceKey: "k",
    authSessionId: "s",
    fetchedAtMs,
    ticketsSigned,
    ev: Rational.ONE,
  };
}

describe("SessionCache.refreshReason (spec §3.6)", () => {
  let now = 1_000_000_000;
  const rpc = new OrchestratorRpc({ sender: SENDER, privateKey: KEY, timeoutMs: 100 });
  const cache = new SessionCache({
    rpc,
    caps: new CapabilityMap(),
    metrics: new GatewayMetrics({ defaultMetrics: false }),
    now: () => now,
  });

  it("refreshes params within one block of their expiration block", () => {
    const s = session(140n, now, BigInt(now / 1000 + 1800));
    expect(cache.refreshReason(s, 100n)).toBeUndefined();
    expect(cache.refreshReason(s, 138n)).toBeUndefined();
    expect(cache.refreshReason(s, 139n)).toBe("params_expired");
  });

  it("refreshes in the last 10 % of the auth token's lifetime", () => {
    const s = session(10_000n, now, BigInt(now / 1000 + 1800));
    now += 1619_000;
    expect(cache.refreshReason(s, 0n)).toBeUndefined();
    now += 2_000;
    expect(cache.refreshReason(s, 0n)).toBe("auth_expiring");
  });

  it("refreshes before the orchestrator's 600-nonce budget is used", () => {
    const s = session(10_000n, now, BigInt(now / 1000 + 1800), 599);
    expect(cache.refreshReason(s, 0n, 1)).toBeUndefined();
    expect(cache.refreshReason(s, 0n, 2)).toBe("nonces_used");
  });
});

describe("grpcTarget", () => {
  it("maps service URIs to gRPC targets (h2c for http, TLS otherwise)", () => {
    expect(grpcTarget("http://127.0.0.1:8935")).toEqual({ address: "127.0.0.1:8935", tls: false });
    expect(grpcTarget("https://orch.example")).toEqual({ address: "orch.example:443", tls: true });
    expect(grpcTarget("https://[::1]:9")).toEqual({ address: "[::1]:9", tls: true });
    expect(() => grpcTarget("not a uri")).toThrow("invalid orchestrator URI");
  });
});
