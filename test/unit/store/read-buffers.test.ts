import { describe, expect, it } from 'vitest';
import { ReadBufferPool } from '../../../src/store/read-buffers.js';

describe('ReadBufferPool', () => {
  it('hands a returned buffer out again, up to the number it keeps', () => {
    const pool = new ReadBufferPool(1024, 2);
    const [a, b, c] = [pool.take(), pool.take(), pool.take()];
    expect(new Set([a, b, c]).size).toBe(3);
    expect(a.length).toBe(1024);
    pool.give(a);
    pool.give(b);
    pool.give(c);
    expect(pool.free).toBe(2);
    const again = [pool.take(), pool.take()];
    expect(again).toEqual(expect.arrayContaining([a, b]));
    expect(pool.free).toBe(0);
  });

  it('never pools the same buffer twice, a view of one, or a stranger', () => {
    const pool = new ReadBufferPool(1024, 8);
    const a = pool.take();
    pool.give(a);
    pool.give(a);
    pool.give(a.subarray(0, 10));
    pool.give(Buffer.alloc(1024));
    expect(pool.free).toBe(1);
    // Two takes must never return the same memory.
    expect(pool.take()).not.toBe(pool.take());
  });
  it('keeps none when told to keep none, and always hands out buffers of its size', () => {
    const pool = new ReadBufferPool(512, 0);
    const a = pool.take();
    expect(a.length).toBe(512);
    expect(pool.size).toBe(512);
    pool.give(a);
    expect(pool.free).toBe(0);
    expect(pool.take()).not.toBe(a);
  });
});
