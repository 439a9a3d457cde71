import { describe, it, expect, beforeAll } from 'vitest';
import { createHasher, type Hasher } from '../../../src/ring/hasher.js';
import { Ring } from '../../../src/ring/ring.js';
import { diffRings, type RingDiff } from '../../../src/ring/diff.js';
import { layoutOf, sampleKeys } from './fixtures.js';

let hasher: Hasher;
beforeAll(async () => {
  hasher = await createHasher();
});

const setOf = (members: readonly { id: string }[]): string =>
  members
    .map((m) => m.id)
    .sort()
    .join(',');
const inChanged = (diff: RingDiff, p: bigint): boolean => diff.ranges.some((r) => r.start <= p && p <= r.end);

describe('diffRings', () => {
  it('finds nothing between two rings of the same layout', () => {
    const a = new Ring(layoutOf(5), hasher, { vnodesPerUnit: 64 });
    const b = new Ring(
      layoutOf(5, () => ({}), 2),
      hasher,
      { vnodesPerUnit: 64 },
    );
    const diff = diffRings(a, b, 3);
    expect(diff.ranges).toEqual([]);
    expect(diff.movedFraction).toBe(0);
    expect(diff.transferFraction).toBe(0);
  });

  it('adding a 6th member moves at most 1.2 × 1/6 of primaries, all to the new member (acceptance)', () => {
    const five = new Ring(layoutOf(5), hasher);
    const six = new Ring(
      layoutOf(6, () => ({}), 2),
      hasher,
    );
    const diff = diffRings(five, six, 1);
    expect(diff.movedFraction).toBeLessThanOrEqual(1.2 / 6);
    expect(diff.movedFraction).toBeGreaterThanOrEqual(0.8 / 6);
    // With one replica every moved range gains exactly one owner, so both fractions agree.
    expect(diff.transferFraction).toBeCloseTo(diff.movedFraction, 12);
    expect(diff.movedFraction).toBeCloseTo(six.ownership(1).get('n6') ?? 0, 12);
    for (const r of diff.ranges) {
      expect(r.after).toEqual(['n6']);
      expect(r.added).toEqual(['n6']);
      expect(r.removed).toEqual(r.before);
    }

    // The same measured empirically: place 100,000 keys under both rings.
    const keys = sampleKeys(100_000, 7);
    let changed = 0;
    for (const key of keys) {
      const before = five.preferenceList('bucket', key, 1).replicas[0]?.id;
      const after = six.preferenceList('bucket', key, 1).replicas[0]?.id;
      if (before !== after) {
        changed++;
        expect(after).toBe('n6');
      }
    }
    const empirical = changed / keys.length;
    expect(empirical).toBeLessThanOrEqual(1.2 / 6);
    expect(Math.abs(empirical - diff.movedFraction)).toBeLessThan(0.01);
  });

  it('with N = 3, adding a member copies about 1/6 of all replicas, each range gaining only the new member', () => {
    const five = new Ring(layoutOf(5), hasher);
    const six = new Ring(
      layoutOf(6, () => ({}), 2),
      hasher,
    );
    const diff = diffRings(five, six, 3);
    expect(diff.transferFraction).toBeLessThanOrEqual(1.2 / 6);
    expect(diff.transferFraction).toBeGreaterThanOrEqual(0.8 / 6);
    expect(diff.movedFraction).toBeCloseTo(diff.transferFraction * 3, 12);
    for (const r of diff.ranges) {
      expect(r.added).toEqual(['n6']);
      expect(r.removed).toHaveLength(1);
    }
  });

  it('reports exactly the positions whose replica set changes', () => {
    const a = new Ring(
      layoutOf(5, (i) => ({ zone: `z${i % 2}` })),
      hasher,
      { vnodesPerUnit: 32 },
    );
    const b = new Ring(
      layoutOf(6, (i) => ({ zone: `z${i % 3}` }), 2),
      hasher,
      { vnodesPerUnit: 32 },
    );
    const diff = diffRings(a, b, 3);
    let changed = 0;
    for (const key of sampleKeys(5_000)) {
      const p = a.keyPosition('b', key);
      const moved = setOf(a.preferenceListAt(p, 3).replicas) !== setOf(b.preferenceListAt(p, 3).replicas);
      expect(inChanged(diff, p)).toBe(moved);
      if (moved) changed++;
    }
    expect(Math.abs(changed / 5_000 - diff.movedFraction)).toBeLessThan(0.03);
  });

  it('returns sorted, disjoint, maximal ranges and is symmetric in the moved share', () => {
    const a = new Ring(layoutOf(4), hasher, { vnodesPerUnit: 64 });
    const b = new Ring(
      layoutOf(3, () => ({}), 2),
      hasher,
      { vnodesPerUnit: 64 },
    );
    const forward = diffRings(a, b, 2);
    forward.ranges.forEach((r, i) => {
      expect(r.end).toBeGreaterThanOrEqual(r.start);
      const prev = forward.ranges[i - 1];
      if (prev === undefined) return;
      expect(r.start).toBeGreaterThan(prev.end);
      const merged = prev.end + 1n === r.start && prev.before.join() === r.before.join() && prev.after.join() === r.after.join();
      expect(merged).toBe(false);
    });
    // Removing n4: only n4 loses ranges, and every range it had as a replica is in the diff.
    for (const r of forward.ranges) expect(r.removed).toEqual(['n4']);
    expect(forward.movedFraction).toBeCloseTo(a.ownership(2).get('n4') ?? 0, 12);
    expect(diffRings(b, a, 2).movedFraction).toBeCloseTo(forward.movedFraction, 12);
  });

  it('rejects a bad replication factor', () => {
    const a = new Ring(layoutOf(3), hasher, { vnodesPerUnit: 8 });
    expect(() => diffRings(a, a, 0)).toThrow(/replication factor/);
  });
});
