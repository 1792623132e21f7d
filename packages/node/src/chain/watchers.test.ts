import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { MAX_UINT256, signTicket, type Ticket } from "@livepay/protocol";
import { encodePacked, keccak256, parseEther, type Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlockRoundWatcher, type BlockEvent, type RoundState } from "./blockRoundWatcher.js";
import { connectChain } from "./connect.js";
import { startDevnet, type Devnet } from "./devnet.js";
import type { LivepeerChain } from "./livepeerChain.js";
import { SenderWatcher, type SenderInfoChange } from "./senderWatcher.js";

let devnet: Devnet;
let chain: LivepeerChain;

beforeAll(async () => {
  devnet = await startDevnet({ roundLength: 10n, blockTimeMs: 0, roundCheckMs: 0, orchestrators: 2 });
  chain = await connectChain({ network: "devnet", manifest: devnet.manifest });
});

afterAll(async () => {
  await devnet?.stop();
});

async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A real HTTP proxy in front of anvil that can be switched to fail, to exercise RPC errors. */
async function flakyProxy(
  target: string,
): Promise<{ url: string; failing: boolean; close(): Promise<void> }> {
  const state = { failing: false };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (state.failing) {
        res.writeHead(503).end("unavailable");
        return;
      }
      fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: Buffer.concat(chunks),
      })
        .then(async (r) =>
          res.writeHead(r.status, { "content-type": "application/json" }).end(await r.text()),
        )
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get failing() {
      return state.failing;
    },
    set failing(v: boolean) {
      state.failing = v;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("BlockRoundWatcher", () => {
  it("reports new blocks and rounds with the last initialized round's block hash, and stops", async () => {
    const w = new BlockRoundWatcher(chain, { pollIntervalMs: 10 });
    const blocks: BlockEvent[] = [];
    const rounds: RoundState[] = [];
    w.onBlock((b) => void blocks.push(b));
    w.onRound((r) => void rounds.push(r));
    await w.start();
    expect(blocks).toHaveLength(1);
    expect(blocks[0]!.previous).toBeUndefined();
    expect(blocks[0]!.roundsBlockNumber).toBe(blocks[0]!.blockNumber);
    expect(rounds).toHaveLength(1);
    const first = rounds[0]!;
    expect(first.initialized).toBe(true);
    expect(first.lastInitializedRound).toBe(first.currentRound);
    expect(first.blockHash).toBe(await chain.blockHashForRound(first.currentRound));

    const head = w.blockNumber!;
    await devnet.mine(1);
    await waitFor("a new block", () => blocks.length >= 2 && blocks.at(-1)!.blockNumber > head);
    expect(blocks.at(-1)!.previous).toBe(head);

    const round = await devnet.nextRound();
    await waitFor("the new round", () => rounds.at(-1)!.lastInitializedRound === round);
    const r = rounds.at(-1)!;
    expect(r).toMatchObject({ currentRound: round, initialized: true, lastInitializedRound: round });
    expect(r.blockHash).toBe(await chain.blockHashForRound(round));
    expect(r.blockHash).not.toBe(first.blockHash);
    expect(w.roundState).toEqual(r);

    await w.stop();
    const seen = blocks.length;
    await devnet.mine(3);
    await new Promise((res) => setTimeout(res, 100));
    expect(blocks.length).toBe(seen);
  });

  it("survives RPC errors with backoff and resumes", async () => {
    const proxy = await flakyProxy(devnet.manifest.rpcUrl);
    try {
      const viaProxy = await connectChain({
        network: "devnet",
        manifest: devnet.manifest,
        rpcUrl: proxy.url,
      });
      const w = new BlockRoundWatcher(viaProxy, { pollIntervalMs: 10, maxBackoffMs: 80 });
      const errors: unknown[] = [];
      const blocks: BlockEvent[] = [];
      w.onError((e) => errors.push(e));
      w.onBlock((b) => void blocks.push(b));
      await w.start();
      expect(blocks).toHaveLength(1);

      proxy.failing = true;
      await devnet.mine(1);
      await waitFor("several failures", () => w.consecutiveFailures >= 3);
      expect(errors.length).toBeGreaterThanOrEqual(3);
      expect(errors[0]).toMatchObject({ code: "CHAIN_RPC" });
      expect(blocks).toHaveLength(1);

      proxy.failing = false;
      await waitFor("recovery", () => blocks.length === 2);
      expect(w.consecutiveFailures).toBe(0);
      expect(blocks[1]!.blockNumber).toBe(await chain.blockNumber());
      await w.stop();
    } finally {
      await proxy.close();
    }
  });

  it("hands listener errors to onError and keeps going", async () => {
    const w = new BlockRoundWatcher(chain, { pollIntervalMs: 10 });
    const errors: unknown[] = [];
    let calls = 0;
    w.onError((e) => errors.push(e));
    w.onBlock(() => {
      calls++;
      throw new Error("listener broke");
    });
    await w.start();
    await devnet.mine(1);
    await waitFor("a second block", () => calls >= 2);
    expect(errors.map((e) => (e as Error).message)).toContain("listener broke");
    await w.stop();
  });
});

describe("SenderWatcher", () => {
  it("follows deposit, reserve and withdraw round through broker events and new rounds", async () => {
    const [gw1, gw2] = devnet.manifest.accounts.filter((a) => a.role === "gateway");
    const orchestrator = devnet.manifest.accounts.find((a) => a.role === "orchestrator")!;
    const payer = await connectChain({
      network: "devnet",
      manifest: devnet.manifest,
      privateKey: gw1!.privateKey,
    });
    const other = await connectChain({
      network: "devnet",
      manifest: devnet.manifest,
      privateKey: gw2!.privateKey,
    });

    const blocks = new BlockRoundWatcher(chain, { pollIntervalMs: 10 });
    await blocks.start();
    const sw = new SenderWatcher(chain, blocks, { senders: [gw1!.address] });
    const changes: SenderInfoChange[] = [];
    sw.onChange((c) => void changes.push(c));
    await sw.start();
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ sender: gw1!.address, cause: "initial", previous: undefined });
    expect(sw.get(gw1!.address)?.deposit).toBe(0n);

    await payer.fundDepositAndReserve(parseEther("0.01"), parseEther("0.02"));
    await waitFor("the funding", () => changes.length === 2);
    expect(changes[1]!.cause).toBe("event");
    expect(changes[1]!.events.map((e) => e.name)).toEqual(["ReserveFunded", "DepositFunded"]);
    expect(changes[1]!.info.deposit).toBe(parseEther("0.01"));
    expect(changes[1]!.info.reserve.fundsRemaining).toBe(parseEther("0.02"));

    // Another sender's activity is not reported.
    await other.fundDeposit(1n);
    await devnet.mine(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(changes).toHaveLength(2);

    // A winning ticket paid from deposit then reserve: WinningTicketTransfer + ReserveClaimed.
    const creationRound = await chain.lastInitializedRound();
    const ticket: Ticket = {
      recipient: orchestrator.address.toLowerCase() as Hex,
      sender: gw1!.address.toLowerCase() as Hex,
      faceValue: parseEther("0.012"),
      winProb: MAX_UINT256,
      senderNonce: 1n,
      recipientRandHash: keccak256(encodePacked(["uint256"], [7n])),
      creationRound,
      creationRoundBlockHash: await chain.blockHashForRound(creationRound),
    };
    await payer.redeemWinningTicket(ticket, signTicket(ticket, gw1!.privateKey!), 7n);
    await waitFor("the redemption", () => changes.length === 3);
    expect(changes[2]!.events.map((e) => e.name).sort()).toEqual(["ReserveClaimed", "WinningTicketTransfer"]);
    expect(changes[2]!.info.deposit).toBe(0n);
    expect(changes[2]!.info.reserve.claimedInCurrentRound).toBe(parseEther("0.002"));

    // A new round resets claimedInCurrentRound: seen through the round refresh.
    await devnet.nextRound();
    await waitFor("the round refresh", () => changes.length === 4);
    expect(changes[3]!.cause).toBe("round");
    expect(changes[3]!.info.reserve.claimedInCurrentRound).toBe(0n);

    await payer.unlock();
    await waitFor("the unlock", () => changes.length === 5);
    expect(changes[4]!.events.map((e) => e.name)).toEqual(["Unlock"]);
    expect(changes[4]!.info.withdrawRound).toBe((await chain.currentRound()) + 2n);
    await payer.cancelUnlock();
    await waitFor("the cancel", () => changes.length === 6);
    expect(changes[5]!.info.withdrawRound).toBe(0n);

    // Watching a second sender later reads it at once and then follows it.
    const info2 = await sw.watch(gw2!.address);
    expect(info2.deposit).toBe(1n);
    await other.fundDeposit(2n);
    await waitFor("the second sender", () =>
      changes.some((c) => c.sender === gw2!.address && c.info.deposit === 3n),
    );

    sw.stop();
    await blocks.stop();
    const seen = changes.length;
    await payer.fundDeposit(5n);
    await new Promise((r) => setTimeout(r, 60));
    expect(changes).toHaveLength(seen);
  });
});
