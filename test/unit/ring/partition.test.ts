/**
 * Partitions: the pure arithmetic, per-partition placement on the ring, and what sampling the
 * token ring once per partition costs in balance (the numbers behind k = 16 in partition.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { diffRings } from '../../../src/ring/diff.js';
import { createHasher, type Hasher } from '../../../src/ring/hasher.js';
import { PARTITION_BITS, PARTITION_COUNT, PARTITION_SIZE, checkPartition, partitionEnd, partitionOfPosition, partitionStart } from '../../../src/ring/partition.js';
import { MAX_POSITION, RING_SIZE, Ring } from '../../../src/ring/ring.js';
import { isErrorCode } from '../../../src/util/errors.js';
import { loadKeyPartitioner } from '../../../src/util/partition-space.js';
import { layoutOf, sampleKeys } from './fixtures.js';

let hasher: Hasher;
beforeAll(async () => {
  hasher = await createHasher();
});

const ids = (members: readonly { id: string }[]): string[] => members.map((m) => m.id);

describe('partition arithmetic', () => {
  it('is the top 16 bits of a position; starts and ends tile the ring', () => {
    expect(PARTITION_BITS).toBe(16);
    expect(PARTITION_COUNT).toBe(65_536);
    expect(PARTITION_SIZE * BigInt(PARTITION_COUNT)).toBe(RING_SIZE);
    expect(partitionOfPosition(0n)).toBe(0);
    expect(partitionOfPosition(MAX_POSITION)).toBe(65_535);
    expect(partitionOfPosition(0x0001_0000_0000_0000n)).toBe(1);
    expect(partitionOfPosition(0x0000_ffff_ffff_ffffn)).toBe(0);
    for (const p of [0, 1, 4242, 65_535]) {
      expect(partitionOfPosition(partitionStart(p))).toBe(p);
      expect(partitionOfPosition(partitionEnd(p))).toBe(p);
      if (p > 0) expect(partitionEnd(p - 1) + 1n).toBe(partitionStart(p));
    }
    expect(partitionEnd(65_535)).toBe(MAX_POSITION);
  });

  it('rejects what is not a partition number', () => {
    for (const p of [-1, 65_536, 1.5, Number.NaN]) {
      let err: unknown;
      try {
        checkPartition(p);
      } catch (e) {
        err = e;
      }
      expect(isErrorCode(err, 'InvalidArgument')).toBe(true);
      expect(() => partitionStart(p)).toThrow(/partition/);
      expect(() => new Ring(layoutOf(3), hasher, { vnodesPerUnit: 4 }).preferenceListOfPartition(p, 1)).toThrow(/partition/);
    }
  });

  it("the store's default partitioner agrees with Ring.partitionOf", async () => {
    const partitionOf = await loadKeyPartitioner();
    const ring = new Ring(layoutOf(3), hasher, { vnodesPerUnit: 4 });
    for (const key of sampleKeys(500)) {
      expect(partitionOf('b', key)).toBe(ring.partitionOf('b', key));
      expect(ring.partitionOf('b', key)).toBe(Number(hasher.h64(`b\0${key}`) >> 48n));
    }
  });
});

describe('Ring placement per partition', () => {
  it("a partition's list is that of the first token at or after its start (wrapping)", () => {
    const ring = new Ring(layoutOf(4), hasher, { vnodesPerUnit: 3 });
    const tokens = ['n1', 'n2', 'n3', 'n4'].flatMap((id) => [0, 1, 2].map((i) => ({ id, pos: hasher.h64(`${id}#${i}`) }))).sort((a, b) => (a.pos < b.pos ? -1 : 1));
    for (let p = 0; p < PARTITION_COUNT; p += 997) {
      const start = partitionStart(p);
      const owner = (tokens.find((t) => t.pos >= start) ?? tokens[0])?.id;
      expect(ring.preferenceListOfPartition(p, 1).replicas[0]?.id).toBe(owner);
      expect(ring.preferenceListAt(start, 3)).toBe(ring.preferenceListOfPartition(p, 3));
      expect(ring.preferenceListAt(partitionEnd(p), 3)).toBe(ring.preferenceListOfPartition(p, 3));
    }
  });

  it('every key of a partition gets the same (cached) list', () => {
    const ring = new Ring(layoutOf(6), hasher, { vnodesPerUnit: 64 });
    for (const key of sampleKeys(2_000)) {
      const p = ring.partitionOf('bucket', key);
      expect(ring.preferenceList('bucket', key, 3)).toBe(ring.preferenceListOfPartition(p, 3));
    }
  });

  it('ranges(n) are runs of whole partitions and agree with every partition list', () => {
    const ring = new Ring(
      layoutOf(5, (i) => ({ zone: `z${i % 2}` })),
      hasher,
      { vnodesPerUnit: 16 },
    );
    const ranges = ring.ranges(3);
    expect(ranges[0]?.start).toBe(0n);
    expect(ranges[ranges.length - 1]?.end).toBe(MAX_POSITION);
    // Plain checks in the loop (65,536 expect calls would be the slow part); one assertion on the result.
    const bad: string[] = [];
    let r = 0;
    for (let p = 0; p < PARTITION_COUNT; p++) {
      const range = ranges[r];
      if (range === undefined) throw new Error(`no range for partition ${p}`);
      if (range.start % PARTITION_SIZE !== 0n || (range.end + 1n) % PARTITION_SIZE !== 0n) bad.push(`range ${r} not partition-aligned`);
      if (p > 0 && partitionStart(p) === range.start && ids(ranges[r - 1]?.replicas ?? []).join() === ids(range.replicas).join()) bad.push(`range ${r} not maximal`);
      if (ids(range.replicas).join() !== ids(ring.preferenceListOfPartition(p, 3).replicas).join()) bad.push(`partition ${p} disagrees with range ${r}`);
      if (partitionEnd(p) === range.end) r++;
    }
    expect(bad).toEqual([]);
    expect(r).toBe(ranges.length);
  });
});

describe('Ring balance with partitions (default vnodes)', () => {
  /** Exact primary share of each member on the token ring, before sampling per partition. */
  function tokenShares(ring: Ring): Map<string, number> {
    const tokens = ring.members
      .flatMap((m) => Array.from({ length: ring.vnodesPerUnit }, (_, i) => ({ id: m.id, pos: hasher.h64(`${m.id}#${i}`) })))
      .sort((a, b) => (a.pos < b.pos ? -1 : a.pos > b.pos ? 1 : 0));
    const sums = new Map<string, bigint>();
    tokens.forEach((t, i) => {
      const prev = i === 0 ? (tokens[tokens.length - 1]?.pos ?? 0n) - RING_SIZE : (tokens[i - 1]?.pos ?? 0n);
      sums.set(t.id, (sums.get(t.id) ?? 0n) + t.pos - prev);
    });
    return new Map([...sums].map(([id, s]) => [id, Number(s) / Number(RING_SIZE)]));
  }

  it('for 3…16 equal members, each share is within 1 % (of itself) of its token share, and the spread is reported', () => {
    const report: string[] = [];
    for (let count = 3; count <= 16; count++) {
      const ring = new Ring(layoutOf(count), hasher);
      const exact = tokenShares(ring);
      const sampled = ring.ownership(1);
      let worst = 0;
      for (const [id, share] of exact) worst = Math.max(worst, Math.abs((sampled.get(id) ?? 0) / share - 1));
      expect(worst).toBeLessThan(0.01);
      const spread = (n: number): string => {
        const ideal = Math.min(n, count) / count;
        const dev = [...ring.ownership(n).values()].map((x) => (x / ideal - 1) * 100);
        return `${Math.min(...dev).toFixed(2)}% … +${Math.max(...dev).toFixed(2)}%`;
      };
      report.push(`${count} members: primary ${spread(1)}, one of 3 ${spread(3)}, vs token share ≤ ${(worst * 100).toFixed(2)}%`);
    }
    console.log(`ownership spread around the ideal share:\n${report.join('\n')}`);
  }, 60_000);

  it('adding a member (3 → 4, 5 → 6) moves about its ideal share, and only to it', () => {
    for (const [from, to] of [
      [3, 4],
      [5, 6],
    ] as const) {
      const before = new Ring(layoutOf(from), hasher);
      const after = new Ring(layoutOf(to), hasher);
      const primaries = diffRings(before, after, 1);
      const copies = diffRings(before, after, 3);
      expect(primaries.movedFraction).toBeLessThan((1.2 * 1) / to);
      expect(copies.transferFraction).toBeLessThan((1.2 * 1) / to);
      for (const r of [...primaries.ranges, ...copies.ranges]) expect(r.added).toEqual([`n${to}`]);
      console.log(`${from} → ${to}: primaries moved ${(primaries.movedFraction * 100).toFixed(2)}%, copies moved ${(copies.transferFraction * 100).toFixed(2)}% (ideal ${(100 / to).toFixed(2)}%)`);
    }
  });
});
