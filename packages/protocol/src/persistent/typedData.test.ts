import fc from "fast-check";
import {
  domainSeparator,
  hashTypedData,
  keccak256 as viemKeccak,
  recoverTypedDataAddress,
  toHex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes } from "../bytes/hex.js";
import { InvalidInputError } from "../errors.js";
import { SECP256K1_N, SignatureError } from "../crypto/secp256k1.js";
import { fromCompactSignature, recoverTypedSigner, toCompactSignature } from "./compactSignature.js";
import {
  DELEGATION_STRUCT,
  DELEGATION_TYPEHASH,
  delegationHash,
  recoverDelegationSigner,
  signDelegation,
} from "./delegation.js";
import { PERSISTENT_DOMAIN_NAME, domainSeparatorOf, persistentDomain } from "./domain.js";
import { defineEip712Struct, eip712DomainSeparator, type Eip712Struct } from "./eip712.js";
import { QUOTE_STRUCT, QUOTE_TYPEHASH, quoteHash, recoverQuoteSigner, signQuote } from "./quote.js";
import {
  RECEIPT_STRUCT,
  RECEIPT_TYPEHASH,
  receiptHash,
  recoverReceiptSigner,
  signReceipt,
} from "./receipt.js";
import {
  ADDR,
  KEYS,
  arbAddress,
  arbDelegation,
  arbPrivateKey,
  arbQuote,
  arbReceipt,
  arbVoucher,
} from "./testFixtures.js";
import {
  VOUCHER_STRUCT,
  VOUCHER_TYPEHASH,
  recoverVoucherSigner,
  signVoucher,
  voucherHash,
} from "./voucher.js";
import { voucherContext } from "./voucherContext.js";

const broker = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const domain = persistentDomain(31337, broker);
const viemDomain = {
  name: PERSISTENT_DOMAIN_NAME,
  version: "1",
  chainId: 31337,
  verifyingContract: broker,
} as const;

function viemTypes(s: Eip712Struct) {
  return { [s.name]: s.fields.map((f) => ({ name: f.name, type: f.type })) };
}

function viemHash(s: Eip712Struct, message: object, d = viemDomain): string {
  return hashTypedData({ domain: d, types: viemTypes(s), primaryType: s.name, message } as never);
}

describe("type strings and hashes", () => {
  it("match the deployed contract's type hashes byte for byte (PERSISTENT.md)", () => {
    expect(VOUCHER_STRUCT.typeString).toBe(
      "Voucher(address payer,address payee,uint256 ticketId,uint64 epoch,uint128 cumulativeAmount,bytes32 context)",
    );
    expect(VOUCHER_TYPEHASH).toBe("0xc10c5c6e911f1e119805693ae67dfd26d0e51838221d1dcc23ec588bb1126b7a");
    expect(DELEGATION_STRUCT.typeString).toBe(
      "Delegation(address payer,address key,address payee,uint128 cap,uint64 validUntilRound,uint64 epoch)",
    );
    expect(DELEGATION_TYPEHASH).toBe("0x9ebda6dbdde2247739f5342342a6a9b897576c120a9d077c3c64ef9a6c6729cc");
    expect(QUOTE_STRUCT.typeString).toBe(
      "Quote(address payee,address payer,uint256 ticketId,bytes32 quoteId,bytes32 requestHash,string capability," +
        "string model,string unit,uint128 priceNum,uint128 priceDen,uint64 estUnits,uint64 maxUnits," +
        "uint128 maxCharge,uint64 expiry)",
    );
    expect(QUOTE_TYPEHASH).toBe(viemKeccak(toHex(QUOTE_STRUCT.typeString)));
    expect(RECEIPT_STRUCT.typeString).toBe(
      "Receipt(address payee,address payer,uint256 ticketId,uint64 epoch,uint64 seq,bytes32 quoteHash,uint64 units," +
        "uint128 charge,uint128 cumulativeCharged,bytes32 inputHash,bytes32 outputHash,bytes32 prevReceiptHash)",
    );
    expect(RECEIPT_TYPEHASH).toBe(viemKeccak(toHex(RECEIPT_STRUCT.typeString)));
    // Distinct type hashes: no signature of one type can pass for another.
    expect(new Set([VOUCHER_TYPEHASH, DELEGATION_TYPEHASH, QUOTE_TYPEHASH, RECEIPT_TYPEHASH]).size).toBe(4);
  });

  it("the domain separator equals viem's for any chain and contract", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), arbAddress, (chainId, contract) => {
        const d = persistentDomain(chainId, contract);
        const expected = domainSeparator({
          domain: { ...viemDomain, chainId: chainId as never, verifyingContract: contract },
        });
        expect(bytesToHex(domainSeparatorOf(d))).toBe(expected);
        expect(bytesToHex(eip712DomainSeparator(d))).toBe(expected);
      }),
      { numRuns: 50 },
    );
  });

  it("voucher, delegation, quote and receipt digests equal viem's hashTypedData", () => {
    fc.assert(
      fc.property(arbVoucher, (v) => {
        expect(voucherHash(domain, v)).toBe(viemHash(VOUCHER_STRUCT, v));
      }),
    );
    fc.assert(
      fc.property(arbDelegation, (d) => {
        expect(delegationHash(domain, d)).toBe(viemHash(DELEGATION_STRUCT, d));
      }),
    );
    fc.assert(
      fc.property(arbQuote, (q) => {
        expect(quoteHash(domain, q)).toBe(viemHash(QUOTE_STRUCT, q));
      }),
    );
    fc.assert(
      fc.property(arbReceipt, (r) => {
        expect(receiptHash(domain, r)).toBe(viemHash(RECEIPT_STRUCT, r));
      }),
    );
  });

  it("rejects values that do not fit their declared widths or types", () => {
    const v = {
      payer: ADDR.payer,
      payee: ADDR.payee,
      ticketId: 0n,
      epoch: 0n,
      cumulativeAmount: 1n << 128n,
      context: voucherContext(`0x${"11".repeat(32)}`, `0x${"00".repeat(32)}`),
    };
    expect(() => voucherHash(domain, v)).toThrow(InvalidInputError);
    expect(() => voucherHash(domain, { ...v, cumulativeAmount: 1n, epoch: 1n << 64n })).toThrow(/epoch/);
    expect(() => voucherHash(domain, { ...v, cumulativeAmount: -1n })).toThrow(/cumulativeAmount/);
    expect(() => voucherHash(domain, { ...v, cumulativeAmount: 1n, payer: "0x1234" })).toThrow(/payer/);
    expect(() => voucherHash(domain, { ...v, cumulativeAmount: 1n, context: "0x12" })).toThrow(/context/);
    expect(() => defineEip712Struct("X", [{ name: "a", type: "uint7" }])).toThrow(InvalidInputError);
    expect(() => defineEip712Struct("X", [{ name: "a", type: "Mail" }])).toThrow(InvalidInputError);
    expect(() => persistentDomain(0, broker)).toThrow(InvalidInputError);
  });
});

describe("signatures", () => {
  it("sign/recover round trips for every type, in both signature forms, and match viem's signTypedData", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbPrivateKey,
        arbVoucher,
        arbDelegation,
        arbQuote,
        arbReceipt,
        async (key, v, d, q, r) => {
          const account = privateKeyToAccount(key);
          const me = account.address.toLowerCase();
          const vs = signVoucher(domain, v, key);
          expect(recoverVoucherSigner(domain, v, vs.signature)).toBe(me);
          expect(recoverVoucherSigner(domain, v, { r: vs.r, vs: vs.vs })).toBe(me);
          // RFC 6979: deterministic, so viem produces the very same bytes.
          expect(vs.signature).toBe(
            await account.signTypedData({
              domain: viemDomain,
              types: viemTypes(VOUCHER_STRUCT),
              primaryType: "Voucher",
              message: v,
            } as never),
          );
          const ds = signDelegation(domain, d, key);
          expect(recoverDelegationSigner(domain, d, ds.signature)).toBe(me);
          expect(recoverDelegationSigner(domain, d, ds)).toBe(me);
          const qs = signQuote(domain, q, key);
          expect(recoverQuoteSigner(domain, q, qs)).toBe(me);
          expect(
            (
              await recoverTypedDataAddress({
                domain: viemDomain,
                types: viemTypes(QUOTE_STRUCT),
                primaryType: "Quote",
                message: q,
                signature: qs,
              } as never)
            ).toLowerCase(),
          ).toBe(me);
          const rs = signReceipt(domain, r, key);
          expect(recoverReceiptSigner(domain, r, rs)).toBe(me);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("a signature for another domain, type or field recovers another address", () => {
    fc.assert(
      fc.property(arbVoucher, (v) => {
        const sig = signVoucher(domain, v, KEYS.payer).signature;
        expect(recoverVoucherSigner(persistentDomain(1, broker), v, sig)).not.toBe(ADDR.payer);
        expect(recoverVoucherSigner(persistentDomain(31337, ADDR.other), v, sig)).not.toBe(ADDR.payer);
        expect(
          recoverVoucherSigner(domain, { ...v, cumulativeAmount: v.cumulativeAmount ^ 1n }, sig),
        ).not.toBe(ADDR.payer);
      }),
      { numRuns: 30 },
    );
  });

  it("compact form is EIP-2098 (vs = yParity << 255 | s) and round-trips; high s is rejected", () => {
    fc.assert(
      fc.property(arbVoucher, (v) => {
        const t = signVoucher(domain, v, KEYS.payer);
        const b = hexToBytes(t.signature);
        const s = BigInt(bytesToHex(b.subarray(32, 64)));
        const yParity = BigInt(b[64]! - 27);
        expect(BigInt(t.vs)).toBe(s | (yParity << 255n));
        expect(t.r).toBe(bytesToHex(b.subarray(0, 32)));
        expect(bytesToHex(fromCompactSignature(t))).toBe(t.signature);
        expect(toCompactSignature(t.signature)).toEqual({ r: t.r, vs: t.vs });
      }),
      { numRuns: 50 },
    );
    const t = signVoucher(
      domain,
      {
        payer: ADDR.payer,
        payee: ADDR.payee,
        ticketId: 1n,
        epoch: 0n,
        cumulativeAmount: 5n,
        context: `0x${"ab".repeat(32)}`,
      },
      KEYS.payer,
    );
    const b = hexToBytes(t.signature);
    const s = BigInt(bytesToHex(b.subarray(32, 64)));
    const high = new Uint8Array(b);
    high.set(hexToBytes(`0x${(SECP256K1_N - s).toString(16).padStart(64, "0")}`), 32);
    high[64] = b[64] === 27 ? 28 : 27; // the malleated twin: same signer, high s
    expect(() => toCompactSignature(high)).toThrow(SignatureError);
    const digest = new Uint8Array(32);
    expect(() => recoverTypedSigner(digest, high)).toThrow(SignatureError);
    const bad = new Uint8Array(b);
    bad[64] = 29;
    expect(() => toCompactSignature(bad)).toThrow(SignatureError);
    expect(() => toCompactSignature(b.subarray(0, 64))).toThrow(SignatureError);
  });
});
