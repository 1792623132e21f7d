import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes } from "../bytes/hex.js";
import { InvalidInputError } from "../errors.js";
import { receiptHash } from "./receipt.js";
import {
  receiptsSumRoot,
  sumTreeLeaf,
  sumTreeParent,
  sumTreeProof,
  sumTreeRoot,
  verifySumTreeProof,
  type SumProof,
} from "./sumTree.js";
import { TEST_DOMAIN, arbBytes32, arbReceipt } from "./testFixtures.js";

const arbLeaves = fc.array(fc.record({ item: arbBytes32, sum: fc.bigInt({ min: 0n, max: 1n << 100n }) }), {
  minLength: 1,
  maxLength: 40,
});

const flip = (h: string, bit: number) => {
  const b = hexToBytes(h);
  b[bit % 32]! ^= 1 << (bit % 8);
  return bytesToHex(b);
};

describe("receipts sum tree", () => {
  it("the root's sum is the total and every leaf's proof verifies", () => {
    fc.assert(
      fc.property(arbLeaves, (items) => {
        const leaves = items.map((l) => sumTreeLeaf(l.item, l.sum));
        const root = sumTreeRoot(leaves);
        expect(root.sum).toBe(items.reduce((a, l) => a + l.sum, 0n));
        items.forEach((l, i) => expect(verifySumTreeProof(root, l, sumTreeProof(leaves, i))).toBe(true));
      }),
      { numRuns: 60 },
    );
  });

  it("fails for any tampered leaf item, leaf sum, sibling hash, sibling sum or claimed total", () => {
    fc.assert(
      fc.property(
        arbLeaves,
        fc.nat(),
        fc.nat(),
        fc.bigInt({ min: 1n, max: 1n << 60n }),
        (items, pick, bit, delta) => {
          const leaves = items.map((l) => sumTreeLeaf(l.item, l.sum));
          const root = sumTreeRoot(leaves);
          const i = pick % items.length;
          const leaf = items[i]!;
          const proof = sumTreeProof(leaves, i);
          expect(verifySumTreeProof(root, { ...leaf, item: flip(leaf.item, bit) }, proof)).toBe(false);
          expect(verifySumTreeProof(root, { ...leaf, sum: leaf.sum + delta }, proof)).toBe(false);
          if (leaf.sum >= delta)
            expect(verifySumTreeProof(root, { ...leaf, sum: leaf.sum - delta }, proof)).toBe(false);
          expect(verifySumTreeProof({ ...root, sum: root.sum + delta }, leaf, proof)).toBe(false);
          expect(verifySumTreeProof({ ...root, hash: flip(root.hash, bit) }, leaf, proof)).toBe(false);
          if (proof.steps.length > 0) {
            const k = bit % proof.steps.length;
            const steps = proof.steps.map((s, j) => (j === k ? { ...s, sum: s.sum + delta } : s));
            expect(verifySumTreeProof(root, leaf, { ...proof, steps })).toBe(false);
            // Moving value from a sibling to the leaf keeps the total but not the hash.
            const s = proof.steps[k]!;
            if (s.sum >= delta) {
              const moved: SumProof = {
                ...proof,
                steps: proof.steps.map((x, j) => (j === k ? { ...x, sum: x.sum - delta } : x)),
              };
              expect(verifySumTreeProof(root, { ...leaf, sum: leaf.sum + delta }, moved)).toBe(false);
            }
            const hashed = proof.steps.map((x, j) => (j === k ? { ...x, hash: flip(x.hash, bit) } : x));
            expect(verifySumTreeProof(root, leaf, { ...proof, steps: hashed })).toBe(false);
            const swapped = proof.steps.map((x, j) => (j === k ? { ...x, left: !x.left } : x));
            expect(verifySumTreeProof(root, leaf, { ...proof, steps: swapped })).toBe(false);
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it("an inner node cannot pose as a leaf; empty, single and odd trees; sums stay uint128", () => {
    const a = sumTreeLeaf(`0x${"01".repeat(32)}`, 5n);
    const b = sumTreeLeaf(`0x${"02".repeat(32)}`, 7n);
    const c = sumTreeLeaf(`0x${"03".repeat(32)}`, 11n);
    const root = sumTreeRoot([a, b, c]);
    expect(root).toEqual(sumTreeParent(sumTreeParent(a, b), c));
    expect(root.sum).toBe(23n);
    // The inner node (a, b) presented as a leaf item with its sum does not verify.
    const ab = sumTreeParent(a, b);
    expect(
      verifySumTreeProof(root, { item: ab.hash, sum: ab.sum }, { index: 0, steps: [{ ...c, left: false }] }),
    ).toBe(false);
    expect(sumTreeRoot([])).toEqual({ hash: `0x${"0".repeat(64)}`, sum: 0n });
    expect(sumTreeRoot([a])).toEqual(a);
    expect(() => sumTreeLeaf(a.hash, 1n << 128n)).toThrow(InvalidInputError);
    expect(() => sumTreeParent(sumTreeLeaf(a.hash, (1n << 128n) - 1n), b)).toThrow(InvalidInputError);
    expect(() => sumTreeProof([a], 1)).toThrow(InvalidInputError);
  });

  it("receiptsSumRoot commits to receipt hashes and charges", () => {
    fc.assert(
      fc.property(
        fc.array(
          arbReceipt.map((r) => ({ ...r, charge: r.charge >> 8n })),
          { maxLength: 10 },
        ),
        (receipts) => {
          const root = receiptsSumRoot(TEST_DOMAIN, receipts);
          expect(root.sum).toBe(receipts.reduce((s, r) => s + r.charge, 0n));
          const leaves = receipts.map((r) => sumTreeLeaf(receiptHash(TEST_DOMAIN, r), r.charge));
          receipts.forEach((r, i) => {
            const ok = verifySumTreeProof(
              root,
              { item: receiptHash(TEST_DOMAIN, r), sum: r.charge },
              sumTreeProof(leaves, i),
            );
            expect(ok).toBe(true);
          });
        },
      ),
      { numRuns: 30 },
    );
  });
});
