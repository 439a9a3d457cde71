/**
 * Merkle leaves: a 64-bit digest per key held, and per partition the XOR of its keys' leaves.
 * XOR makes a partition's digest independent of write order and updatable in O(1) per write
 * (XOR the old leaf out, the new one in), so both stores keep all 65,536 of them in memory and
 * anti-entropy compares partitions without scanning. A quarantined copy has a different leaf
 * than a good one of the same version, so a comparison finds it and repair replaces it.
 */
import type { Version } from '../util/clock.js';
import type { Hash64 } from '../util/hash64.js';
import type { ObjectRecord } from './types.js';

/** What a leaf digest covers. */
export interface LeafFields {
  readonly bucket: string;
  readonly key: string;
  readonly version: Version;
  readonly tombstone: boolean;
  readonly storage: ObjectRecord['storage'];
}

/**
 * xxHash64 of `hlc \0 flags \0 node length \0 node \0 bucket \0 key` (flags: 1 tombstone,
 * 2 quarantined). The fixed-form fields come first and the node carries its length, so two
 * different leaves never hash the same string (a key may contain NUL, a bucket may not).
 */
export function leafDigest(hash: Hash64, leaf: LeafFields): bigint {
  const flags = (leaf.tombstone ? 1 : 0) | (leaf.storage === 'quarantined' ? 2 : 0);
  const { hlc, node } = leaf.version;
  return hash.h64(`${hlc}\0${flags}\0${node.length}\0${node}\0${leaf.bucket}\0${leaf.key}`);
}

/** XORs `delta` (an old leaf XOR a new one, or a single leaf) into partition p's digest. */
export function toggleLeaf(digests: BigUint64Array, p: number, delta: bigint): void {
  if (delta !== 0n) digests[p] = (digests[p] ?? 0n) ^ delta;
}
