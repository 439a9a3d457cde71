import { describe, expect, it } from 'vitest';
import { FANOUT, LEAF_LEVEL, PARTITIONS, ROOT, checkInterior, childOf, childSummaries, countMasked, rangeOf, sharedMasks, summarize } from '../../../src/antientropy/merkle.js';
import { placement } from './fakes.js';

describe('exchange tree', () => {
  it('has four interior levels over 65,536 partitions, fanout 16', () => {
    expect(rangeOf(ROOT)).toEqual({ lo: 0, hi: PARTITIONS });
    let node = ROOT;
    for (let level = 1; level <= LEAF_LEVEL; level++) node = childOf(node, FANOUT - 1);
    expect(node).toEqual({ level: 4, index: PARTITIONS - 1 });
    expect(rangeOf(childOf(childOf(ROOT, 3), 2))).toEqual({ lo: 3 * 4096 + 2 * 256, hi: 3 * 4096 + 3 * 256 });
    expect(() => checkInterior({ level: 4, index: 0 })).toThrow(/not an interior node/);
    expect(() => checkInterior({ level: 3, index: 4096 })).toThrow(/not an interior node/);
    expect(() => checkInterior({ level: 3, index: 4095 })).not.toThrow();
  });

  it('summarizes a range as the XOR of the masked digests only', () => {
    const digests = new BigUint64Array(PARTITIONS);
    digests[1] = 0b0011n;
    digests[2] = 0b0101n;
    digests[4096] = 0xffn;
    const mask = new Uint8Array(PARTITIONS);
    mask[1] = 1;
    mask[4096] = 1;
    expect(summarize(digests, mask, 0, PARTITIONS)).toBe(0b0011n ^ 0xffn);
    mask[2] = 1;
    expect(summarize(digests, mask, 0, 4096)).toBe(0b0110n);
    const root = childSummaries(digests, mask, ROOT);
    expect(root).toHaveLength(16);
    expect(root[0]).toBe(0b0110n);
    expect(root[1]).toBe(0xffn);
    expect(root.slice(2).every((x) => x === 0n)).toBe(true);
    expect(countMasked(mask, 0, 4096)).toBe(2);
  });

  it('masks the partitions two nodes both own', () => {
    const ids = ['a', 'b', 'c'];
    const masks = sharedMasks(
      'a',
      placement(ids, (p) => [ids[p % 3]!, ids[(p + 1) % 3]!]),
    );
    const ab = masks.get('b')!;
    const ac = masks.get('c')!;
    expect(ab[0]).toBe(1); // a, b
    expect(ab[1]).toBe(0); // b, c
    expect(ac[2]).toBe(1); // c, a
    expect(countMasked(ab, 0, PARTITIONS) + countMasked(ac, 0, PARTITIONS)).toBe(2 * Math.ceil(PARTITIONS / 3) - 1);
    expect(masks.has('a')).toBe(false);
  });
});
