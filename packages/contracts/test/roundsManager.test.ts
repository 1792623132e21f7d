// RoundsManager: round arithmetic, initialization, block hashes, the combined redemption view.
import { toEventSelector, type AbiEvent, type Hex } from "viem";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { RoundsManagerAbi, RoundsManagerBytecode } from "../src/index.js";
import {
  ZERO_HASH,
  blockNumber,
  deployRevertReason,
  events,
  expectRevert,
  mineToNextRound,
  read,
  restore,
  send,
  setup,
  type Fixture,
} from "./helpers.js";

let fx: Fixture;
let snap: Hex;
const L = 10n;

beforeAll(async () => {
  fx = await setup({ roundLength: L, initializeRound: false });
  snap = await fx.test.snapshot();
});
afterAll(async () => {
  await fx?.stop();
});
beforeEach(async () => {
  snap = await restore(fx, snap);
});

const rm = <T>(fn: string, args: readonly unknown[] = []) =>
  read<T>(fx, fx.addrs.roundsManager, RoundsManagerAbi, fn, args);
const initCall = () => ({
  address: fx.addrs.roundsManager,
  abi: RoundsManagerAbi,
  functionName: "initializeRound",
});

describe("RoundsManager", () => {
  test("NewRound has Livepeer's topic0", () => {
    const ev = RoundsManagerAbi.find((i) => i.type === "event" && i.name === "NewRound") as AbiEvent;
    expect(toEventSelector(ev)).toBe("0x22f2fc17c5daf07db2379b3a03a8ef20a183f761097a58fce219c8a14619e786");
  });

  test("constructor refuses a zero round length", async () => {
    expect(await deployRevertReason(fx, RoundsManagerAbi, RoundsManagerBytecode, [0n])).toBe(
      "round length must be greater than 0",
    );
  });

  test("round arithmetic follows block.number / roundLength", async () => {
    expect(await rm("roundLength")).toBe(L);
    for (let i = 0; i < 3; i++) {
      const b = await blockNumber(fx);
      // eth_call runs at the latest block
      expect(await rm("blockNum")).toBe(b);
      expect(await rm("currentRound")).toBe(b / L);
      expect(await rm("currentRoundStartBlock")).toBe((b / L) * L);
      await fx.test.mine({ blocks: 7 });
    }
  });

  test("initializeRound records the previous block's hash, emits NewRound and refuses a second time", async () => {
    const round = await mineToNextRound(fx);
    expect(await rm("currentRoundInitialized")).toBe(false);
    const receipt = await send(fx, 1, initCall());
    expect(receipt.blockNumber).toBe(round * L);
    const parent = await fx.publicClient.getBlock({ blockNumber: receipt.blockNumber - 1n });
    expect(events(receipt, RoundsManagerAbi)).toEqual([
      { eventName: "NewRound", args: { round, blockHash: parent.hash } },
    ]);
    expect(await rm("blockHashForRound", [round])).toBe(parent.hash);
    expect(await rm("currentRoundInitialized")).toBe(true);
    expect(await rm("lastInitializedRound")).toBe(round);
    await expectRevert(fx, 2, initCall(), "round already initialized");
  });

  test("any round can be initialized late; skipped rounds keep no hash", async () => {
    const first = await mineToNextRound(fx);
    await send(fx, 0, initCall());
    await fx.test.mine({ blocks: Number(3n * L) });
    const later = (await blockNumber(fx)) / L;
    expect(later).toBe(first + 3n);
    expect(await rm("currentRoundInitialized")).toBe(false);
    // the initializing transaction lands in the next block, still in round `later` (3 blocks into it)
    await send(fx, 0, initCall());
    expect(await rm("lastInitializedRound")).toBe(later);
    expect(await rm("blockHashForRound", [first + 1n])).toBe(ZERO_HASH);
    expect(await rm("blockHashForRound", [first + 2n])).toBe(ZERO_HASH);
    expect(await rm("blockHashForRound", [later])).not.toBe(ZERO_HASH);
  });

  test("round 0 is not initialized until someone initializes it", async () => {
    const fresh = await setup({ roundLength: 1000n, initializeRound: false });
    try {
      const view = <T>(fn: string, args: readonly unknown[] = []) =>
        read<T>(fresh, fresh.addrs.roundsManager, RoundsManagerAbi, fn, args);
      expect(await view("currentRound")).toBe(0n);
      expect(await view("currentRoundInitialized")).toBe(false);
      expect(await view("lastInitializedRound")).toBe(0n);
      await send(fresh, 0, {
        address: fresh.addrs.roundsManager,
        abi: RoundsManagerAbi,
        functionName: "initializeRound",
      });
      expect(await view("currentRoundInitialized")).toBe(true);
      expect(await view("blockHashForRound", [0n])).not.toBe(ZERO_HASH);
    } finally {
      await fresh.stop();
    }
  });

  test("redemptionRoundInfo combines current round, its initialization and a creation round's hash", async () => {
    const r1 = await mineToNextRound(fx);
    await send(fx, 0, initCall());
    const h1 = await rm<Hex>("blockHashForRound", [r1]);
    expect(await rm("redemptionRoundInfo", [r1])).toEqual([r1, true, h1]);
    expect(await rm("redemptionRoundInfo", [r1 + 5n])).toEqual([r1, true, ZERO_HASH]);
    const r2 = await mineToNextRound(fx);
    await fx.test.mine({ blocks: 1 });
    expect(await rm("redemptionRoundInfo", [r1])).toEqual([r2, false, h1]);
  });
});
