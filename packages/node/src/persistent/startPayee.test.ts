// The `persistent` config section: validation and a claim key that never prints.
import { describe, expect, it } from "vitest";
import { resolvePersistentConfig } from "./startPayee.js";

const BROKER = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const KEY = `0x${"ab".repeat(32)}`;

describe("resolvePersistentConfig", () => {
  it("keeps the claim key usable but prints it as ***", () => {
    const c = resolvePersistentConfig(
      { enabled: true, claimKey: KEY },
      { dataDir: "/tmp/x", manifestBroker: BROKER },
    );
    expect(c.claimKey?.reveal()).toBe(KEY);
    const printed = JSON.stringify(c);
    expect(printed).not.toContain("abab");
    expect(JSON.parse(printed)).toMatchObject({ claimKey: "***", broker: BROKER, enabled: true });
    expect(String(c.claimKey)).toBe("***");
  });

  it("refuses a malformed claim key and a missing broker", () => {
    expect(() =>
      resolvePersistentConfig(
        { enabled: true, claimKey: "0x1234" },
        { dataDir: "/tmp/x", manifestBroker: BROKER },
      ),
    ).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
    expect(() => resolvePersistentConfig({ enabled: true }, { dataDir: "/tmp/x" })).toThrow(
      expect.objectContaining({ code: "CONFIG_INVALID" }),
    );
    expect(resolvePersistentConfig(undefined, { dataDir: "/tmp/x" }).claimKey).toBeUndefined();
  });
});
