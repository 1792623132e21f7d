import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Hex } from "../bytes/hex.js";
import type { LivepayError } from "../errors.js";
import { Rational } from "../money/rational.js";
import { signDelegation } from "../persistent/delegation.js";
import { persistentDomain } from "../persistent/domain.js";
import { ReceiptCheckError } from "../persistent/errors.js";
import { ADDR, KEYS } from "../persistent/testFixtures.js";
import { PaymentError, PolicyError } from "./errors.js";
import { createPayer, type PayerOptions } from "./payer.js";
import { memoryStorage } from "./storage.js";
import { startTestPayee, type TestPayee } from "./testFixtures.js";

const BROKER = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const domain = persistentDomain(31337, BROKER);
let payee: TestPayee;

beforeAll(async () => {
  payee = await startTestPayee({
    domain,
    payeeKey: KEYS.payee,
    signingKey: KEYS.signing,
    isDelegatedKey: (k) => k === ADDR.session,
  });
});
afterAll(async () => {
  await payee?.close();
});
beforeEach(() => {
  payee.misbehave = "none";
});

// Each test pays as its own payer key so that tickets never collide across tests.
let nextKey = 1n;
function freshKey(): Hex {
  return `0x${(0x1000n + nextKey++).toString(16).padStart(64, "0")}`;
}

function makePayer(over: Partial<PayerOptions> = {}) {
  const problems: LivepayError[] = [];
  const payer = createPayer({
    privateKey: freshKey(),
    chainId: 31337,
    broker: BROKER,
    resolveSigningKey: () => ADDR.signing,
    onReceiptProblem: (e) => problems.push(e),
    ...over,
  });
  return { payer, problems };
}

const chat = (
  payer: ReturnType<typeof makePayer>["payer"],
  content: string,
  extra: Record<string, unknown> = {},
) =>
  payer.fetch(`${payee.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content }], max_tokens: 32, ...extra }),
  });

async function rejection(p: Promise<unknown>): Promise<LivepayError> {
  try {
    await p;
  } catch (e) {
    return e as LivepayError;
  }
  throw new Error("expected a rejection");
}

/** Per ticket: highest cumulative the payee holds minus what verified receipts justify. */
async function unjustified(payer: ReturnType<typeof makePayer>["payer"]): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  for (const r of await payer.tickets()) {
    const held = payee.highestVoucher.get(`${payer.address}/${r.state.ticketId}`) ?? 0n;
    out.set(String(r.state.ticketId), held - r.state.cumulativeCharged);
  }
  return out;
}

describe("payer.fetch against a real HTTP payee", () => {
  it("pays each request with one voucher, verifies each receipt, and agrees with the payee to the wei", async () => {
    const { payer, problems } = makePayer();
    for (let i = 1; i <= 8; i++) {
      const res = await chat(payer, `say ${i}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { choices: { message: { content: string } }[] };
      expect(body.choices[0]!.message.content.trim().split(" ")).toHaveLength(i);
    }
    const [t] = await payer.tickets();
    expect(t!.status).toBe("open");
    expect(t!.state.seq).toBe(8n);
    const payeeView = payee.tickets.get(`${payer.address}/0`)!;
    expect(t!.state.cumulativeCharged).toBe(payeeView.cumulativeCharged);
    expect(t!.state.lastReceiptHash).toBe(payeeView.lastReceiptHash);
    // 36 tokens at 1000/3 wei: exact 12000, one ceil per ticket.
    expect(t!.state.chargedExact.eq(Rational.of(36n * 1000n, 3n))).toBe(true);
    expect(t!.state.cumulativeCharged).toBe(12_000n);
    const receipts = await payer.receipts(payee.payee, 0n);
    expect(receipts.map((r) => r.signed.receipt.seq)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    expect(receipts.reduce((s, r) => s + r.signed.receipt.charge, 0n)).toBe(t!.state.cumulativeCharged);
    expect(problems).toEqual([]);
    // What the payee could claim beyond the receipts: the unused part of the last approval only.
    const maxCharge = Rational.of(1000n, 3n).mul(32n).ceil();
    expect((await unjustified(payer)).get("0")).toBeLessThanOrEqual(maxCharge);
    expect(await payer.exposure()).toBe(t!.state.signedCumulative - t!.state.cumulativeCharged);
  });

  it("streams: strips and verifies the receipt event, then continues the chain", async () => {
    const { payer, problems } = makePayer();
    const res = await chat(payer, "say 6", { stream: true });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const text = await res.text();
    expect(text).not.toContain("livepay-receipt");
    expect(text).toContain("data: [DONE]");
    expect((text.match(/"content":"t\d+ "/g) ?? []).length).toBe(6);
    const [t] = await payer.tickets();
    expect(t!.status).toBe("open");
    expect(t!.state.seq).toBe(1n);
    expect((await chat(payer, "say 2")).status).toBe(200);
    expect((await payer.tickets())[0]!.state.seq).toBe(2n);
    expect(problems).toEqual([]);
  });

  it("runs concurrent requests on separate tickets without waiting", async () => {
    const { payer } = makePayer();
    await (await chat(payer, "say 1")).text(); // learn the payee of this origin
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => chat(payer, `say ${i + 1}`)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    await Promise.all(results.map((r) => r.text()));
    const ts = await payer.tickets();
    expect(ts.length).toBeGreaterThanOrEqual(6);
    for (const t of ts) expect(t.status).toBe("open");
    const total = ts.reduce((s, t) => s + t.state.seq, 0n);
    expect(total).toBe(7n);
  });

  it("keeps its record in storage: a new payer on the same storage continues the same ticket", async () => {
    const storage = memoryStorage();
    const key = freshKey();
    const a = makePayer({ privateKey: key, storage });
    await (await chat(a.payer, "say 3")).text();
    const b = makePayer({ privateKey: key, storage });
    expect((await chat(b.payer, "say 4")).status).toBe(200);
    const [t] = await b.payer.tickets();
    expect(t!.state.ticketId).toBe(0n);
    expect(t!.state.seq).toBe(2n);
  });

  it("never adopts a state it did not verify: a ticket used elsewhere is set aside", async () => {
    const key = freshKey();
    const a = makePayer({ privateKey: key });
    await (await chat(a.payer, "say 3")).text();
    const b = makePayer({ privateKey: key }); // same account, empty record
    expect((await chat(b.payer, "say 2")).status).toBe(200);
    const ts = await b.payer.tickets();
    expect(ts.find((t) => t.state.ticketId === 0n)!.status).toBe("abandoned");
    expect(ts.find((t) => t.state.ticketId === 1n)!.state.seq).toBe(1n);
  });
});

describe("a misbehaving payee is detected with the specific typed error", () => {
  it("charge above the quote: RECEIPT_CHARGE_ABOVE_QUOTE, the payee is blocked, loss ≤ one maxCharge", async () => {
    const { payer, problems } = makePayer();
    await (await chat(payer, "say 2")).text();
    payee.misbehave = "chargeAboveQuote";
    const err = await rejection(chat(payer, "say 2"));
    expect(err).toBeInstanceOf(ReceiptCheckError);
    expect(err.code).toBe("RECEIPT_CHARGE_ABOVE_QUOTE");
    expect(problems.map((p) => p.code)).toEqual(["RECEIPT_CHARGE_ABOVE_QUOTE"]);
    expect(await payer.blockedPayees()).toEqual({ [payee.payee]: "RECEIPT_CHARGE_ABOVE_QUOTE" });
    const [t] = await payer.tickets();
    expect(t!.status).toBe("abandoned");
    // The payee holds a voucher for at most verified charges + this request's maxCharge.
    const maxCharge = Rational.of(1000n, 3n).mul(32n).ceil();
    expect((await unjustified(payer)).get("0")).toBe(maxCharge);
    // Blocked: the next quote is refused before anything is signed.
    payee.misbehave = "none";
    const before = payee.highestVoucher.get(`${payer.address}/1`);
    const blocked = await rejection(chat(payer, "say 1"));
    expect(blocked).toBeInstanceOf(PolicyError);
    expect(blocked.code).toBe("POLICY_PAYEE_BLOCKED");
    expect(payee.highestVoucher.get(`${payer.address}/1`)).toBe(before);
  });

  it("broken chain: RECEIPT_CHAIN_BROKEN (streaming: the stream errors before [DONE])", async () => {
    const { payer } = makePayer();
    await (await chat(payer, "say 2")).text();
    payee.misbehave = "brokenChain";
    const res = await chat(payer, "say 3", { stream: true });
    const err = await rejection(res.text());
    expect(err).toBeInstanceOf(ReceiptCheckError);
    expect(err.code).toBe("RECEIPT_CHAIN_BROKEN");
    expect((await payer.tickets())[0]!.status).toBe("abandoned");
  });

  it("inflated units: RECEIPT_UNITS_IMPLAUSIBLE; wrong output hash: RECEIPT_OUTPUT_MISMATCH", async () => {
    const a = makePayer();
    payee.misbehave = "inflateUnits";
    expect((await rejection(chat(a.payer, "say 3"))).code).toBe("RECEIPT_UNITS_IMPLAUSIBLE");
    const b = makePayer();
    payee.misbehave = "wrongOutput";
    expect((await rejection(chat(b.payer, "say 3", { stream: true }).then((r) => r.text()))).code).toBe(
      "RECEIPT_OUTPUT_MISMATCH",
    );
  });

  it("with the model's tokenizer the unit check is tight", async () => {
    const words = (t: string) => t.split(" ").filter((w) => w !== "").length;
    const tight = { countTokens: words, unitTolerance: { llm: { ratio: Rational.ZERO, slack: 0n } } };
    const a = makePayer(tight);
    expect((await chat(a.payer, "say 9")).status).toBe(200); // 9 tokens + end of sequence ≥ 9 charged
    expect((await (await chat(a.payer, "say 4", { stream: true })).text()).includes("[DONE]")).toBe(true);
    payee.misbehave = "inflateUnits"; // 32 tokens billed for 3 received
    expect((await rejection(chat(makePayer(tight).payer, "say 3"))).code).toBe("RECEIPT_UNITS_IMPLAUSIBLE");
  });

  it("a quote for another request: QUOTE_REQUEST_MISMATCH, nothing signed", async () => {
    const { payer } = makePayer();
    payee.misbehave = "wrongRequestHash";
    const err = await rejection(chat(payer, "say 1"));
    expect(err.code).toBe("QUOTE_REQUEST_MISMATCH");
    expect(payee.highestVoucher.get(`${payer.address}/0`)).toBeUndefined();
  });

  it("withheld receipt: delivered, RECEIPT_MISSING reported, maxCharge assumed, ticket resumed by GET /receipts", async () => {
    const { payer, problems } = makePayer();
    await (await chat(payer, "say 2")).text();
    payee.misbehave = "withholdReceipt";
    const res = await chat(payer, "say 4");
    expect(res.status).toBe(200);
    await res.json();
    expect(problems.map((p) => p.code)).toEqual(["RECEIPT_MISSING"]);
    const quoteId = problems[0]!.details!.quoteId as Hex;
    let [t] = await payer.tickets();
    expect(t!.status).toBe("suspended");
    expect(t!.pending!.quoteId).toBe(quoteId);
    // Until resolved the payer counts the whole approval as spent.
    expect(await payer.exposure()).toBe(t!.state.signedCumulative - t!.state.cumulativeCharged);
    expect(await payer.exposure()).toBeGreaterThanOrEqual(t!.pending!.maxCharge);
    // Meanwhile requests go to another ticket.
    payee.misbehave = "none";
    expect((await chat(payer, "say 1")).status).toBe(200);
    expect((await payer.tickets()).find((x) => x.state.ticketId === 1n)!.state.seq).toBe(1n);
    const recovered = await payer.fetchReceipt(quoteId);
    expect(recovered.receipt.seq).toBe(2n);
    [t] = await payer.tickets();
    expect(t!.status).toBe("open");
    expect(t!.state.seq).toBe(2n);
    expect((await chat(payer, "say 1")).status).toBe(200);
  });

  it("a stream cut before its receipt: fetchReceipt works at once (same payer), the ticket resumes", async () => {
    const { payer, problems } = makePayer();
    await (await chat(payer, "say 2")).text();
    payee.misbehave = "cutStream";
    const res = await chat(payer, "say 6", { stream: true });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    payee.misbehave = "none";
    let [t] = await payer.tickets();
    expect(t!.status).toBe("suspended");
    expect(problems.map((p) => p.code)).toEqual(["RECEIPT_MISSING"]);
    const quoteId = t!.pending!.quoteId;
    // No new payer needed: the receipt is fetched, verified and adopted right away.
    const recovered = await payer.fetchReceipt(quoteId);
    expect(recovered.receipt.seq).toBe(2n);
    expect(recovered.receipt.units).toBe(6n);
    [t] = await payer.tickets();
    expect(t!.status).toBe("open");
    expect(t!.state.cumulativeCharged).toBe(recovered.receipt.cumulativeCharged);
    // The same ticket goes on.
    expect((await chat(payer, "say 1")).status).toBe(200);
    [t] = await payer.tickets();
    expect(t!.state.seq).toBe(3n);
    expect(await payer.tickets()).toHaveLength(1);
  });

  it("receipts withheld everywhere: RECEIPT_MISSING on fetch, signing stops after 2 unresolved; loss ≤ one maxCharge per ticket", async () => {
    const { payer } = makePayer();
    payee.misbehave = "withholdEverywhere";
    for (let i = 0; i < 2; i++) expect((await chat(payer, "say 3")).status).toBe(200);
    const pending = (await payer.tickets()).filter((t) => t.status === "suspended");
    expect(pending).toHaveLength(2);
    expect((await rejection(payer.fetchReceipt(pending[0]!.pending!.quoteId))).code).toBe("RECEIPT_MISSING");
    const err = await rejection(chat(payer, "say 3"));
    expect(err).toBeInstanceOf(PaymentError);
    expect(err.code).toBe("PAYMENT_UNRESOLVED_RECEIPTS");
    const maxCharge = Rational.of(1000n, 3n).mul(32n).ceil();
    for (const loss of (await unjustified(payer)).values()) expect(loss).toBeLessThanOrEqual(maxCharge);
    expect(await payer.exposure()).toBe(2n * maxCharge);
  });
});

describe("spending policy and keys", () => {
  it("counts approvals over a rolling 24 hours, in memory and after a reload", async () => {
    let clock = Date.now();
    const storage = memoryStorage();
    const { payer } = makePayer({ storage, now: () => clock });
    expect((await chat(payer, "say 1")).status).toBe(200);
    expect((await chat(payer, "say 30")).status).toBe(200);
    const signed = await payer.approvedLastDay();
    expect(signed).toBeGreaterThan(0n);
    const start = clock;
    clock = start + 86_400_000 - 1; // the first approvals are still inside the window
    expect(await payer.approvedLastDay()).toBe(signed);
    const again = createPayer({
      privateKey: KEYS.payer,
      chainId: 31337,
      broker: BROKER,
      storage,
      now: () => clock,
    });
    expect(await again.approvedLastDay()).toBe(signed);
    clock = start + 86_400_000 + 60_000; // a minute past the last one: all expired
    expect(await payer.approvedLastDay()).toBe(0n);
  });

  it("refuses before signing: per request, per day, payees and models", async () => {
    const maxCharge = Rational.of(1000n, 3n).mul(32n).ceil();
    const a = makePayer({ policy: { maxPerRequest: maxCharge - 1n } });
    expect((await rejection(chat(a.payer, "say 1"))).code).toBe("POLICY_MAX_PER_REQUEST");
    expect(payee.highestVoucher.get(`${a.payer.address}/0`)).toBeUndefined();
    const b = makePayer({ policy: { maxPerDay: 2n * maxCharge } });
    expect((await chat(b.payer, "say 1")).status).toBe(200);
    expect((await chat(b.payer, "say 1")).status).toBe(200); // reuses credit: adds only what receipts consumed
    let refused: LivepayError | undefined;
    for (let i = 0; i < 20 && !refused; i++)
      await chat(b.payer, "say 30").then(
        (r) => r.text(),
        (e: LivepayError) => (refused = e),
      );
    expect(refused?.code).toBe("POLICY_MAX_PER_DAY");
    expect(await b.payer.approvedLastDay()).toBeLessThanOrEqual(2n * maxCharge);
    const c = makePayer({ policy: { allowedModels: ["other"] } });
    expect((await rejection(chat(c.payer, "say 1"))).code).toBe("POLICY_MODEL_NOT_ALLOWED");
    const d = makePayer({ policy: { allowedPayees: [ADDR.other] } });
    expect((await rejection(chat(d.payer, "say 1"))).code).toBe("POLICY_PAYEE_NOT_ALLOWED");
    const e = makePayer({ policy: { maxPricePerUnit: { llm: "333" } } });
    expect((await rejection(chat(e.payer, "say 1"))).code).toBe("POLICY_PRICE_TOO_HIGH");
  });

  it("pays with a session key under its delegation, within the cap", async () => {
    const delegation = {
      payer: ADDR.payer,
      key: ADDR.session,
      payee: payee.payee,
      cap: 30_000n,
      validUntilRound: 100n,
      epoch: 0n,
    };
    const { signature } = signDelegation(domain, delegation, KEYS.payer);
    const { payer } = makePayer({
      privateKey: undefined,
      sessionKey: KEYS.session,
      delegation,
      delegationSignature: signature,
    });
    expect(payer.address).toBe(ADDR.payer);
    expect(payer.signer).toBe(ADDR.session);
    expect((await chat(payer, "say 2")).status).toBe(200);
    expect((await payer.tickets())[0]!.state.signer).toBe(ADDR.session);
    let refused: LivepayError | undefined;
    for (let i = 0; i < 10 && !refused; i++)
      await chat(payer, "say 32").then(
        (r) => r.text(),
        (e: LivepayError) => (refused = e),
      );
    expect(refused?.code).toBe("POLICY_DELEGATION_CAP");
    const total = (await payer.tickets()).reduce((s, t) => s + t.state.signedCumulative, 0n);
    expect(total).toBeLessThanOrEqual(30_000n);
    const other = { ...delegation, payee: ADDR.other };
    const p2 = makePayer({ privateKey: undefined, sessionKey: KEYS.session, delegation: other });
    expect((await rejection(chat(p2.payer, "say 1"))).code).toBe("POLICY_DELEGATION_PAYEE");
    const p3 = makePayer({
      privateKey: undefined,
      sessionKey: KEYS.session,
      delegation: { ...delegation, epoch: 1n },
    });
    expect((await rejection(chat(p3.payer, "say 1"))).code).toBe("POLICY_DELEGATION_EPOCH");
    expect(() => makePayer({ privateKey: undefined, sessionKey: KEYS.other, delegation })).toThrow(
      /delegation's key/,
    );
  });

  it("refuses another chain's or broker's quotes", async () => {
    const { payer } = makePayer({ chainId: 1 });
    expect((await rejection(chat(payer, "say 1"))).code).toBe("PAYMENT_DOMAIN_MISMATCH");
  });

  it("passes through non-livepay responses untouched", async () => {
    const { payer } = makePayer();
    const res = await payer.fetch(`${payee.url}/nowhere`, { method: "POST", body: "{}" });
    expect(res.status).toBe(404);
  });
});
