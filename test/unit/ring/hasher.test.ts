import { describe, it, expect } from 'vitest';
import { createHasher } from '../../../src/ring/hasher.js';

describe('createHasher', () => {
  it('computes xxHash64 (seed 0) as an unsigned bigint', async () => {
    const hasher = await createHasher();
    // Reference values from the xxHash spec test vectors.
    expect(hasher.h64('')).toBe(0xef46db3751d8e999n);
    expect(hasher.h64('abc')).toBe(0x44bc2cf5ad770999n);
    expect(hasher.h64('n1#0')).toBeGreaterThanOrEqual(0n);
    expect(hasher.h64('n1#0')).toBeLessThan(1n << 64n);
  });

  it('shares one instance per process', async () => {
    expect(await createHasher()).toBe(await createHasher());
  });
});
