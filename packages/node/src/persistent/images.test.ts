// Text-to-image paid with persistent tickets on a real devnet (anvil) and a real orchestrator: the
// `openai` package's images.generate through the SDK's fetch, one voucher per image request.
import {
  LIVEPAY_PAYER_HEADER,
  LIVEPAY_VOUCHER_HEADER,
  imageOutputContent,
  paymentRequiredFromJson,
  saltedHash,
  type Hex,
  type PrivateKey,
} from "@livepay/protocol";
import { createPayer, type Payer } from "@livepay/protocol/client";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeImageSize } from "../runners/imageSize.js";
import type { Address } from "viem";
import type { OrchestratorHandle } from "../orchestrator/startOrchestrator.js";
import { startPersistentNet, type PersistentNet } from "./testing/persistentNet.js";

const ETH = 10n ** 18n;
const PRICE = 3_001n; // wei per pixel
const MODEL = "synthetic-image";

let net: PersistentNet;
let orch: OrchestratorHandle;
let broker: Address;
let chainId: number;
const account = (name: string) => net.account(name);

beforeAll(async () => {
  net = await startPersistentNet({
    name: "persistent-images",
    gateways: 1,
    models: [
      {
        pipeline: "text-to-image",
        model_id: MODEL,
        runner: "synthetic",
        price_per_unit: PRICE.toString(),
        capacity: 4,
      },
    ],
  });
  ({ orch, broker, chainId } = net);
  // Fund the payer: deposit and reserve well above the largest image request.
  await net.send(
    account("gateway-1").privateKey!,
    "fundDepositAndReserve",
    [ETH / 10n, ETH],
    ETH / 10n + ETH,
  );
}, 60_000);

afterAll(async () => {
  await net?.stop();
});

describe("text-to-image paid with persistent tickets", () => {
  let vouchers = 0;
  let payer: Payer;
  let openai: OpenAI;
  const payerAddr = (): Hex => account("gateway-1").address.toLowerCase() as Hex;

  beforeAll(() => {
    const counting: typeof fetch = (input, init) => {
      if (new Headers(init?.headers).has(LIVEPAY_VOUCHER_HEADER)) vouchers++;
      return fetch(input, init);
    };
    payer = createPayer({
      privateKey: account("gateway-1").privateKey! as PrivateKey,
      chainId,
      broker,
      fetch: counting,
    });
    openai = new OpenAI({ apiKey: "-", baseURL: `${orch.httpUrl}/v1`, fetch: payer.fetch, maxRetries: 0 });
  });

  it("quotes w × h × n as the maximum, for the text-to-image capability", async () => {
    const r = await fetch(`${orch.httpUrl}/v1/images/generations`, {
      method: "POST",
      headers: { "content-type": "application/json", [LIVEPAY_PAYER_HEADER]: payerAddr() },
      body: JSON.stringify({ model: MODEL, prompt: "a cat", size: "40x30", n: 3 }),
    });
    expect(r.status).toBe(402);
    const { quote } = paymentRequiredFromJson(await r.json());
    expect(quote.quote.capability).toBe("text-to-image");
    expect(quote.quote.maxUnits).toBe(40n * 30n * 3n);
  });

  it("refuses a bad response_format before quoting", async () => {
    const r = await fetch(`${orch.httpUrl}/v1/images/generations`, {
      method: "POST",
      headers: { "content-type": "application/json", [LIVEPAY_PAYER_HEADER]: payerAddr() },
      body: JSON.stringify({ model: MODEL, prompt: "a cat", response_format: "gif" }),
    });
    expect(r.status).toBe(400);
  });

  it("images.generate: one voucher each, verified receipts, units w×h×n, charge units × price", async () => {
    const payee = orch.address.toLowerCase() as Hex;
    const cases = [
      { size: "64x48", n: 2, response_format: "b64_json" as const },
      { size: "32x32", n: 1, response_format: "b64_json" as const },
      { size: "17x5", n: 3, response_format: "url" as const },
    ];
    const before = vouchers;
    const expected: bigint[] = [];
    for (const [i, c] of cases.entries()) {
      const res = await openai.images.generate({ model: MODEL, prompt: `picture ${i}`, ...c });
      const [w, h] = c.size.split("x").map(Number) as [number, number];
      expect(res.data).toHaveLength(c.n);
      const files = res.data!.map((d) =>
        c.response_format === "b64_json"
          ? new Uint8Array(Buffer.from(d.b64_json!, "base64"))
          : new Uint8Array(Buffer.from(d.url!.slice(d.url!.indexOf(",") + 1), "base64")),
      );
      for (const f of files) expect(probeImageSize(f)).toEqual({ format: "png", width: w, height: h });
      expected.push(BigInt(w * h * c.n));

      // The receipt of this request: units, charge, and outputHash over the image files.
      const tickets = await payer.tickets();
      const all = (await Promise.all(tickets.map((t) => payer.receipts(payee, t.state.ticketId)))).flat();
      expect(all).toHaveLength(i + 1);
      const last = all.sort((a, b) => a.verifiedAt - b.verifiedAt).at(-1)!;
      const r = last.signed.receipt;
      expect(r.units).toBe(BigInt(w * h * c.n));
      expect(r.charge).toBe(r.units * PRICE);
      expect(r.outputHash).toBe(saltedHash(last.signed.salt, imageOutputContent(files)));
    }
    expect(vouchers - before).toBe(cases.length);

    // Orchestrator's books: total charged == sum of the receipts the payer verified.
    let sumReceipts = 0n;
    let sumUnits = 0n;
    for (const t of await payer.tickets()) {
      for (const r of await payer.receipts(payee, t.state.ticketId)) {
        sumReceipts += r.signed.receipt.charge;
        sumUnits += r.signed.receipt.units;
      }
    }
    expect(sumUnits).toBe(expected.reduce((a, b) => a + b, 0n));
    const charged = orch
      .persistent!.store.tickets(payerAddr(), 0n)
      .reduce((a, t) => a + t.state.cumulativeCharged, 0n);
    expect(charged).toBe(sumReceipts);
    expect(sumReceipts).toBe(sumUnits * PRICE);
  }, 60_000);
});
