// OrchestratorRegistry: registration, stake, service URIs, and the active set (top N by stake)
// checked against a model over a random sequence of pool changes.
import { getAddress, type Address, type Hex } from "viem";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { OrchestratorRegistryAbi, OrchestratorRegistryBytecode } from "../src/index.js";
import {
  REJECT_CODE,
  ZERO_ADDRESS,
  balanceOf,
  deployRevertReason,
  events,
  eventNames,
  expectRevert,
  impersonate,
  read,
  registryCall,
  restore,
  revertReason,
  send,
  setup,
  type Fixture,
} from "./helpers.js";

let fx: Fixture;
let snap: Hex;
const N = 3n; // pool max size
const ETH = 10n ** 18n;

beforeAll(async () => {
  fx = await setup({ poolMaxSize: N, accounts: 10 });
  snap = await fx.test.snapshot();
});
afterAll(async () => {
  await fx?.stop();
});
beforeEach(async () => {
  snap = await restore(fx, snap);
});

const addr = (i: number) => fx.accounts[i]!.address;
const reg = <T>(fn: string, args: readonly unknown[] = []) =>
  read<T>(fx, fx.addrs.orchestratorRegistry, OrchestratorRegistryAbi, fn, args);
const regEvents = (r: Parameters<typeof events>[0]) => events(r, OrchestratorRegistryAbi);

async function poolByWalk(): Promise<Address[]> {
  const out: Address[] = [];
  let cur = await reg<Address>("getFirstTranscoderInPool");
  while (cur !== ZERO_ADDRESS && out.length <= 20) {
    out.push(cur);
    cur = await reg<Address>("getNextTranscoderInPool", [cur]);
  }
  return out;
}

describe("OrchestratorRegistry basics", () => {
  test("constructor refuses a zero pool size", async () => {
    expect(await deployRevertReason(fx, OrchestratorRegistryAbi, OrchestratorRegistryBytecode, [0n])).toBe(
      "pool max size must be greater than 0",
    );
  });

  test("empty registry", async () => {
    expect(await reg("getTranscoderPoolSize")).toBe(0n);
    expect(await reg("getTranscoderPoolMaxSize")).toBe(N);
    expect(await reg("poolMaxSize")).toBe(N);
    expect(await reg("getFirstTranscoderInPool")).toBe(ZERO_ADDRESS);
    expect(await reg("getNextTranscoderInPool", [addr(1)])).toBe(ZERO_ADDRESS);
    expect(await reg("isActiveTranscoder", [addr(1)])).toBe(false);
    expect(await reg("getPool")).toEqual([[], []]);
  });

  test("register stakes ETH, publishes the URI and joins the pool", async () => {
    const receipt = await send(fx, 1, registryCall(fx, "register", ["https://o1.example:8935"], 2n * ETH));
    expect(regEvents(receipt)).toEqual([
      {
        eventName: "OrchestratorRegistered",
        args: { orchestrator: addr(1), stake: 2n * ETH, serviceURI: "https://o1.example:8935" },
      },
      { eventName: "ServiceURIUpdate", args: { addr: addr(1), serviceURI: "https://o1.example:8935" } },
      { eventName: "JoinedPool", args: { orchestrator: addr(1) } },
    ]);
    expect(await reg("isRegisteredTranscoder", [addr(1)])).toBe(true);
    expect(await reg("isActiveTranscoder", [addr(1)])).toBe(true);
    expect(await reg("transcoderTotalStake", [addr(1)])).toBe(2n * ETH);
    expect(await reg("getServiceURI", [addr(1)])).toBe("https://o1.example:8935");
    expect(await reg("getTranscoderPoolSize")).toBe(1n);
    expect(await reg("getFirstTranscoderInPool")).toBe(addr(1));
    expect(await reg("getNextTranscoderInPool", [addr(1)])).toBe(ZERO_ADDRESS);
    expect(await balanceOf(fx, fx.addrs.orchestratorRegistry)).toBe(2n * ETH);
  });

  test("register reverts: twice, without stake, above uint96", async () => {
    await expectRevert(fx, 1, registryCall(fx, "register", ["u"], 0n), "stake must be greater than 0");
    await send(fx, 1, registryCall(fx, "register", ["u"], 1n));
    await expectRevert(fx, 1, registryCall(fx, "register", ["u"], 1n), "orchestrator already registered");
    await fx.test.setBalance({ address: addr(2), value: 2n ** 100n });
    await expectRevert(fx, 2, registryCall(fx, "register", ["u"], 2n ** 96n), "stake exceeds uint96");
  });

  test("increaseStake re-sorts; reverts when unregistered or without value", async () => {
    await expectRevert(fx, 1, registryCall(fx, "increaseStake", [], 1n), "orchestrator not registered");
    await send(fx, 1, registryCall(fx, "register", ["a"], 1n * ETH));
    await send(fx, 2, registryCall(fx, "register", ["b"], 2n * ETH));
    await expectRevert(fx, 1, registryCall(fx, "increaseStake", [], 0n), "stake must be greater than 0");
    const receipt = await send(fx, 1, registryCall(fx, "increaseStake", [], 2n * ETH));
    expect(regEvents(receipt)).toEqual([
      { eventName: "StakeUpdated", args: { orchestrator: addr(1), stake: 3n * ETH } },
    ]);
    expect(await poolByWalk()).toEqual([addr(1), addr(2)]);
    await fx.test.setBalance({ address: addr(1), value: 2n ** 100n });
    await expectRevert(fx, 1, registryCall(fx, "increaseStake", [], 2n ** 96n), "stake exceeds uint96");
  });

  test("unbond returns stake; unbonding everything unregisters", async () => {
    await send(fx, 1, registryCall(fx, "register", ["a"], 3n * ETH));
    await expectRevert(fx, 2, registryCall(fx, "unbond", [1n]), "orchestrator not registered");
    await expectRevert(fx, 1, registryCall(fx, "unbond", [0n]), "amount must be greater than 0");
    await expectRevert(fx, 1, registryCall(fx, "unbond", [3n * ETH + 1n]), "amount exceeds stake");
    const before = await balanceOf(fx, addr(1));
    const r1 = await send(fx, 1, registryCall(fx, "unbond", [ETH]));
    expect(await reg("transcoderTotalStake", [addr(1)])).toBe(2n * ETH);
    const r2 = await send(fx, 1, registryCall(fx, "unbond", [2n * ETH]));
    expect(regEvents(r2)).toEqual([
      { eventName: "LeftPool", args: { orchestrator: addr(1) } },
      { eventName: "StakeUpdated", args: { orchestrator: addr(1), stake: 0n } },
      { eventName: "OrchestratorUnregistered", args: { orchestrator: addr(1) } },
    ]);
    const gas = r1.gasUsed * r1.effectiveGasPrice + r2.gasUsed * r2.effectiveGasPrice;
    expect(await balanceOf(fx, addr(1))).toBe(before + 3n * ETH - gas);
    expect(await reg("isRegisteredTranscoder", [addr(1)])).toBe(false);
    expect(await reg("getServiceURI", [addr(1)])).toBe("");
    expect(await reg("getTranscoderPoolSize")).toBe(0n);
    // it can register again
    await send(fx, 1, registryCall(fx, "register", ["again"], 1n));
  });

  test("unbond reverts when the orchestrator refuses the ETH", async () => {
    const contract = getAddress("0x0000000000000000000000000000000000000c02");
    const wallet = await impersonate(fx, contract);
    const hash = await wallet.writeContract({
      address: fx.addrs.orchestratorRegistry,
      abi: OrchestratorRegistryAbi,
      functionName: "register",
      args: ["c"],
      value: ETH,
      gas: 500_000n,
    });
    expect((await fx.publicClient.waitForTransactionReceipt({ hash })).status).toBe("success");
    await fx.test.setCode({ address: contract, bytecode: REJECT_CODE });
    let reason: string | undefined;
    try {
      await fx.publicClient.simulateContract({
        account: contract,
        address: fx.addrs.orchestratorRegistry,
        abi: OrchestratorRegistryAbi,
        functionName: "unbond",
        args: [ETH],
      });
    } catch (err) {
      reason = revertReason(err);
    }
    expect(reason).toBe("stake transfer failed");
  });

  test("deactivate / reactivate", async () => {
    await expectRevert(fx, 1, registryCall(fx, "deactivate"), "orchestrator not registered");
    await expectRevert(fx, 1, registryCall(fx, "reactivate"), "orchestrator not registered");
    await send(fx, 1, registryCall(fx, "register", ["a"], ETH));
    await expectRevert(fx, 1, registryCall(fx, "reactivate"), "orchestrator already active");
    const d = await send(fx, 1, registryCall(fx, "deactivate"));
    expect(eventNames(d, OrchestratorRegistryAbi)).toEqual(["LeftPool", "OrchestratorDeactivated"]);
    expect(await reg("isActiveTranscoder", [addr(1)])).toBe(false);
    expect(await reg("isRegisteredTranscoder", [addr(1)])).toBe(true);
    await expectRevert(fx, 1, registryCall(fx, "deactivate"), "orchestrator already deactivated");
    // stake can change while deactivated; it does not join the pool
    await send(fx, 1, registryCall(fx, "increaseStake", [], ETH));
    expect(await reg("isActiveTranscoder", [addr(1)])).toBe(false);
    const r = await send(fx, 1, registryCall(fx, "reactivate"));
    expect(eventNames(r, OrchestratorRegistryAbi)).toEqual(["JoinedPool", "OrchestratorReactivated"]);
    expect(await reg("transcoderTotalStake", [addr(1)])).toBe(2n * ETH);
  });

  test("setServiceURI: any address (Livepeer ServiceRegistry)", async () => {
    const receipt = await send(fx, 5, registryCall(fx, "setServiceURI", ["https://x.example"]));
    expect(regEvents(receipt)).toEqual([
      { eventName: "ServiceURIUpdate", args: { addr: addr(5), serviceURI: "https://x.example" } },
    ]);
    expect(await reg("getServiceURI", [addr(5)])).toBe("https://x.example");
  });

  test("a higher stake pushes the lowest member out; it comes back when a place frees up", async () => {
    for (const [i, stake] of [
      [1, 5n],
      [2, 4n],
      [3, 3n],
    ] as const)
      await send(fx, i, registryCall(fx, "register", ["u"], stake));
    const r = await send(fx, 4, registryCall(fx, "register", ["u"], 10n));
    expect(eventNames(r, OrchestratorRegistryAbi)).toEqual([
      "OrchestratorRegistered",
      "ServiceURIUpdate",
      "JoinedPool",
      "LeftPool",
    ]);
    expect(regEvents(r)[3]!.args).toEqual({ orchestrator: addr(3) });
    expect(await poolByWalk()).toEqual([addr(4), addr(1), addr(2)]);
    expect(await reg("isActiveTranscoder", [addr(3)])).toBe(false);
    expect(await reg("getNextTranscoderInPool", [addr(3)])).toBe(ZERO_ADDRESS);
    const d = await send(fx, 1, registryCall(fx, "deactivate"));
    expect(regEvents(d).map((e) => [e.eventName, e.args.orchestrator])).toEqual([
      ["LeftPool", addr(1)],
      ["JoinedPool", addr(3)],
      ["OrchestratorDeactivated", addr(1)],
    ]);
    expect(await poolByWalk()).toEqual([addr(4), addr(2), addr(3)]);
    expect(await reg("getPool")).toEqual([
      [addr(4), addr(2), addr(3)],
      [10n, 4n, 3n],
    ]);
  });
});

describe("active set = top N by stake (model-based, random pool changes)", () => {
  test("120 random operations", async () => {
    const ids = [1, 2, 3, 4, 5, 6, 7, 8];
    interface M {
      registered: boolean;
      stake: bigint;
      candidate: boolean;
      seq: number;
    }
    const model = new Map<number, M>(
      ids.map((i) => [i, { registered: false, stake: 0n, candidate: false, seq: 0 }]),
    );
    let seq = 0;
    let rng = 0x2545f491;
    const rand = (n: number) => {
      rng ^= rng << 13;
      rng ^= rng >>> 17;
      rng ^= rng << 5;
      return (rng >>> 0) % n;
    };
    const expectedPool = () =>
      ids
        .filter((i) => model.get(i)!.candidate)
        .sort((a, b) => {
          const ma = model.get(a)!;
          const mb = model.get(b)!;
          return ma.stake === mb.stake ? ma.seq - mb.seq : mb.stake > ma.stake ? 1 : -1;
        })
        .slice(0, Number(N));

    for (let step = 0; step < 120; step++) {
      const i = ids[rand(ids.length)]!;
      const m = model.get(i)!;
      const amount = BigInt(1 + rand(4)); // small stakes make ties frequent
      const before = new Set(expectedPool());
      let receipt;
      if (!m.registered) {
        receipt = await send(fx, i, registryCall(fx, "register", [`o${i}`], amount));
        Object.assign(m, { registered: true, stake: amount, candidate: true, seq: ++seq });
      } else {
        const op = rand(5);
        if (op === 0) {
          receipt = await send(fx, i, registryCall(fx, "increaseStake", [], amount));
          m.stake += amount;
          if (m.candidate) m.seq = ++seq;
        } else if (op === 1 && m.stake > amount) {
          receipt = await send(fx, i, registryCall(fx, "unbond", [amount]));
          m.stake -= amount;
          if (m.candidate) m.seq = ++seq;
        } else if (op === 2) {
          receipt = await send(fx, i, registryCall(fx, "unbond", [m.stake]));
          Object.assign(m, { registered: false, stake: 0n, candidate: false });
        } else if (m.candidate) {
          receipt = await send(fx, i, registryCall(fx, "deactivate"));
          m.candidate = false;
        } else {
          receipt = await send(fx, i, registryCall(fx, "reactivate"));
          Object.assign(m, { candidate: true, seq: ++seq });
        }
      }
      const pool = expectedPool();
      const after = new Set(pool);
      const joined = regEvents(receipt)
        .filter((e) => e.eventName === "JoinedPool")
        .map((e) => e.args.orchestrator);
      const left = regEvents(receipt)
        .filter((e) => e.eventName === "LeftPool")
        .map((e) => e.args.orchestrator);
      const ctx = `step ${step}`;
      expect(new Set(joined), ctx).toEqual(new Set([...after].filter((x) => !before.has(x)).map(addr)));
      expect(new Set(left), ctx).toEqual(new Set([...before].filter((x) => !after.has(x)).map(addr)));
      expect(await poolByWalk(), ctx).toEqual(pool.map(addr));
      expect(await reg("getTranscoderPoolSize"), ctx).toBe(BigInt(pool.length));
      const [members, stakes] = await reg<[Address[], bigint[]]>("getPool");
      expect(members, ctx).toEqual(pool.map(addr));
      expect(stakes, ctx).toEqual(pool.map((p) => model.get(p)!.stake));
      const active = await Promise.all(ids.map((j) => reg("isActiveTranscoder", [addr(j)])));
      const stakeOf = await Promise.all(ids.map((j) => reg("transcoderTotalStake", [addr(j)])));
      expect(active, `${ctx} active`).toEqual(ids.map((j) => after.has(j)));
      expect(stakeOf, `${ctx} stakes`).toEqual(ids.map((j) => model.get(j)!.stake));
    }
    let total = 0n;
    for (const m of model.values()) total += m.stake;
    expect(await balanceOf(fx, fx.addrs.orchestratorRegistry)).toBe(total);
  });
});
