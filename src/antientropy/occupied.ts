/**
 * Which partitions hold keys, from the store's partition digests (0n marks an empty partition),
 * for the workers that walk every key this node holds (scrub, tombstone GC). The digests are
 * read as 32-bit words: reading a BigUint64Array element makes a BigInt, and doing that 65,536
 * times per pass showed up as most of the CPU of an idle pass.
 */

/** The partitions at or after `from` whose digest is not 0n, in order. */
export function occupiedPartitions(digests: BigUint64Array, from = 0): number[] {
  const words = new Uint32Array(digests.buffer, digests.byteOffset, digests.length * 2);
  const out: number[] = [];
  for (let p = from; p < digests.length; p++) if ((words[2 * p]! | words[2 * p + 1]!) !== 0) out.push(p);
  return out;
}
