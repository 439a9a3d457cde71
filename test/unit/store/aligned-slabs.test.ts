/** AlignedSlabPool (aligned-slabs.ts): page-aligned slabs for O_DIRECT writes, a fixed number of them, reused. */
import { describe, expect, it } from 'vitest';
import { AlignedSlabPool, DIRECT_ALIGN, alignUp } from '../../../src/store/aligned-slabs.js';

const SLAB = 64 * 1024;

describe('AlignedSlabPool', () => {
  it('hands out its fixed number of distinct, page-aligned slabs of the asked size, then none', () => {
    const pool = new AlignedSlabPool(3, SLAB);
    expect(pool.slabBytes).toBe(SLAB);
    expect(pool.available).toBe(3);
    const slabs = [pool.take(), pool.take(), pool.take()];
    expect(pool.take()).toBeUndefined();
    expect(pool.available).toBe(0);
    const offsets = new Set<number>();
    for (const slab of slabs) {
      expect(slab?.length).toBe(SLAB);
      expect((slab?.byteOffset ?? 1) % DIRECT_ALIGN).toBe(0);
      offsets.add(slab?.byteOffset ?? -1);
    }
    expect(offsets.size).toBe(3);
    // Slabs do not overlap: writing one leaves the others as they were.
    slabs[0]?.fill(0xaa);
    expect(slabs[1]?.every((b) => b === 0)).toBe(true);
  });

  it('takes a slab back and hands it out again', () => {
    const pool = new AlignedSlabPool(1, SLAB);
    const slab = pool.take();
    expect(slab).toBeDefined();
    pool.give(slab!);
    expect(pool.available).toBe(1);
    expect(pool.take()).toBe(slab);
  });

  it('refuses a slab size that is not a multiple of 64 KiB', () => {
    expect(() => new AlignedSlabPool(1, SLAB + DIRECT_ALIGN)).toThrow(RangeError);
    expect(() => new AlignedSlabPool(1, 1000)).toThrow(/not a multiple of 65536/);
    expect(() => new AlignedSlabPool(1, 2 * SLAB)).not.toThrow();
  });

  it('aligns lengths up to the next 4 KiB', () => {
    expect(DIRECT_ALIGN).toBe(4096);
    expect([0, 1, 4095, 4096, 4097, 8192, 10_000].map(alignUp)).toEqual([0, 4096, 4096, 4096, 8192, 8192, 12_288]);
  });
});
