/**
 * The hybrid clock's rules: every version it issues is strictly newer than every version it
 * issued or adopted before, whatever the wall clock does; it adopts a remote version up to
 * `maxAheadMs` ahead and refuses (without moving) one further ahead; it starts above its
 * restart floor; versions are totally ordered by (hlc, node). The wall clock is injected.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { HybridClock, compareVersions, hlcWallMs, type HighWaterMark, type Version } from '../../../src/util/clock.js';

const L = 1024;
const T0 = 1_800_000_000_000;

function manualClock(start: number): { now: () => number; set: (ms: number) => void } {
  let t = start;
  return { now: () => t, set: (ms) => (t = ms) };
}

describe('HybridClock.next is strictly monotonic', () => {
  it('while the wall clock stands still, each version is the previous one plus one', () => {
    const clock = new HybridClock('n1', manualClock(T0));
    let prev = clock.next().hlc;
    expect(prev).toBe(T0 * L);
    for (let i = 0; i < 5000; i++) {
      const v = clock.next().hlc;
      expect(v).toBe(prev + 1);
      prev = v;
    }
  });

  it('when the wall clock moves on, the version is the new wall time with logical 0', () => {
    const wall = manualClock(T0);
    const clock = new HybridClock('n1', wall);
    clock.next();
    clock.next();
    wall.set(T0 + 1);
    expect(clock.next().hlc).toBe((T0 + 1) * L);
    wall.set(T0 + 50);
    expect(clock.next().hlc).toBe((T0 + 50) * L);
  });

  it('when the wall clock steps back, versions keep growing from where they were', () => {
    const wall = manualClock(T0);
    const clock = new HybridClock('n1', wall);
    const before = clock.next().hlc;
    wall.set(T0 - 60_000);
    const issued = Array.from({ length: 100 }, () => clock.next().hlc);
    expect(issued[0]).toBe(before + 1);
    issued.forEach((v, i) => expect(v).toBe(before + 1 + i));
    expect(hlcWallMs(issued[99] ?? 0)).toBe(T0);
  });

  it('more than 1024 versions in one millisecond carry into the wall part and stay increasing', () => {
    const clock = new HybridClock('n1', manualClock(T0));
    const versions = Array.from({ length: 3000 }, () => clock.next().hlc);
    for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1] ?? Infinity);
    expect(hlcWallMs(versions[2999] ?? 0)).toBe(T0 + 2);
  });

  it('a version equal to the wall clock (adopted from a peer at the same millisecond) is not issued again', () => {
    const wall = manualClock(T0);
    const clock = new HybridClock('n1', wall);
    expect(clock.observe(T0 * L)).toBe(true);
    expect(clock.next().hlc).toBe(T0 * L + 1);
  });

  it('property: whatever the wall clock does, every issued version is above everything issued or adopted before', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('wall' as const), delta: fc.integer({ min: -5_000, max: 5_000 }) }),
      fc.record({ kind: fc.constant('next' as const) }),
      fc.record({ kind: fc.constant('observe' as const), aheadMs: fc.integer({ min: -5_000, max: 1_000 }), logical: fc.integer({ min: 0, max: L - 1 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), fc.option(fc.integer({ min: -3_000, max: 3_000 }), { nil: undefined }), (ops, floorDelta) => {
        const wall = manualClock(T0);
        const floorMs = floorDelta === undefined ? undefined : T0 + floorDelta;
        const clock = new HybridClock('n1', wall, { maxAheadMs: 250, ...(floorMs !== undefined && { floorMs }) });
        let high = floorMs === undefined ? -1 : floorMs * L;
        for (const o of ops) {
          if (o.kind === 'wall') wall.set(wall.now() + o.delta);
          else if (o.kind === 'next') {
            const v = clock.next();
            expect(v.node).toBe('n1');
            expect(v.hlc).toBeGreaterThan(high);
            expect(Number.isSafeInteger(v.hlc)).toBe(true);
            high = v.hlc;
          } else {
            const hlc = (wall.now() + o.aheadMs) * L + o.logical;
            const accepted = clock.observe(hlc);
            expect(accepted).toBe(o.aheadMs <= 250);
            if (accepted) high = Math.max(high, hlc);
          }
        }
        expect(clock.next().hlc).toBeGreaterThan(high);
      }),
      { numRuns: 300 },
    );
  });
});

describe('HybridClock.observe', () => {
  it('adopts a version exactly maxAheadMs ahead, so the next version is just above it', () => {
    const clock = new HybridClock('n2', manualClock(T0), { maxAheadMs: 250 });
    const seen = (T0 + 250) * L + 1023;
    expect(clock.observe(seen)).toBe(true);
    expect(clock.next().hlc).toBe(seen + 1);
  });

  it('refuses a version 1 ms beyond maxAheadMs, reports how far ahead it was, and does not move', () => {
    const reports: [number, number][] = [];
    const clock = new HybridClock('n2', manualClock(T0), { maxAheadMs: 250, onRefused: (hlc, aheadMs) => reports.push([hlc, aheadMs]) });
    const before = clock.next().hlc;
    const future = (T0 + 251) * L;
    expect(clock.observe(future)).toBe(false);
    expect(reports).toEqual([[future, 251]]);
    expect(clock.next().hlc).toBe(before + 1);
  });

  it('measures how far ahead against the wall clock now, not against the clock it started with', () => {
    const wall = manualClock(T0);
    const clock = new HybridClock('n2', wall, { maxAheadMs: 250 });
    const v = (T0 + 1000) * L;
    expect(clock.observe(v)).toBe(false);
    wall.set(T0 + 800);
    expect(clock.observe(v)).toBe(true);
    expect(clock.next().hlc).toBe(v + 1);
  });

  it('accepts an older version without moving (true: it is acceptable)', () => {
    const wall = manualClock(T0);
    const clock = new HybridClock('n2', wall, { maxAheadMs: 250 });
    const a = clock.next().hlc;
    expect(clock.observe(a - 5000)).toBe(true);
    expect(clock.observe(a)).toBe(true);
    expect(clock.next().hlc).toBe(a + 1);
  });

  it('a version adopted while the wall clock lags still orders the next local write after it', () => {
    // n1 wrote at its wall time; n2's wall clock is 100 ms behind and sees that version.
    const n1 = new HybridClock('n1', manualClock(T0 + 100));
    const n2wall = manualClock(T0);
    const n2 = new HybridClock('n2', n2wall, { maxAheadMs: 250 });
    const written = n1.next();
    expect(n2.observe(written.hlc)).toBe(true);
    const later = n2.next();
    expect(compareVersions(later, written)).toBeGreaterThan(0);
    expect(hlcWallMs(later.hlc)).toBe(T0 + 100);
  });

  it('without maxAheadMs adopts any version, however far ahead', () => {
    const refused: number[] = [];
    const clock = new HybridClock('n2', manualClock(T0), { onRefused: (h) => refused.push(h) });
    const far = (T0 + 3_600_000) * L;
    expect(clock.observe(far)).toBe(true);
    expect(clock.next().hlc).toBe(far + 1);
    expect(refused).toEqual([]);
  });
});

describe('HybridClock floor (restart high-water mark)', () => {
  it('with the wall clock behind the floor, versions start just above floorMs', () => {
    const wall = manualClock(T0 - 3000);
    const clock = new HybridClock('n1', wall, { floorMs: T0 });
    expect(clock.next().hlc).toBe(T0 * L + 1);
    expect(clock.next().hlc).toBe(T0 * L + 2);
    expect(clock.behindFloorMs()).toBe(3000);
  });

  it('with the wall clock exactly at the floor, the first version is still above it', () => {
    const clock = new HybridClock('n1', manualClock(T0), { floorMs: T0 });
    expect(clock.next().hlc).toBe(T0 * L + 1);
    expect(clock.behindFloorMs()).toBe(0);
  });

  it('once the wall clock is past the floor it is used as is, and behindFloorMs is 0', () => {
    const wall = manualClock(T0 - 10);
    const clock = new HybridClock('n1', wall, { floorMs: T0 });
    expect(clock.behindFloorMs()).toBe(10);
    wall.set(T0 + 7);
    expect(clock.behindFloorMs()).toBe(0);
    expect(clock.next().hlc).toBe((T0 + 7) * L);
  });

  it('without a floor behindFloorMs is 0 and the first version is the wall time', () => {
    const clock = new HybridClock('n1', manualClock(T0));
    expect(clock.behindFloorMs()).toBe(0);
    expect(clock.next().hlc).toBe(T0 * L);
  });
});

describe('HybridClock.issue', () => {
  it('issues like next, after the high-water mark covers the version', async () => {
    const covered: number[] = [];
    const highWater: HighWaterMark = { cover: (wallMs) => (covered.push(wallMs), Promise.resolve()) };
    const wall = manualClock(T0);
    const clock = new HybridClock('n1', wall, { highWater });
    const a = await clock.issue();
    wall.set(T0 + 5);
    const b = await clock.issue();
    expect([a.hlc, b.hlc]).toEqual([T0 * L, (T0 + 5) * L]);
    expect(covered).toEqual([T0, T0 + 5]);
  });

  it('concurrent issues get distinct increasing versions', async () => {
    const clock = new HybridClock('n1', manualClock(T0));
    const versions = await Promise.all(Array.from({ length: 50 }, () => clock.issue()));
    versions.forEach((v, i) => expect(v.hlc).toBe(T0 * L + i));
  });

  it('a version whose high-water write fails is not issued (issue rejects)', async () => {
    const boom = new Error('ENOSPC');
    const clock = new HybridClock('n1', manualClock(T0), { highWater: { cover: () => Promise.reject(boom) } });
    await expect(clock.issue()).rejects.toBe(boom);
  });
});

describe('compareVersions', () => {
  const v = (hlc: number, node: string): Version => ({ hlc, node });

  it('orders by hlc first, whatever the nodes', () => {
    expect(compareVersions(v(10, 'z'), v(11, 'a'))).toBe(-1);
    expect(compareVersions(v(11, 'a'), v(10, 'z'))).toBe(1);
  });

  it('breaks an hlc tie by node id in string order (so "n10" < "n2")', () => {
    expect(compareVersions(v(5, 'n1'), v(5, 'n2'))).toBe(-1);
    expect(compareVersions(v(5, 'n2'), v(5, 'n1'))).toBe(1);
    expect(compareVersions(v(5, 'n10'), v(5, 'n2'))).toBe(-1);
    expect(compareVersions(v(5, 'n1'), v(5, 'n1'))).toBe(0);
  });

  it('property: a total order (antisymmetric, zero only for equal versions, transitive)', () => {
    const arb = fc.record({ hlc: fc.integer({ min: 0, max: 50 }), node: fc.constantFrom('n1', 'n2', 'n10', 'a', '') });
    fc.assert(
      fc.property(arb, arb, arb, (a, b, c) => {
        const ab = compareVersions(a, b);
        expect([-1, 0, 1]).toContain(ab);
        expect(compareVersions(b, a)).toBe(-ab || 0);
        expect(ab === 0).toBe(a.hlc === b.hlc && a.node === b.node);
        if (ab <= 0 && compareVersions(b, c) <= 0) expect(compareVersions(a, c)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 500 },
    );
  });

  it('sorting by it puts the newest version last, regardless of input order', () => {
    const vs = [v(3, 'n2'), v(1, 'n9'), v(3, 'n1'), v(2, 'n1')];
    expect([...vs].sort(compareVersions)).toEqual([v(1, 'n9'), v(2, 'n1'), v(3, 'n1'), v(3, 'n2')]);
    expect([...vs].reverse().sort(compareVersions)).toEqual([v(1, 'n9'), v(2, 'n1'), v(3, 'n1'), v(3, 'n2')]);
  });
});

describe('hlcWallMs (encoding)', () => {
  it('property: wallMs * 1024 + logical decodes to wallMs for every logical counter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8_000_000_000_000 }), fc.integer({ min: 0, max: L - 1 }), (wallMs, logical) => {
        const hlc = wallMs * L + logical;
        expect(Number.isSafeInteger(hlc)).toBe(true);
        expect(hlcWallMs(hlc)).toBe(wallMs);
      }),
      { numRuns: 500 },
    );
  });

  it('a version issued at wall time t decodes to t (Last-Modified)', () => {
    const clock = new HybridClock('n1', manualClock(T0));
    for (let i = 0; i < 1000; i++) expect(hlcWallMs(clock.next().hlc)).toBe(T0);
  });
});
