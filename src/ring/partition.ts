/**
 * Partitions: the 64-bit ring cut into 2^16 fixed, equal slices (a key's partition is the top 16
 * bits of its position `xxh64(bucket + "\0" + key)`). A partition is the unit of placement (every
 * key of a partition has the preference list taken at the partition's start), of Merkle trees,
 * of repair and of data movement. Pure.
 *
 * Why k = 16 (65,536 partitions): placement samples the vnode ring (2048 tokens per unit of
 * capacity) once per partition, so a member's share becomes a sum of whole partitions instead of
 * its exact token ranges. With 2^16 samples and 3…16 equal members that moves a member's share by
 * less than 1 % of itself (0.05 % at 3 members, 0.18 % at 5, 0.95 % at 16: at most 0.06 points of
 * the key space; measured in `test/unit/ring/partition.test.ts`), and adding a member moves the
 * same fraction as on the token ring (5 → 6: 16.19 % of primaries, 3 → 4: 25.24 %). Each bit
 * fewer doubles the sampling error: 2^12 would add about ±3 %, most of the ±5 % balance budget of
 * layout changes. Per-partition state stays small: one 64-bit digest each is 512 KiB, and the
 * store's partition-index key grows by 2 bytes. More bits would only add memory: at 10^6 keys a
 * partition already holds ~15 keys, a cheap unit to compare and to move.
 */
import { RingstoreError } from '../util/errors.js';
import { PARTITION_BITS, PARTITION_COUNT, partitionOfPosition, partitionStartOf } from '../util/partition-space.js';

export { PARTITION_BITS, PARTITION_COUNT, partitionOfPosition };

/** Number of ring positions in one partition (2^48). */
export const PARTITION_SIZE = 1n << BigInt(64 - PARTITION_BITS);

/** True when p is a partition number (an integer in 0 … PARTITION_COUNT − 1). */
export function isPartition(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p < PARTITION_COUNT;
}

/** Throws RingstoreError('InvalidArgument') unless p is a partition number. */
export function checkPartition(p: number): void {
  if (!isPartition(p)) {
    throw new RingstoreError('InvalidArgument', `partition = ${String(p)}; expected an integer in 0 … ${PARTITION_COUNT - 1}`, { field: 'partition', value: p });
  }
}

/** The first ring position of partition p. */
export function partitionStart(p: number): bigint {
  checkPartition(p);
  return partitionStartOf(p);
}

/** The last ring position of partition p (inclusive). */
export function partitionEnd(p: number): bigint {
  return partitionStart(p) + PARTITION_SIZE - 1n;
}
