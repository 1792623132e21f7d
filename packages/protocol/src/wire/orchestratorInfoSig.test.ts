import { describe, expect, it } from "vitest";
import {
  orchestratorInfoRequestMessage,
  signOrchestratorInfoRequest,
  verifyOrchestratorInfoRequest,
} from "./orchestratorInfoSig.js";

// Spec §8.3 D1.
const SENDER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SENDER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const D1_SIG =
  "0x47d66008c2c5b0671b8e7b43b62245ae9c4ba5f6ff7e94328b68eb45090cb1080815dec67a20bdec15ce794c9ce271fa8e6552d6b0976ab7a0b92d5516b32ef31c";

describe("GetOrchestrator info signature (spec §4.2)", () => {
  it("signs the checksummed address string: vector D1", () => {
    expect(new TextDecoder().decode(orchestratorInfoRequestMessage(SENDER))).toBe(
      "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    );
    expect(signOrchestratorInfoRequest(SENDER, SENDER_KEY)).toBe(D1_SIG);
    expect(signOrchestratorInfoRequest(SENDER.toUpperCase().replace("0X", "0x"), SENDER_KEY)).toBe(D1_SIG);
  });

  it("verifies D1 and refuses other addresses and malformed signatures", () => {
    expect(verifyOrchestratorInfoRequest(SENDER, D1_SIG)).toBe(true);
    expect(verifyOrchestratorInfoRequest("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266", D1_SIG)).toBe(true);
    expect(verifyOrchestratorInfoRequest("0x70997970c51812dc3a010c7d01b50e0d17dc79c8", D1_SIG)).toBe(false);
    expect(verifyOrchestratorInfoRequest(SENDER, D1_SIG.slice(0, -2) as `0x${string}`)).toBe(false);
    const highV = new Uint8Array(65);
    highV[64] = 0xe5;
    expect(verifyOrchestratorInfoRequest(SENDER, highV)).toBe(false);
    expect(verifyOrchestratorInfoRequest("not an address", D1_SIG)).toBe(false);
    expect(verifyOrchestratorInfoRequest(SENDER, "0xzz" as `0x${string}`)).toBe(false);
  });
});
