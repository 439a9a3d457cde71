import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { createHasher, type Hasher } from '../../../src/ring/hasher.js';
import { DEFAULT_VNODES_PER_UNIT, MAX_POSITION, Ring, rangeSize } from '../../../src/ring/ring.js';
import type { Layout } from '../../../src/ring/layout.js';
import { isErrorCode } from '../../../src/util/errors.js';
import { partitionEnd, partitionOfPosition } from '../../../src/ring/partition.js';
import { layoutOf, member, sampleKeys } from './fixtures.js';

let hasher: Hasher;
beforeAll(async () => {
  hasher = await createHasher();
});

const ids = (members: readonly { id: string }[]): string[] => members.map((m) => m.id);

describe('Ring construction', () => {
  it('gives each data member round(capacity × vnodesPerUnit) tokens and skips gateways', () => {
    const layout = layoutOf(4, (i) => ({ capacity: [1, 2, 0.5, 0][i] ?? 1 }));
    const ring = new Ring(layout, hasher, { vnodesPerUnit: 100 });
    expect(ring.tokenCount).toBe(100 + 200 + 50);
    expect(ids(ring.members)).toEqual(['n1', 'n2', 'n3']);
    expect(ring.layout).toBe(layout);
  });

  it('defaults to DEFAULT_VNODES_PER_UNIT tokens per unit of capacity', () => {
    const ring = new Ring(layoutOf(2), hasher);
    expect(ring.vnodesPerUnit).toBe(DEFAULT_VNODES_PER_UNIT);
    expect(ring.tokenCount).toBe(2 * DEFAULT_VNODES_PER_UNIT);
  });

  it('rejects a bad vnodesPerUnit and a bad n', () => {
    for (const vnodesPerUnit of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new Ring(layoutOf(1), hasher, { vnodesPerUnit })).toThrow(/ring\.vnodesPerUnit/);
    }
    const ring = new Ring(layoutOf(3), hasher, { vnodesPerUnit: 8 });
    for (const n of [0, -1, 1.5, Number.NaN]) {
      let err: unknown;
      try {
        ring.preferenceList('b', 'k', n);
      } catch (e) {
        err = e;
      }
      expect(isErrorCode(err, 'InvalidArgument')).toBe(true);
    }
  });

  it('refuses a layout that would need millions of tokens (capacity given in bytes)', () => {
    expect(
      () =>
        new Ring(
          layoutOf(1, () => ({ capacity: 4e9 })),
          hasher,
        ),
    ).toThrow(/tokens/);
  });
});

describe('Ring placement', () => {
  it('places a key at h64(bucket + "\\0" + key)', () => {
    const ring = new Ring(layoutOf(3), hasher, { vnodesPerUnit: 8 });
    expect(ring.keyPosition('photos', 'a/b.jpg')).toBe(hasher.h64('photos\0a/b.jpg'));
    expect(ring.keyPosition('photos', 'a/b.jpg')).not.toBe(ring.keyPosition('photosa', '/b.jpg'));
  });

  it("gives the primary to the owner of the first token at or after the key's partition start (wrapping)", () => {
    // One token each makes the token positions h64("nX#0") directly checkable.
    const ring = new Ring(layoutOf(3), hasher, { vnodesPerUnit: 1 });
    const tokens = ['n1', 'n2', 'n3'].map((id) => ({ id, pos: hasher.h64(`${id}#0`) })).sort((a, b) => (a.pos < b.pos ? -1 : 1));
    const [first, second] = tokens;
    if (first === undefined || second === undefined) throw new Error('unreachable');
    expect(ring.preferenceListAt(first.pos, 1).replicas[0]?.id).toBe(first.id);
    // Past the token but inside its partition: still the partition's list.
    expect(ring.preferenceListAt(first.pos + 1n, 1).replicas[0]?.id).toBe(first.id);
    expect(ring.preferenceListAt(partitionEnd(partitionOfPosition(first.pos)) + 1n, 1).replicas[0]?.id).toBe(second.id);
    expect(ring.preferenceListAt(MAX_POSITION, 1).replicas[0]?.id).toBe(first.id);
    expect(ring.preferenceListAt(0n, 1).replicas[0]?.id).toBe(first.id);
    const walk = ring.preferenceListAt(first.pos, 3);
    expect(ids(walk.replicas)).toEqual(tokens.map((t) => t.id));
  });

  it('returns every data member once: replicas first, then fallbacks in walk order', () => {
    const layout = layoutOf(6, (i) => (i === 5 ? { capacity: 0 } : {}));
    const ring = new Ring(layout, hasher, { vnodesPerUnit: 64 });
    for (const key of sampleKeys(500)) {
      const { replicas, fallbacks } = ring.preferenceList('b', key, 3);
      expect(replicas).toHaveLength(3);
      expect(fallbacks).toHaveLength(2);
      expect(new Set([...ids(replicas), ...ids(fallbacks)])).toEqual(new Set(['n1', 'n2', 'n3', 'n4', 'n5']));
      // With one zone the replicas and fallbacks are just the walk, so n = 5 shows the full order.
      expect(ids(ring.preferenceList('b', key, 5).replicas)).toEqual([...ids(replicas), ...ids(fallbacks)]);
    }
  });

  it('returns all data members when n exceeds them, and keeps leaving/joining members', () => {
    const layout = layoutOf(3, (i) => ({ state: (['active', 'leaving', 'joining'] as const)[i] ?? 'active' }));
    const ring = new Ring(layout, hasher, { vnodesPerUnit: 16 });
    const list = ring.preferenceList('b', 'k', 5);
    expect(new Set(ids(list.replicas))).toEqual(new Set(['n1', 'n2', 'n3']));
    expect(list.fallbacks).toEqual([]);
  });

  it("agrees with ranges(n): the key's range has the same replicas", () => {
    const ring = new Ring(layoutOf(5), hasher, { vnodesPerUnit: 32 });
    const ranges = ring.ranges(3);
    for (const key of sampleKeys(300)) {
      const p = ring.keyPosition('b', key);
      const range = ranges.find((r) => r.start <= p && p <= r.end);
      expect(range?.replicas).toEqual(ring.preferenceList('b', key, 3).replicas);
    }
  });

  it('ranges(n) cover 0 … 2^64 − 1 exactly once, in order', () => {
    const ring = new Ring(layoutOf(4), hasher, { vnodesPerUnit: 50 });
    const ranges = ring.ranges(2);
    expect(ranges[0]?.start).toBe(0n);
    expect(ranges[ranges.length - 1]?.end).toBe(MAX_POSITION);
    ranges.forEach((r, i) => {
      expect(r.end).toBeGreaterThanOrEqual(r.start);
      if (i > 0) expect(r.start).toBe((ranges[i - 1]?.end ?? -2n) + 1n);
    });
    expect(ranges.reduce((s, r) => s + rangeSize(r), 0n)).toBe(1n << 64n);
  });
});

describe('Ring balance (acceptance, default vnodes)', () => {
  it('5 equal members each own 1/5 ± 10% as primary and 3/5 ± 10% as one of 3 replicas', () => {
    const ring = new Ring(layoutOf(5), hasher);
    const primary = ring.ownership(1);
    const three = ring.ownership(3);
    for (const id of ['n1', 'n2', 'n3', 'n4', 'n5']) {
      expect(Math.abs((primary.get(id) ?? 0) / (1 / 5) - 1)).toBeLessThan(0.1);
      expect(Math.abs((three.get(id) ?? 0) / (3 / 5) - 1)).toBeLessThan(0.1);
    }
    const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
    expect(sum(primary)).toBeCloseTo(1, 9);
    expect(sum(three)).toBeCloseTo(3, 9);
  });

  it('a capacity-2 member owns twice what a capacity-1 member owns (± 15%)', () => {
    const ring = new Ring(
      layoutOf(5, (i) => ({ capacity: i === 0 ? 2 : 1 })),
      hasher,
    );
    const own = ring.ownership(1);
    const big = own.get('n1') ?? 0;
    for (const id of ['n2', 'n3', 'n4', 'n5']) {
      expect(Math.abs(big / (own.get(id) ?? 1) / 2 - 1)).toBeLessThan(0.15);
    }
  });

  it('gives a gateway (capacity 0) nothing', () => {
    const ring = new Ring(
      layoutOf(4, (i) => ({ capacity: i === 3 ? 0 : 1 })),
      hasher,
      { vnodesPerUnit: 64 },
    );
    expect(ring.ownership(3).get('n4')).toBe(0);
  });
});

describe('Ring zones', () => {
  it('with 3 zones × 2 members and N = 3, every one of 20,000 keys has a replica in each zone', () => {
    const ring = new Ring(
      layoutOf(6, (i) => ({ zone: `z${i % 3}` })),
      hasher,
    );
    for (const key of sampleKeys(20_000)) {
      const zones = new Set(ring.preferenceList('bucket', key, 3).replicas.map((m) => m.zone));
      expect(zones.size).toBe(3);
    }
    for (const [, share] of ring.ownership(3)) expect(share).toBeCloseTo(0.5, 1);
  });

  it("with fewer zones than N, takes each zone's first member, then fills in walk order", () => {
    // One token each, so the walk order is the order of h64("nX#0").
    const walk = ['n1', 'n2', 'n3', 'n4'].sort((x, y) => (hasher.h64(`${x}#0`) < hasher.h64(`${y}#0`) ? -1 : 1));
    const [a, b, c, d] = walk;
    const zoneOf = new Map([
      [a, 'z1'],
      [b, 'z1'],
      [c, 'z2'],
      [d, 'z2'],
    ]);
    const layout = layoutOf(4, (i) => ({ zone: zoneOf.get(`n${i + 1}`) ?? 'z?' }));
    const ring = new Ring(layout, hasher, { vnodesPerUnit: 1 });
    const at = hasher.h64(`${a}#0`);
    const list = ring.preferenceListAt(at, 3);
    expect(ids(list.replicas)).toEqual([a, c, b]);
    expect(ids(list.fallbacks)).toEqual([d]);
    expect(ids(ring.preferenceListAt(at, 2).replicas)).toEqual([a, c]);
    expect(ids(ring.preferenceListAt(at, 2).fallbacks)).toEqual([b, d]);
  });

  it('with 2 zones and N = 3, every key gets both zones and 3 distinct members', () => {
    const ring = new Ring(
      layoutOf(5, (i) => ({ zone: i < 4 ? 'big' : 'small' })),
      hasher,
      { vnodesPerUnit: 64 },
    );
    for (const key of sampleKeys(2_000)) {
      const { replicas, fallbacks } = ring.preferenceList('b', key, 3);
      expect(new Set(replicas.map((m) => m.zone))).toEqual(new Set(['big', 'small']));
      expect(new Set(ids(replicas)).size).toBe(3);
      const five = ring.preferenceList('b', key, 5).replicas;
      expect(ids(replicas)).toEqual(ids(five.slice(0, 3)));
      expect(ids(fallbacks)).toEqual(ids(five.slice(3)));
    }
  });
});

describe('Ring determinism', () => {
  it('two rings from the same layout give identical preference lists', () => {
    const layout = layoutOf(7, (i) => ({ zone: `z${i % 3}`, capacity: 1 + (i % 2) }));
    const a = new Ring(layout, hasher, { vnodesPerUnit: 128 });
    const b = new Ring(structuredClone(layout), hasher, { vnodesPerUnit: 128 });
    const reordered = new Ring({ ...layout, members: [...layout.members].reverse() }, hasher, { vnodesPerUnit: 128 });
    for (const key of sampleKeys(2_000)) {
      const la = a.preferenceList('b', key, 3);
      const lb = b.preferenceList('b', key, 3);
      expect(ids(lb.replicas)).toEqual(ids(la.replicas));
      expect(ids(lb.fallbacks)).toEqual(ids(la.fallbacks));
      expect(ids(reordered.preferenceList('b', key, 3).replicas)).toEqual(ids(la.replicas));
    }
  });

  it('returns the same cached list for keys in the same partition', () => {
    const ring = new Ring(layoutOf(3), hasher, { vnodesPerUnit: 4 });
    expect(ring.preferenceListAt(5n, 2)).toBe(ring.preferenceListAt(5n, 2));
    expect(ring.preferenceListAt(5n, 2)).toBe(ring.preferenceListAt(0n, 2));
    expect(Object.isFrozen(ring.preferenceListAt(5n, 2).replicas)).toBe(true);
  });
});

describe('Ring properties (fast-check)', () => {
  const arbLayout = fc
    .array(fc.record({ zone: fc.constantFrom('a', 'b', 'c', 'd'), capacity: fc.integer({ min: 1, max: 3 }) }), {
      minLength: 1,
      maxLength: 8,
    })
    .chain((specs) =>
      fc.record({
        layout: fc.constant<Layout>({
          version: 1,
          members: specs.map((s, i) => member(`m${i}`, s)),
        }),
        gateways: fc.integer({ min: 0, max: 2 }),
      }),
    );

  it('replicas are distinct, min(n, data members) long, zone-diverse, and with fallbacks cover every data member once', () => {
    fc.assert(
      fc.property(arbLayout, fc.integer({ min: 1, max: 5 }), fc.string({ maxLength: 20 }), ({ layout, gateways }, n, key) => {
        const full: Layout = {
          ...layout,
          members: [...layout.members, ...Array.from({ length: gateways }, (_, i) => member(`gw${i}`, { capacity: 0 }))],
        };
        const ring = new Ring(full, hasher, { vnodesPerUnit: 8 });
        const data = layout.members.map((m) => m.id);
        const { replicas, fallbacks } = ring.preferenceList('bkt', key, n);
        const all = [...ids(replicas), ...ids(fallbacks)];
        expect(replicas).toHaveLength(Math.min(n, data.length));
        expect(new Set(ids(replicas)).size).toBe(replicas.length);
        expect(all).toHaveLength(data.length);
        expect(new Set(all)).toEqual(new Set(data));
        const zones = new Set(layout.members.map((m) => m.zone));
        expect(new Set(replicas.map((m) => m.zone)).size).toBe(Math.min(n, zones.size));
      }),
      { numRuns: 300 },
    );
  });
});
