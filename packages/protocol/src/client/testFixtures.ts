// A small payee on a real HTTP server (node:http) for the client tests: it plays the orchestrator's
// side of client/PROTOCOL.md with the persistent/ functions, and can misbehave on demand.
// Test-only (tsconfig excludes every testFixtures.ts from the build).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { bytesToHex, type Hex } from "../bytes/hex.js";
import { keccak256 } from "../crypto/keccak256.js";
import { privateKeyToAddress, type PrivateKey } from "../crypto/secp256k1.js";
import { LivepayError } from "../errors.js";
import { Rational } from "../money/rational.js";
import { acceptVoucher } from "../persistent/acceptVoucher.js";
import { buildReceipt } from "../persistent/buildReceipt.js";
import { imageOutputContent, llmOutputContent, saltedHash } from "../persistent/contentHash.js";
import type { Eip712Domain } from "../persistent/eip712.js";
import { VoucherRejectedError } from "../persistent/errors.js";
import {
  LIVEPAY_PAYER_HEADER,
  LIVEPAY_RECEIPT_HEADER,
  LIVEPAY_TICKET_HEADER,
  LIVEPAY_VOUCHER_HEADER,
  decodeVoucherHeader,
  encodeReceiptHeader,
} from "../persistent/headers.js";
import { signedReceiptToJson } from "../persistent/json.js";
import { makeQuote } from "../persistent/makeQuote.js";
import { paymentRequiredToJson } from "../persistent/paymentRequired.js";
import { hashAndSignQuote, type Quote } from "../persistent/quote.js";
import { receiptHash, signReceipt, type Receipt, type SignedReceipt } from "../persistent/receipt.js";
import { formatReceiptEvent } from "../persistent/receiptEvent.js";
import { requestContent, requestHash } from "../persistent/requestHash.js";
import { applyReceipt, chargeTicket, openTicket, type TicketState } from "../persistent/ticketState.js";
import { imageSize, imageCount, type Pipeline } from "../persistent/units.js";
import { encodeBase64Std } from "../wire/base64.js";

/** How the test payee cheats, if at all. */
export type Misbehavior =
  | "none"
  | "chargeAboveQuote"
  | "brokenChain"
  | "inflateUnits"
  | "wrongOutput"
  | "withholdReceipt"
  | "withholdEverywhere"
  | "wrongRequestHash"
  /** Streams some deltas, then drops the connection before the receipt event (receipt kept for GET). */
  | "cutStream";

export interface TestPayeeOptions {
  domain: Eip712Domain;
  payeeKey: PrivateKey;
  signingKey: PrivateKey;
  /** Wei per token (default 1000/3). */
  llmPrice?: Rational;
  /** Wei per pixel (default 1/1000). */
  imagePrice?: Rational;
  /** Default max tokens when a request gives none (default 64). */
  defaultMaxTokens?: number;
  /** Session keys the payee accepts for a payer (the node reads delegations from the chain). */
  isDelegatedKey?: (key: Hex) => boolean;
}

export interface TestPayee {
  url: string;
  payee: Hex;
  misbehave: Misbehavior;
  /** The payee's view of every ticket. */
  tickets: Map<string, TicketState>;
  /** Highest cumulative amount received per ticket: what it could claim on-chain. */
  highestVoucher: Map<string, bigint>;
  /** Receipts it issued, by quote id. */
  issued: Map<string, SignedReceipt>;
  /** Requests that did work. */
  served: number;
  close(): Promise<void>;
}

interface IssuedQuote {
  quote: Quote;
  hash: Hex;
  signature: Hex;
}

const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });

/** Tokens the synthetic model produces for a prompt: "say N" asks for N, else 5. */
function wanted(body: Record<string, unknown>): number {
  const msgs = body.messages as { content?: unknown }[] | undefined;
  const last = msgs?.[msgs.length - 1]?.content;
  const m = typeof last === "string" ? /say (\d+)/.exec(last) : null;
  return m ? Number(m[1]) : 5;
}

/**
 * Starts the test payee on 127.0.0.1 with a free port.
 * @example const payee = await startTestPayee({ domain, payeeKey, signingKey }); … await payee.close();
 */
export async function startTestPayee(opts: TestPayeeOptions): Promise<TestPayee> {
  const payee = privateKeyToAddress(opts.payeeKey);
  const llmPrice = opts.llmPrice ?? Rational.of(1000n, 3n);
  const imagePrice = opts.imagePrice ?? Rational.of(1n, 1000n);
  const quotes = new Map<string, IssuedQuote>();
  const inFlight = new Set<string>();
  let counter = 0;
  const state: TestPayee = {
    url: "",
    payee,
    misbehave: "none",
    tickets: new Map(),
    highestVoucher: new Map(),
    issued: new Map(),
    served: 0,
    close: async () => undefined,
  };
  const key = (payer: Hex, ticketId: bigint) => `${payer}/${ticketId}`;
  const ticket = (payer: Hex, ticketId: bigint) =>
    state.tickets.get(key(payer, ticketId)) ?? openTicket({ payer, payee, ticketId, epoch: 0n });

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };

  function paymentRequired(res: ServerResponse, q: IssuedQuote, t: TicketState, reason?: string) {
    json(
      res,
      402,
      paymentRequiredToJson({
        quote: { quote: q.quote, signature: q.signature },
        ticket: {
          ticketId: t.ticketId,
          epoch: t.epoch,
          seq: t.seq,
          cumulativeCharged: t.cumulativeCharged,
          signedCumulative: t.signedCumulative,
          lastReceiptHash: t.lastReceiptHash,
        },
        chainId: BigInt(opts.domain.chainId),
        verifyingContract: opts.domain.verifyingContract,
        ...(reason ? { reason } : {}),
        ...(reason && t.lastReceipt
          ? { lastReceipt: state.issued.get(`last:${key(t.payer, t.ticketId)}`)! }
          : {}),
      }),
    );
  }

  /** The receipt, possibly falsified and re-signed with the payee's real key. */
  function sign(t: TicketState, r: Receipt, q: IssuedQuote): SignedReceipt {
    let out = r;
    if (state.misbehave === "chargeAboveQuote") {
      const extra = q.quote.maxCharge + 1n - r.charge;
      out = { ...r, charge: r.charge + extra, cumulativeCharged: r.cumulativeCharged + extra };
    } else if (state.misbehave === "brokenChain") {
      out = { ...r, prevReceiptHash: bytesToHex(keccak256(new Uint8Array([7]))) };
    } else if (state.misbehave === "inflateUnits") {
      const units = q.quote.maxUnits;
      const c = chargeTicket(t, units, Rational.of(q.quote.priceNum, q.quote.priceDen));
      out = { ...r, units, charge: c.charge, cumulativeCharged: c.cumulativeCharged };
    } else if (state.misbehave === "wrongOutput") {
      out = { ...r, outputHash: bytesToHex(keccak256(new Uint8Array([9]))) };
    }
    return { receipt: out, signature: signReceipt(opts.domain, out, opts.signingKey), salt: SALT };
  }

  const SALT: Hex = bytesToHex(keccak256(new TextEncoder().encode("test salt")));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    if (req.method === "GET" && url.pathname.startsWith("/receipts/")) {
      const r =
        state.misbehave === "withholdEverywhere" ? undefined : state.issued.get(url.pathname.slice(10));
      if (!r)
        return json(res, 404, {
          error: { message: "no receipt", type: "not_found", code: "receipt_not_found" },
        });
      return json(res, 200, signedReceiptToJson(r));
    }
    const capability: Pipeline | undefined = url.pathname.endsWith("/chat/completions")
      ? "llm"
      : url.pathname.endsWith("/images/generations")
        ? "text-to-image"
        : undefined;
    if (req.method !== "POST" || !capability) return json(res, 404, { error: { message: "not found" } });
    const raw = await readBody(req);
    const ct = req.headers["content-type"] ?? null;
    const body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
    const payer = String(req.headers[LIVEPAY_PAYER_HEADER.toLowerCase()] ?? "").toLowerCase() as Hex;
    if (!/^0x[0-9a-f]{40}$/.test(payer))
      return json(res, 400, { error: { message: "Livepay-Payer required" } });
    const voucherHeader = req.headers[LIVEPAY_VOUCHER_HEADER.toLowerCase()];
    const rh = requestHash(raw, ct);

    if (typeof voucherHeader !== "string") {
      const asked = req.headers[LIVEPAY_TICKET_HEADER.toLowerCase()];
      let ticketId = typeof asked === "string" ? BigInt(asked) : 0n;
      if (typeof asked !== "string") while (inFlight.has(key(payer, ticketId))) ticketId++;
      const t = ticket(payer, ticketId);
      const maxUnits =
        capability === "llm"
          ? BigInt((body.max_tokens as number | undefined) ?? opts.defaultMaxTokens ?? 64)
          : imageSize(body).width * imageSize(body).height * imageCount(body);
      const quote = makeQuote({
        payee,
        payer,
        ticketId,
        quoteId: bytesToHex(keccak256(new TextEncoder().encode(`quote ${++counter} ${Date.now()}`))),
        requestHash: state.misbehave === "wrongRequestHash" ? bytesToHex(keccak256(raw)) : rh,
        capability,
        model: String(body.model ?? ""),
        price: capability === "llm" ? llmPrice : imagePrice,
        estUnits: maxUnits / 2n,
        maxUnits,
        expiry: BigInt(Math.floor(Date.now() / 1000) + 60),
      });
      const q = { quote, ...hashAndSignQuote(opts.domain, quote, opts.signingKey) };
      quotes.set(quote.quoteId, q);
      return paymentRequired(res, q, t);
    }

    const env = decodeVoucherHeader(voucherHeader);
    const q = quotes.get(env.quoteId);
    if (!q) return json(res, 400, { error: { message: "unknown quote", code: "unknown_quote" } });
    if (q.quote.requestHash !== rh)
      return json(res, 400, {
        error: { message: "request differs from the quote", code: "request_mismatch" },
      });
    const k = key(payer, q.quote.ticketId);
    if (inFlight.has(k)) return json(res, 409, { error: { message: "ticket busy", code: "ticket_busy" } });
    let t = ticket(payer, q.quote.ticketId);
    try {
      t = acceptVoucher(
        t,
        { quote: q.quote, quoteHash: q.hash, voucher: env.voucher, signature: env.signature },
        {
          domain: opts.domain,
          nowSeconds: BigInt(Math.floor(Date.now() / 1000)),
          ...(opts.isDelegatedKey ? { isDelegatedKey: opts.isDelegatedKey } : {}),
        },
      ).state;
    } catch (e) {
      if (e instanceof VoucherRejectedError) return paymentRequired(res, q, t, e.code);
      throw e;
    }
    inFlight.add(k);
    state.tickets.set(k, t);
    const prev = state.highestVoucher.get(k) ?? 0n;
    if (env.voucher.cumulativeAmount > prev) state.highestVoucher.set(k, env.voucher.cumulativeAmount);
    state.served++;
    const inputHash = saltedHash(SALT, requestContent(raw, ct));
    try {
      if (capability === "llm") {
        const max = Number(q.quote.maxUnits);
        const n = Math.min(wanted(body), max);
        const finish = wanted(body) > max ? "length" : "stop";
        const deltas = Array.from({ length: n }, (_, i) => `t${i} `);
        const text = deltas.join("");
        const outputHash = saltedHash(SALT, llmOutputContent([{ text, finishReason: finish }]));
        const r = buildReceipt(t, {
          quote: q.quote,
          quoteHash: q.hash,
          units: BigInt(n),
          inputHash,
          outputHash,
        });
        const signed = sign(t, r, q);
        // The payee's own books follow the honest receipt (a cheat still signs what it sends).
        const honest = applyReceipt(t, q.quote, r, receiptHash(opts.domain, r));
        state.tickets.set(k, honest);
        if (state.misbehave !== "withholdEverywhere") state.issued.set(q.quote.quoteId, signed);
        state.issued.set(`last:${k}`, signed);
        const withhold = state.misbehave === "withholdReceipt" || state.misbehave === "withholdEverywhere";
        const base = { id: `chatcmpl-${counter}`, created: 1_700_000_000, model: q.quote.model };
        if (body.stream === true) {
          res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
          for (const d of deltas) {
            res.write(
              `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: d }, finish_reason: null }] })}\n\n`,
            );
          }
          if (state.misbehave === "cutStream") {
            // Let the deltas reach the client first, then drop the connection mid-stream.
            setTimeout(() => res.destroy(), 50);
            return;
          }
          res.write(
            `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: finish }] })}\n\n`,
          );
          if (!withhold) res.write(formatReceiptEvent(signed));
          res.end("data: [DONE]\n\n");
          return;
        }
        json(
          res,
          200,
          {
            ...base,
            object: "chat.completion",
            choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: finish }],
            usage: { prompt_tokens: 3, completion_tokens: n, total_tokens: n + 3 },
          },
          withhold ? {} : { [LIVEPAY_RECEIPT_HEADER]: encodeReceiptHeader(signed) },
        );
        return;
      }
      const count = Number(imageCount(body));
      const images = Array.from({ length: count }, (_, i) =>
        keccak256(new TextEncoder().encode(`image ${counter} ${i}`)),
      );
      const { width, height } = imageSize(body);
      const r = buildReceipt(t, {
        quote: q.quote,
        quoteHash: q.hash,
        units: width * height * BigInt(count),
        inputHash,
        outputHash: saltedHash(SALT, imageOutputContent(images)),
      });
      const signed = sign(t, r, q);
      state.tickets.set(k, applyReceipt(t, q.quote, r, receiptHash(opts.domain, r)));
      state.issued.set(q.quote.quoteId, signed);
      json(
        res,
        200,
        { created: 1_700_000_000, data: images.map((b) => ({ b64_json: encodeBase64Std(b) })) },
        { [LIVEPAY_RECEIPT_HEADER]: encodeReceiptHeader(signed) },
      );
    } finally {
      inFlight.delete(k);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent)
        json(res, 500, {
          error: { message: String(e), code: e instanceof LivepayError ? e.code : "internal" },
        });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((e) => (e ? reject(e) : resolve()));
    });
  return state;
}
