/**
 * The exchange tree, computed on the fly: the 65,536 partitions are its leaves, fanout 16, so
 * four levels of interior nodes (root, 16, 256, 4,096). A node's summary is the XOR of the digests
 * of the partitions under it that both replicas own (the mask), so two replicas that agree on
 * every shared partition agree on the root, and a differing key is found by expanding one node
 * per level. Nothing is stored: summing 65,536 digests is cheaper than keeping a tree current.
 */
import { RingstoreError } from '../util/errors.js';
import type { PartitionPlacement, TreeNode } from './types.js';

/** Partitions on the ring (k = 16). */
export const PARTITIONS = 65_536;
/** Children per tree node. */
export const FANOUT = 16;
/** Level of the leaves (single partitions); interior nodes are levels 0..LEAF_LEVEL-1. */
export const LEAF_LEVEL = 4;

/** The root: every partition. */
export const ROOT: TreeNode = { level: 0, index: 0 };

/** Partitions under one node of `level`. */
export function spanOf(level: number): number {
  return PARTITIONS / FANOUT ** level;
}

/** Throws InvalidArgument unless `node` is an interior node (it has children). */
export function checkInterior(node: TreeNode): void {
  const { level, index } = node;
  if (!Number.isInteger(level) || level < 0 || level >= LEAF_LEVEL || !Number.isInteger(index) || index < 0 || index >= FANOUT ** level) {
    throw new RingstoreError('InvalidArgument', `tree node (${String(level)}, ${String(index)}) is not an interior node`, { level, index });
  }
}

/** The partitions `[lo, hi)` under a node. */
export function rangeOf(node: TreeNode): { lo: number; hi: number } {
  const span = spanOf(node.level);
  return { lo: node.index * span, hi: (node.index + 1) * span };
}

/** The i-th child of an interior node. */
export function childOf(node: TreeNode, i: number): TreeNode {
  return { level: node.level + 1, index: node.index * FANOUT + i };
}

/** XOR of the digests of the masked partitions in `[lo, hi)`. */
export function summarize(digests: BigUint64Array, mask: Uint8Array, lo: number, hi: number): bigint {
  // XOR on the two 32-bit halves as plain numbers: BigInt XOR is ~50x slower, and the root's
  // 16 summaries read all 65,536 digests on every exchange.
  const words = new Uint32Array(digests.buffer, digests.byteOffset, digests.length * 2);
  let a = 0;
  let b = 0;
  for (let p = lo; p < hi; p++) {
    if (mask[p] !== 1) continue;
    a ^= words[2 * p] ?? 0;
    b ^= words[2 * p + 1] ?? 0;
  }
  const halves = new Uint32Array([a, b]);
  return new BigUint64Array(halves.buffer)[0] ?? 0n;
}

/** The 16 child summaries of an interior node. */
export function childSummaries(digests: BigUint64Array, mask: Uint8Array, node: TreeNode): bigint[] {
  checkInterior(node);
  const { lo } = rangeOf(node);
  const span = spanOf(node.level + 1);
  return Array.from({ length: FANOUT }, (_, i) => summarize(digests, mask, lo + i * span, lo + (i + 1) * span));
}

/** Masked partitions in `[lo, hi)`. */
export function countMasked(mask: Uint8Array, lo: number, hi: number): number {
  let n = 0;
  for (let p = lo; p < hi; p++) n += mask[p] === 1 ? 1 : 0;
  return n;
}

/**
 * For every other node, the partitions it shares with `self` (both among the owners), as a
 * 0/1 byte per partition. Peers sharing nothing are absent.
 */
export function sharedMasks(self: string, placement: PartitionPlacement): Map<string, Uint8Array> {
  const masks = new Map<string, Uint8Array>();
  for (let p = 0; p < PARTITIONS; p++) {
    const owners = placement.ownersOf(p);
    if (!owners.includes(self)) continue;
    for (const peer of owners) {
      if (peer === self) continue;
      let mask = masks.get(peer);
      if (!mask) masks.set(peer, (mask = new Uint8Array(PARTITIONS)));
      mask[p] = 1;
    }
  }
  return masks;
}
