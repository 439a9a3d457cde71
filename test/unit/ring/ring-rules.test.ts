/**
 * Placement rules ring.test.ts does not pin down: placement depends on member id, zone and
 * capacity only (never on address, state or layout version); growing one member's capacity or
 * adding one member to a zone moves keys only to that member, displacing only members of its
 * zone; a tiny capacity still holds data; ranges(n) are maximal runs.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { createHasher, type Hasher } from '../../../src/ring/hasher.js';
import { diffRings } from '../../../src/ring/diff.js';
import type { Layout } from '../../../src/ring/layout.js';
import { Ring } from '../../../src/ring/ring.js';
import { layoutOf, member, sampleKeys } from './fixtures.js';

let hasher: Hasher;
beforeAll(async () => {
  hasher = await createHasher();
});

const ids = (members: readonly { id: string }[]): string[] => members.map((m) => m.id);

describe('Ring placement inputs', () => {
  it('changing addresses, states or the layout version moves no key', () => {
    const base = layoutOf(5, (i) => ({ zone: `z${i % 2}` }));
    const changed: Layout = {
      version: 9,
      members: base.members.map((m, i) => ({ ...m, address: `10.0.0.${i}:7000`, state: i === 1 ? 'leaving' : i === 3 ? 'joining' : 'active' })),
    };
    const a = new Ring(base, hasher, { vnodesPerUnit: 32 });
    const b = new Ring(changed, hasher, { vnodesPerUnit: 32 });
    expect(diffRings(a, b, 3).ranges).toEqual([]);
    for (const key of sampleKeys(500)) {
      expect(ids(b.preferenceList('b', key, 3).replicas)).toEqual(ids(a.preferenceList('b', key, 3).replicas));
      expect(ids(b.preferenceList('b', key, 3).fallbacks)).toEqual(ids(a.preferenceList('b', key, 3).fallbacks));
    }
  });

  it('a member with a tiny capacity still gets one token and holds part of the key space', () => {
    const ring = new Ring(
      layoutOf(3, (i) => ({ capacity: i === 2 ? 0.0001 : 1 })),
      hasher,
      { vnodesPerUnit: 16 },
    );
    expect(ring.tokenCount).toBe(16 + 16 + 1);
    expect(ring.ownership(1).get('n3')).toBeGreaterThan(0);
    // With N = 3 it is a replica of every key.
    expect(ring.ownership(3).get('n3')).toBeCloseTo(1, 12);
  });

  it('member() finds gateways too; they hold nothing', () => {
    const ring = new Ring(
      layoutOf(3, (i) => ({ capacity: i === 0 ? 0 : 1 })),
      hasher,
      { vnodesPerUnit: 8 },
    );
    expect(ring.member('n1')?.capacity).toBe(0);
    expect(ring.member('n9')).toBeUndefined();
    expect(ids(ring.members)).toEqual(['n2', 'n3']);
    for (const key of sampleKeys(200)) {
      const list = ring.preferenceList('b', key, 3);
      expect([...ids(list.replicas), ...ids(list.fallbacks)]).not.toContain('n1');
    }
  });
});

describe('Ring stability', () => {
  it('raising one member capacity moves primaries only to it, about the share it gains', () => {
    const before = new Ring(layoutOf(4), hasher, { vnodesPerUnit: 256 });
    const after = new Ring(
      layoutOf(4, (i) => ({ capacity: i === 0 ? 2 : 1 }), 2),
      hasher,
      { vnodesPerUnit: 256 },
    );
    const diff = diffRings(before, after, 1);
    for (const r of diff.ranges) expect(r.after).toEqual(['n1']);
    // n1 goes from 1/4 to 2/5 of the key space.
    expect(diff.movedFraction).toBeGreaterThan(0.1);
    expect(diff.movedFraction).toBeLessThan(0.2);
    expect(diff.movedFraction).toBeCloseTo((after.ownership(1).get('n1') ?? 0) - (before.ownership(1).get('n1') ?? 0), 12);
  });

  it('adding a member to one of 3 zones (N = 3) only gives it copies, each taken from a member of its own zone', () => {
    const zoneOf = (i: number): string => `z${i % 3}`;
    const six = new Ring(
      layoutOf(6, (i) => ({ zone: zoneOf(i) })),
      hasher,
    );
    const seven = new Ring(
      layoutOf(7, (i) => ({ zone: zoneOf(i) }), 2),
      hasher,
    );
    const diff = diffRings(six, seven, 3);
    expect(diff.ranges.length).toBeGreaterThan(0);
    for (const r of diff.ranges) {
      expect(r.added).toEqual(['n7']);
      expect(r.removed).toHaveLength(1);
      expect(['n1', 'n4']).toContain(r.removed[0]);
    }
    // n7 joins z0 (n1, n4): it takes about a third of that zone's copies, i.e. 1/3 of the keys.
    expect(diff.movedFraction).toBeGreaterThan(0.25);
    expect(diff.movedFraction).toBeLessThan(0.42);
    expect(diff.transferFraction).toBeCloseTo(diff.movedFraction / 3, 12);
  });

  it('removing a member moves only the keys it held, each to exactly one new member', () => {
    const five = new Ring(layoutOf(5), hasher, { vnodesPerUnit: 128 });
    const four = new Ring({ version: 2, members: layoutOf(5).members.filter((m) => m.id !== 'n3') }, hasher, { vnodesPerUnit: 128 });
    const diff = diffRings(five, four, 3);
    for (const r of diff.ranges) {
      expect(r.removed).toEqual(['n3']);
      expect(r.added).toHaveLength(1);
    }
    expect(diff.movedFraction).toBeCloseTo(five.ownership(3).get('n3') ?? 0, 12);
  });
});

describe('Ring.ranges', () => {
  it('are maximal: neighbouring ranges never have the same replica list', () => {
    for (const n of [1, 2, 3]) {
      const ranges = new Ring(layoutOf(4), hasher, { vnodesPerUnit: 64 }).ranges(n);
      for (let i = 1; i < ranges.length; i++) {
        expect(ids(ranges[i]?.replicas ?? [])).not.toEqual(ids(ranges[i - 1]?.replicas ?? []));
      }
    }
  });

  it('with N = every data member, every range holds every member', () => {
    const ring = new Ring(layoutOf(3), hasher, { vnodesPerUnit: 16 });
    for (const r of ring.ranges(3)) expect(new Set(ids(r.replicas))).toEqual(new Set(['n1', 'n2', 'n3']));
    expect([...ring.ownership(3).values()]).toEqual([1, 1, 1]);
  });

  it('are cached per n and frozen', () => {
    const ring = new Ring(layoutOf(3), hasher, { vnodesPerUnit: 8 });
    expect(ring.ranges(2)).toBe(ring.ranges(2));
    expect(ring.ranges(2)).not.toBe(ring.ranges(1));
    expect(Object.isFrozen(ring.ranges(2))).toBe(true);
    expect(Object.isFrozen(ring.ranges(2)[0])).toBe(true);
  });

  it('a one-member ring is one range holding everything', () => {
    const ring = new Ring({ version: 1, members: [member('solo')] }, hasher, { vnodesPerUnit: 8 });
    expect(ring.ranges(3)).toHaveLength(1);
    expect(ids(ring.ranges(3)[0]?.replicas ?? [])).toEqual(['solo']);
    expect(ids(ring.preferenceList('b', 'k', 3).replicas)).toEqual(['solo']);
    expect(ring.preferenceList('b', 'k', 3).fallbacks).toEqual([]);
  });
});

describe('Ring token collisions', () => {
  // Tokens of different members at the same position are astronomically rare with xxHash64; a
  // hasher that forces them checks that every node still orders them the same way.
  const colliding = (): Hasher => ({ h64: (input) => (input === 'n1#0' || input === 'n2#0' ? 1000n : hasher.h64(input)) });

  it('equal token positions are ordered by member id, whatever the layout order', () => {
    const forward = new Ring(layoutOf(3), colliding(), { vnodesPerUnit: 4 });
    const reversed = new Ring({ version: 1, members: [...layoutOf(3).members].reverse() }, colliding(), { vnodesPerUnit: 4 });
    for (const p of [0n, 999n, 1000n, 1001n]) {
      expect(ids(reversed.preferenceListAt(p, 3).replicas)).toEqual(ids(forward.preferenceListAt(p, 3).replicas));
    }
    // The key at the shared position belongs to n1's token (n1 < n2).
    expect(forward.preferenceListAt(1000n, 1).replicas[0]?.id).toBe('n1');
    expect(reversed.preferenceListAt(1000n, 1).replicas[0]?.id).toBe('n1');
  });

  it('ranges(n) still partition the key space when two tokens share a position', () => {
    const ring = new Ring(layoutOf(3), colliding(), { vnodesPerUnit: 4 });
    const ranges = ring.ranges(1);
    expect(ranges[0]?.start).toBe(0n);
    ranges.forEach((r, i) => {
      expect(r.end).toBeGreaterThanOrEqual(r.start);
      if (i > 0) expect(r.start).toBe((ranges[i - 1]?.end ?? -2n) + 1n);
    });
    expect(ranges.reduce((sum, r) => sum + (r.end - r.start + 1n), 0n)).toBe(1n << 64n);
    const at1000 = ranges.find((r) => r.start <= 1000n && 1000n <= r.end);
    expect(at1000?.replicas[0]?.id).toBe('n1');
  });
});
