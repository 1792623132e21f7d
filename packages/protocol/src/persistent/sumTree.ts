import { bytesToHex, tryHexToBytes, type Hex } from "../bytes/hex.js";
import { writeUint } from "../bytes/integers.js";
import { keccak256 } from "../crypto/keccak256.js";
import { InvalidInputError } from "../errors.js";
import { ZERO_HASH } from "../pm/constants.js";
import type { Eip712Domain } from "./eip712.js";
import { receiptHash, type Receipt } from "./receipt.js";

// A Merkle sum tree: every node commits to its children's hashes *and sums*, so the root hash fixes the
// total and an inclusion proof shows one leaf's amount is part of it. Leaf and inner hashes have
// different prefixes (0x00, 0x01) so a leaf can never pass for an inner node. An odd node at the end of
// a level moves up unchanged (duplicating it would count its sum twice).

/** A node of a sum tree: a hash and the sum it commits to (wei, < 2^128). */
export interface SumNode {
  hash: Hex;
  sum: bigint;
}

/** One step of an inclusion proof: the sibling node and whether it sits on the left. */
export interface SumProofStep extends SumNode {
  left: boolean;
}

/** An inclusion proof: the siblings from the leaf up to the root. */
export interface SumProof {
  index: number;
  steps: SumProofStep[];
}

const LIMIT = 1n << 128n;

function amount(sum: bigint): bigint {
  if (typeof sum !== "bigint" || sum < 0n || sum >= LIMIT) {
    throw new InvalidInputError("INVALID_SUM", "sum must be a uint128", { sum: String(sum) });
  }
  return sum;
}

function hash32(h: string): Uint8Array {
  const b = tryHexToBytes(h, true);
  if (!b || b.length !== 32) throw new InvalidInputError("INVALID_HASH", "hash must be 32 bytes of 0x hex");
  return b;
}

/**
 * A leaf: `keccak256(0x00 ‖ item ‖ uint128 sum)`, carrying `sum`.
 * @example sumTreeLeaf(receiptHash(domain, r), r.charge)
 */
export function sumTreeLeaf(item: Hex, sum: bigint): SumNode {
  const buf = new Uint8Array(49);
  buf.set(hash32(item), 1);
  writeUint(buf, 33, amount(sum), 16);
  return { hash: bytesToHex(keccak256(buf)), sum };
}

/**
 * An inner node: `keccak256(0x01 ‖ left.hash ‖ uint128 left.sum ‖ right.hash ‖ uint128 right.sum)`,
 * carrying `left.sum + right.sum` (which must stay below 2^128).
 * @example sumTreeParent(a, b).sum === a.sum + b.sum
 */
export function sumTreeParent(left: SumNode, right: SumNode): SumNode {
  const sum = amount(amount(left.sum) + amount(right.sum));
  const buf = new Uint8Array(97);
  buf[0] = 1;
  buf.set(hash32(left.hash), 1);
  writeUint(buf, 33, left.sum, 16);
  buf.set(hash32(right.hash), 49);
  writeUint(buf, 81, right.sum, 16);
  return { hash: bytesToHex(keccak256(buf)), sum };
}

function levels(leaves: readonly SumNode[]): SumNode[][] {
  const out: SumNode[][] = [leaves.slice()];
  while (out[out.length - 1]!.length > 1) {
    const level = out[out.length - 1]!;
    const up: SumNode[] = [];
    for (let i = 0; i < level.length; i += 2) {
      up.push(i + 1 < level.length ? sumTreeParent(level[i]!, level[i + 1]!) : level[i]!);
    }
    out.push(up);
  }
  return out;
}

/**
 * The root of a sum tree over leaves in order; its `sum` is the total and its `hash` commits to it.
 * The empty tree's root is `{ hash: ZERO_HASH, sum: 0n }`.
 * @example const { hash: receiptsRoot, sum: total } = sumTreeRoot(leaves);
 */
export function sumTreeRoot(leaves: readonly SumNode[]): SumNode {
  if (leaves.length === 0) return { hash: ZERO_HASH, sum: 0n };
  const all = levels(leaves);
  return all[all.length - 1]![0]!;
}

/**
 * The inclusion proof of leaf `index`.
 * @example verifySumTreeProof(root, { item: items[3], sum: sums[3] }, sumTreeProof(leaves, 3)) // true
 */
export function sumTreeProof(leaves: readonly SumNode[], index: number): SumProof {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new InvalidInputError("INVALID_INDEX", "leaf index out of range", { index, leaves: leaves.length });
  }
  const steps: SumProofStep[] = [];
  let i = index;
  for (const level of levels(leaves)) {
    if (level.length === 1) break;
    const sibling = i % 2 === 1 ? i - 1 : i + 1;
    if (sibling < level.length) {
      const node = level[sibling]!;
      steps.push({ hash: node.hash, sum: node.sum, left: sibling < i });
    }
    i = Math.floor(i / 2);
  }
  return { index, steps };
}

/** A leaf as a verifier knows it: the item (e.g. a receipt hash) and its amount. */
export interface SumLeafInput {
  item: Hex;
  sum: bigint;
}

/**
 * Whether the leaf `(item, sum)` is in the tree of `root`: hashes the leaf itself (so an inner node
 * cannot pose as a leaf), folds the proof up and compares both the hash and the sum, so a tampered
 * item, leaf amount, sibling amount, sibling hash or claimed total is rejected. Never throws.
 * @example verifySumTreeProof({ hash: receiptsRoot, sum: total }, { item: receiptHash, sum: charge }, proof) // true
 */
export function verifySumTreeProof(root: SumNode, leaf: SumLeafInput, proof: SumProof): boolean {
  try {
    let node: SumNode = sumTreeLeaf(leaf.item, leaf.sum);
    for (const s of proof.steps) node = s.left ? sumTreeParent(s, node) : sumTreeParent(node, s);
    return node.hash.toLowerCase() === root.hash.toLowerCase() && node.sum === root.sum;
  } catch {
    return false;
  }
}

/**
 * The receipts sum tree of a claim: one leaf per receipt (its hash, its charge), in order. `hash` is the
 * `receiptsRoot` a claim records; `sum` is the total the receipts justify.
 * @example const root = receiptsSumRoot(domain, receipts); // root.sum === receipts' charges added up
 */
export function receiptsSumRoot(domain: Eip712Domain, receipts: readonly Receipt[]): SumNode {
  return sumTreeRoot(receipts.map((r) => sumTreeLeaf(receiptHash(domain, r), r.charge)));
}
