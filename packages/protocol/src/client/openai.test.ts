// The client SDK plugged into the real `openai` package: `new OpenAI({ fetch: payer.fetch })`.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LivepayError } from "../errors.js";
import { imageOutputContent } from "../persistent/contentHash.js";
import { persistentDomain } from "../persistent/domain.js";
import { ADDR, KEYS } from "../persistent/testFixtures.js";
import { decodeBase64Std } from "../wire/base64.js";
import { createPayer } from "./payer.js";
import { startTestPayee, type TestPayee } from "./testFixtures.js";

const BROKER = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
let payee: TestPayee;

beforeAll(async () => {
  payee = await startTestPayee({
    domain: persistentDomain(31337, BROKER),
    payeeKey: KEYS.payee,
    signingKey: KEYS.signing,
  });
});
afterAll(async () => {
  await payee?.close();
});

function client(key: `0x${string}`, problems: LivepayError[] = []) {
  const payer = createPayer({
    privateKey: key,
    chainId: 31337,
    broker: BROKER,
    resolveSigningKey: () => ADDR.signing,
    onReceiptProblem: (e) => problems.push(e),
  });
  return {
    payer,
    openai: new OpenAI({ apiKey: "unused", baseURL: `${payee.url}/v1`, fetch: payer.fetch, maxRetries: 0 }),
  };
}

describe("openai package with payer.fetch", () => {
  it("chat completions, plain and streamed, each paid with one voucher and verified", async () => {
    const problems: LivepayError[] = [];
    const { payer, openai } = client(`0x${"a1".repeat(32)}`, problems);
    const served = payee.served;
    const done = await openai.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "say 7" }],
      max_tokens: 20,
    });
    expect(done.choices[0]!.message.content).toBe("t0 t1 t2 t3 t4 t5 t6 ");
    expect(done.usage?.completion_tokens).toBe(7);

    const stream = await openai.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "say 30" }],
      max_tokens: 12,
      stream: true,
    });
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk"); // the receipt event never reaches the app
      text += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text.trim().split(" ")).toHaveLength(12);
    expect(finish).toBe("length");
    expect(payee.served - served).toBe(2);
    const [t] = await payer.tickets();
    expect(t!.state.seq).toBe(2n);
    expect(t!.status).toBe("open");
    expect(problems).toEqual([]);
    const receipts = await payer.receipts(payee.payee, 0n);
    expect(receipts.map((r) => r.signed.receipt.units)).toEqual([7n, 12n]);
  });

  it("images: b64 images are hashed and checked against the receipt's outputHash", async () => {
    const { payer, openai } = client(`0x${"a2".repeat(32)}`);
    const img = await openai.images.generate({
      model: "sd",
      prompt: "a cat",
      n: 2,
      size: "256x256",
      response_format: "b64_json",
    });
    expect(img.data).toHaveLength(2);
    const [r] = await payer.receipts(payee.payee, 0n);
    expect(r!.signed.receipt.units).toBe(256n * 256n * 2n);
    expect(imageOutputContent(img.data!.map((d) => decodeBase64Std(d.b64_json!))).length).toBe(64);
  });

  it("a violation surfaces through the SDK with the typed error as cause", async () => {
    const { openai } = client(`0x${"a3".repeat(32)}`);
    payee.misbehave = "chargeAboveQuote";
    try {
      const err = await openai.chat.completions
        .create({ model: "m", messages: [{ role: "user", content: "say 2" }] })
        .then(
          () => undefined,
          (e: unknown) => e as { cause?: LivepayError },
        );
      expect(err?.cause?.code).toBe("RECEIPT_CHARGE_ABOVE_QUOTE");
    } finally {
      payee.misbehave = "none";
    }
  });
});
