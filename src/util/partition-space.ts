/**
 * The fixed cut of the 64-bit key space into 2^16 partitions (why 16: `ring/partition.ts`).
 * Shared by ring/ (placement is per partition) and store/ (the per-partition index and digests),
 * which may not import each other.
 */
import { loadHash64 } from './hash64.js';

/** A partition is the top PARTITION_BITS bits of a ring position. */
export const PARTITION_BITS = 16;

/** Number of partitions (65,536). */
export const PARTITION_COUNT = 1 << PARTITION_BITS;

const SHIFT = BigInt(64 - PARTITION_BITS);

/** The partition (0 … PARTITION_COUNT − 1) of a ring position (0 … 2^64 − 1). */
export function partitionOfPosition(position: bigint): number {
  return Number(position >> SHIFT);
}

/** The first ring position of partition p (an integer in 0 … PARTITION_COUNT − 1). */
export function partitionStartOf(p: number): bigint {
  return BigInt(p) << SHIFT;
}

/**
 * The partition of an object key as the ring computes it (`h64(bucket + "\0" + key)`, top bits),
 * for a store built without a ring (tests, tools); a node passes its ring's `partitionOf`.
 */
export async function loadKeyPartitioner(): Promise<(bucket: string, key: string) => number> {
  const hash = await loadHash64();
  return (bucket, key) => partitionOfPosition(hash.h64(`${bucket}\0${key}`));
}
