/**
 * diffRings' contract on random pairs of layouts: a position is in a reported range exactly
 * when its replica set differs; each range's before/after are the two rings' replicas there
 * (in preference order), added/removed are the set differences; the fractions are the exact
 * sums over the ranges; a reordering of the same replicas is not a move.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { createHasher, type Hasher } from '../../../src/ring/hasher.js';
import { diffRings } from '../../../src/ring/diff.js';
import type { Layout } from '../../../src/ring/layout.js';
import { RING_SIZE, Ring, rangeSize } from '../../../src/ring/ring.js';
import { layoutOf, member } from './fixtures.js';

let hasher: Hasher;
beforeAll(async () => {
  hasher = await createHasher();
});

const ids = (members: readonly { id: string }[]): string[] => members.map((m) => m.id);

describe('diffRings properties (fast-check)', () => {
  const arbLayout = fc.uniqueArray(fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), zone: fc.constantFrom('z1', 'z2'), capacity: fc.constantFrom(0.5, 1, 2) }), {
    minLength: 1,
    maxLength: 5,
    selector: (m) => m.id,
  });
  const toLayout = (specs: { id: string; zone: string; capacity: number }[], version: number): Layout => ({ version, members: specs.map((s) => member(s.id, s)) });

  it('reports exactly the positions whose replica set changes, with the right before/after/added/removed and fractions', () => {
    fc.assert(
      fc.property(arbLayout, arbLayout, fc.integer({ min: 1, max: 3 }), fc.array(fc.bigInt({ min: 0n, max: RING_SIZE - 1n }), { maxLength: 40 }), (x, y, n, probes) => {
        const a = new Ring(toLayout(x, 1), hasher, { vnodesPerUnit: 4 });
        const b = new Ring(toLayout(y, 2), hasher, { vnodesPerUnit: 4 });
        const diff = diffRings(a, b, n);
        expect(diff.n).toBe(n);
        let moved = 0n;
        let transferred = 0n;
        diff.ranges.forEach((r, i) => {
          expect(r.end).toBeGreaterThanOrEqual(r.start);
          const prev = diff.ranges[i - 1];
          if (prev !== undefined) {
            expect(r.start).toBeGreaterThan(prev.end);
            // Adjacent runs with the same change are merged.
            expect(prev.end + 1n === r.start && prev.before.join() === r.before.join() && prev.after.join() === r.after.join()).toBe(false);
          }
          for (const p of [r.start, r.end]) {
            expect(ids(a.preferenceListAt(p, n).replicas)).toEqual(r.before);
            expect(ids(b.preferenceListAt(p, n).replicas)).toEqual(r.after);
          }
          expect(r.added).toEqual(r.after.filter((id) => !r.before.includes(id)));
          expect(r.removed).toEqual(r.before.filter((id) => !r.after.includes(id)));
          expect(r.added.length + r.removed.length).toBeGreaterThan(0);
          moved += rangeSize(r);
          transferred += BigInt(r.added.length) * rangeSize(r);
        });
        expect(diff.movedFraction).toBe(Number(moved) / Number(RING_SIZE));
        expect(diff.transferFraction).toBe(Number(transferred) / (Number(RING_SIZE) * n));
        // Token positions are where lists change; probe them and their neighbours as well as random points.
        const edges = [...a.ranges(n), ...b.ranges(n)].flatMap((r) => [r.start, r.end]);
        for (const p of [...probes, ...edges]) {
          const changed = new Set(ids(a.preferenceListAt(p, n).replicas));
          const after = ids(b.preferenceListAt(p, n).replicas);
          const differs = after.length !== changed.size || after.some((id) => !changed.has(id));
          expect(diff.ranges.some((r) => r.start <= p && p <= r.end)).toBe(differs);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('diffRings', () => {
  it('a new order of the same replicas is not a move (zones reorder, N = every member)', () => {
    const oneZone = new Ring(layoutOf(4), hasher, { vnodesPerUnit: 32 });
    const twoZones = new Ring(
      layoutOf(4, (i) => ({ zone: i < 2 ? 'z1' : 'z2' }), 2),
      hasher,
      { vnodesPerUnit: 32 },
    );
    // The preference order does change somewhere…
    const reordered = oneZone.ranges(4).some((r) => ids(twoZones.preferenceListAt(r.start, 4).replicas).join() !== ids(r.replicas).join());
    expect(reordered).toBe(true);
    // …but the sets do not.
    const diff = diffRings(oneZone, twoZones, 4);
    expect(diff.ranges).toEqual([]);
    expect(diff.movedFraction).toBe(0);
  });

  it('replacing one member by another moves everything it held to the newcomer alone', () => {
    const a = new Ring(layoutOf(3), hasher, { vnodesPerUnit: 16 });
    const b = new Ring({ version: 2, members: [member('n1'), member('n2'), member('x9')] }, hasher, { vnodesPerUnit: 16 });
    const diff = diffRings(a, b, 3);
    expect(diff.movedFraction).toBe(1);
    expect(diff.transferFraction).toBeCloseTo(1 / 3, 12);
    expect(diff.ranges.every((r) => r.added.join() === 'x9' && r.removed.join() === 'n3')).toBe(true);
  });
});
