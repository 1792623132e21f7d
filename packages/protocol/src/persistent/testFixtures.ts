// fast-check arbitraries and keys shared by the persistent and client tests (excluded from the build:
// tsconfig excludes every testFixtures.ts).
import fc from "fast-check";
import { bytesToHex, type Hex } from "../bytes/hex.js";
import { SECP256K1_N, privateKeyToAddress } from "../crypto/secp256k1.js";
import type { Delegation } from "./delegation.js";
import type { Quote } from "./quote.js";
import type { Receipt } from "./receipt.js";
import type { Voucher } from "./voucher.js";
import type { Rational } from "../money/rational.js";
import { acceptVoucher } from "./acceptVoucher.js";
import { buildReceipt } from "./buildReceipt.js";
import { approvalFor } from "./approval.js";
import { saltedHash } from "./contentHash.js";
import { persistentDomain } from "./domain.js";
import { makeQuote } from "./makeQuote.js";
import { quoteHash, signQuote, type SignedQuote } from "./quote.js";
import { receiptHash, signReceipt, type SignedReceipt } from "./receipt.js";
import { applyReceipt, applyVoucher, type TicketState } from "./ticketState.js";
import { signVoucher } from "./voucher.js";
import { voucherContext } from "./voucherContext.js";

export const arbAddress: fc.Arbitrary<Hex> = fc.uint8Array({ minLength: 20, maxLength: 20 }).map(bytesToHex);
export const arbBytes32: fc.Arbitrary<Hex> = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex);
export const arbUint = (bits: number): fc.Arbitrary<bigint> =>
  fc.oneof(
    fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }),
    fc.constantFrom(0n, 1n, (1n << BigInt(bits)) - 1n),
  );
export const arbPrivateKey: fc.Arbitrary<Hex> = fc
  .bigInt({ min: 1n, max: SECP256K1_N - 1n })
  .map((k) => `0x${k.toString(16).padStart(64, "0")}` as Hex);

export const arbVoucher: fc.Arbitrary<Voucher> = fc.record({
  payer: arbAddress,
  payee: arbAddress,
  ticketId: arbUint(256),
  epoch: arbUint(64),
  cumulativeAmount: arbUint(128),
  context: arbBytes32,
});

export const arbDelegation: fc.Arbitrary<Delegation> = fc.record({
  payer: arbAddress,
  key: arbAddress,
  payee: arbAddress,
  cap: arbUint(128),
  validUntilRound: arbUint(64),
  epoch: arbUint(64),
});

export const arbQuote: fc.Arbitrary<Quote> = fc.record({
  payee: arbAddress,
  payer: arbAddress,
  ticketId: arbUint(256),
  quoteId: arbBytes32,
  requestHash: arbBytes32,
  capability: fc.string(),
  model: fc.string({ unit: "grapheme" }),
  unit: fc.string(),
  priceNum: arbUint(128),
  priceDen: arbUint(128),
  estUnits: arbUint(64),
  maxUnits: arbUint(64),
  maxCharge: arbUint(128),
  expiry: arbUint(64),
});

export const arbReceipt: fc.Arbitrary<Receipt> = fc.record({
  payee: arbAddress,
  payer: arbAddress,
  ticketId: arbUint(256),
  epoch: arbUint(64),
  seq: arbUint(64),
  quoteHash: arbBytes32,
  units: arbUint(64),
  charge: arbUint(128),
  cumulativeCharged: arbUint(128),
  inputHash: arbBytes32,
  outputHash: arbBytes32,
  prevReceiptHash: arbBytes32,
});

/** anvil's first dev accounts (well known; test-only). */
export const KEYS = {
  payer: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  payee: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  signing: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  session: "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  other: "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
} as const satisfies Record<string, Hex>;

export const ADDR = Object.fromEntries(
  Object.entries(KEYS).map(([k, v]) => [k, privateKeyToAddress(v)]),
) as Record<keyof typeof KEYS, Hex>;

// ---------------------------------------------------------------- a pure payee and payer, for tests

export const TEST_DOMAIN = persistentDomain(31337, "0x5fbdb2315678afecb367f032d93f642f64180aa3");
export const SALT: Hex = `0x${"5a".repeat(32)}`;

let quoteCounter = 0;

/** A quote from ADDR.payee to ADDR.payer, signed by KEYS.signing. */
export function testQuote(
  ticketId: bigint,
  price: Rational,
  maxUnits: bigint,
  over: Partial<Parameters<typeof makeQuote>[0]> = {},
): SignedQuote & { hash: Hex } {
  const quote = makeQuote({
    payee: ADDR.payee,
    payer: ADDR.payer,
    ticketId,
    quoteId: `0x${(++quoteCounter).toString(16).padStart(64, "0")}`,
    requestHash: `0x${"77".repeat(32)}`,
    capability: "llm",
    model: "test-model",
    price,
    estUnits: maxUnits / 2n,
    maxUnits,
    expiry: 2_000_000_000n,
    ...over,
  });
  return {
    quote,
    signature: signQuote(TEST_DOMAIN, quote, KEYS.signing),
    hash: quoteHash(TEST_DOMAIN, quote),
  };
}

/** The payer signs its approval for a quote (approval-sizing rule) and records it. */
export function payerApproves(state: TicketState, q: SignedQuote & { hash: Hex }, key: Hex = KEYS.payer) {
  const voucher = {
    payer: state.payer,
    payee: state.payee,
    ticketId: state.ticketId,
    epoch: state.epoch,
    cumulativeAmount: approvalFor(state, q.quote),
    context: voucherContext(q.hash, state.lastReceiptHash),
  };
  const sig = signVoucher(TEST_DOMAIN, voucher, key);
  return {
    voucher,
    sig,
    state: applyVoucher(state, {
      cumulativeAmount: voucher.cumulativeAmount,
      quoteHash: q.hash,
      signer: privateKeyToAddress(key),
    }),
  };
}

/** The payee accepts a voucher, serves `units`, and returns its next state and the signed receipt. */
export function payeeServes(
  state: TicketState,
  q: SignedQuote & { hash: Hex },
  voucher: Parameters<typeof acceptVoucher>[1]["voucher"],
  signature: Hex,
  units: bigint,
  isDelegatedKey?: (key: Hex) => boolean,
): { state: TicketState; signed: SignedReceipt } {
  const accepted = acceptVoucher(
    state,
    { quote: q.quote, quoteHash: q.hash, voucher, signature },
    { domain: TEST_DOMAIN, nowSeconds: 1_000n, ...(isDelegatedKey ? { isDelegatedKey } : {}) },
  );
  const receipt = buildReceipt(accepted.state, {
    quote: q.quote,
    quoteHash: q.hash,
    units,
    inputHash: saltedHash(SALT, new Uint8Array([1])),
    outputHash: saltedHash(SALT, new Uint8Array([2])),
  });
  const hash = receiptHash(TEST_DOMAIN, receipt);
  return {
    state: applyReceipt(accepted.state, q.quote, receipt, hash),
    signed: { receipt, signature: signReceipt(TEST_DOMAIN, receipt, KEYS.signing), salt: SALT },
  };
}
