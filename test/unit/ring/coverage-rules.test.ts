/**
 * coveringMembers' contract, beyond the examples in coverage.test.ts: on any ring and any set
 * of usable members it returns usable, distinct members covering every range with
 * min(per, usable replicas of the range) of them, the local node first when usable, the same
 * answer whatever order the usable set is in, or undefined exactly when a range has no usable
 * replica. The greedy choice is pinned on hand-made ranges.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { coveringMembers } from '../../../src/ring/coverage.js';
import { createHasher, type Hasher } from '../../../src/ring/hasher.js';
import type { Layout } from '../../../src/ring/layout.js';
import { Ring, type RingRange } from '../../../src/ring/ring.js';
import { member } from './fixtures.js';

let hasher: Hasher;
beforeAll(async () => {
  hasher = await createHasher();
});

/** Hand-made ranges: one per list of replica ids. */
function rangesOf(...lists: string[][]): RingRange[] {
  return lists.map((ids, i) => ({ start: BigInt(i * 10), end: BigInt(i * 10 + 9), replicas: ids.map((id) => member(id)) }));
}

describe('coveringMembers, greedy choice', () => {
  it('takes the member filling the most short ranges, the smaller id on a tie', () => {
    const ranges = rangesOf(['a', 'b'], ['b', 'c'], ['c', 'd']);
    const all = new Set(['d', 'c', 'b', 'a']);
    // b and c both fill two ranges: b (smaller id) first, then c or d fill the last; c is smaller.
    expect(coveringMembers(ranges, 1, all)).toEqual(['b', 'c']);
    expect(coveringMembers(ranges, 1, all, 'a')).toEqual(['a', 'c']);
    expect(coveringMembers(ranges, 2, all)).toEqual(['b', 'c', 'a', 'd']);
  });

  it('a preferred member that is not usable is not taken', () => {
    const ranges = rangesOf(['a', 'b'], ['b', 'c']);
    expect(coveringMembers(ranges, 1, new Set(['b', 'c']), 'a')).toEqual(['b']);
  });

  it('a usable member holding none of the ranges is never chosen', () => {
    const ranges = rangesOf(['a', 'b'], ['b', 'c']);
    expect(coveringMembers(ranges, 2, new Set(['a', 'b', 'c', 'gw']))).toEqual(['b', 'a', 'c']);
  });

  it('asks for fewer than per in a range only when fewer of its replicas are usable', () => {
    const ranges = rangesOf(['a', 'b', 'c'], ['c', 'd', 'e']);
    expect(coveringMembers(ranges, 2, new Set(['a', 'c', 'd']))).toEqual(['c', 'a', 'd']);
    expect(coveringMembers(ranges, 3, new Set(['a', 'c']))).toEqual(['c', 'a']);
  });

  it('is undefined when any one range has no usable replica, even if the others are covered', () => {
    const ranges = rangesOf(['a', 'b'], ['c', 'd'], ['a', 'c']);
    expect(coveringMembers(ranges, 1, new Set(['a', 'b', 'c']))).toEqual(['a', 'c']);
    expect(coveringMembers(ranges, 1, new Set(['a', 'b']))).toBeUndefined();
    expect(coveringMembers(ranges, 1, new Set())).toBeUndefined();
  });
});

describe('coveringMembers on real rings (fast-check)', () => {
  const arb = fc
    .record({
      zones: fc.array(fc.constantFrom('z1', 'z2', 'z3'), { minLength: 1, maxLength: 7 }),
      n: fc.integer({ min: 1, max: 4 }),
      per: fc.integer({ min: 1, max: 3 }),
    })
    .chain(({ zones, n, per }) =>
      fc.record({
        zones: fc.constant(zones),
        n: fc.constant(n),
        per: fc.constant(per),
        usable: fc.subarray(zones.map((_, i) => `m${i}`)),
        preferred: fc.option(fc.constantFrom(...zones.map((_, i) => `m${i}`)), { nil: undefined }),
      }),
    );

  it('covers every range with min(per, usable replicas) chosen usable members, or is undefined exactly when a range has none', () => {
    fc.assert(
      fc.property(arb, ({ zones, n, per, usable, preferred }) => {
        const layout: Layout = { version: 1, members: zones.map((zone, i) => member(`m${i}`, { zone })) };
        const ranges = new Ring(layout, hasher, { vnodesPerUnit: 4 }).ranges(n);
        const set = new Set(usable);
        const chosen = coveringMembers(ranges, per, set, preferred);
        const orphan = ranges.some((r) => !r.replicas.some((m) => set.has(m.id)));
        if (orphan) {
          expect(chosen).toBeUndefined();
          return;
        }
        expect(chosen).toBeDefined();
        const ids = chosen ?? [];
        expect(new Set(ids).size).toBe(ids.length);
        for (const id of ids) expect(set.has(id)).toBe(true);
        if (preferred !== undefined && set.has(preferred)) expect(ids[0]).toBe(preferred);
        for (const r of ranges) {
          const live = r.replicas.filter((m) => set.has(m.id)).length;
          expect(r.replicas.filter((m) => ids.includes(m.id)).length).toBeGreaterThanOrEqual(Math.min(per, live));
        }
        // The answer does not depend on the order the usable set was built in.
        expect(coveringMembers(ranges, per, new Set([...usable].reverse()), preferred)).toEqual(ids);
      }),
      { numRuns: 300 },
    );
  });
});
