import { describe, it, expect } from 'vitest';
import { HybridClock, compareVersions, hlcWallMs, type HighWaterMark } from '../../../src/util/clock.js';

function manualClock(start: number): { now: () => number; set: (ms: number) => void } {
  let t = start;
  return { now: () => t, set: (ms) => (t = ms) };
}

describe('HybridClock', () => {
  it('issues increasing versions even when the wall clock stands still or steps back', () => {
    const wall = manualClock(1_000_000);
    const clock = new HybridClock('n1', wall);
    const a = clock.next();
    const b = clock.next();
    wall.set(999_000);
    const c = clock.next();
    expect(compareVersions(a, b)).toBeLessThan(0);
    expect(compareVersions(b, c)).toBeLessThan(0);
    expect(hlcWallMs(a.hlc)).toBe(1_000_000);
  });

  it('adopts a version from another node up to the bound ahead, so its next version is newer', () => {
    const wall = manualClock(1_000_000);
    const clock = new HybridClock('n2', wall, { maxAheadMs: 250 });
    const seen = (1_000_000 + 200) * 1024 + 5;
    expect(clock.observe(seen)).toBe(true);
    expect(clock.next().hlc).toBeGreaterThan(seen);
  });

  it('refuses (does not adopt) a version further ahead than the bound, and reports it', () => {
    const wall = manualClock(1_000_000);
    const refused: number[] = [];
    const clock = new HybridClock('n2', wall, { maxAheadMs: 250, onRefused: (_hlc, aheadMs) => refused.push(aheadMs) });
    const future = (1_000_000 + 1000) * 1024;
    expect(clock.observe(future)).toBe(false);
    expect(refused).toEqual([1000]);
    expect(hlcWallMs(clock.next().hlc)).toBe(1_000_000);
  });

  it('observing an older version changes nothing', () => {
    const clock = new HybridClock('n1', manualClock(1_000_000), { maxAheadMs: 250 });
    const before = clock.next();
    expect(clock.observe(5 * 1024)).toBe(true);
    expect(clock.next().hlc).toBe(before.hlc + 1);
  });

  it('starts above its high-water floor although the wall clock is behind it', () => {
    const wall = manualClock(1_000_000);
    const clock = new HybridClock('n1', wall, { floorMs: 1_003_000 });
    expect(clock.behindFloorMs()).toBe(3000);
    expect(clock.next().hlc).toBeGreaterThan(1_003_000 * 1024);
    wall.set(1_004_000);
    expect(clock.behindFloorMs()).toBe(0);
    expect(hlcWallMs(clock.next().hlc)).toBe(1_004_000);
  });

  it('issue() resolves only once the high-water mark covers the version', async () => {
    const covered: number[] = [];
    let release = (): void => undefined;
    const highWater: HighWaterMark = {
      cover: (wallMs) => {
        covered.push(wallMs);
        return new Promise((resolve) => (release = resolve));
      },
    };
    const clock = new HybridClock('n1', manualClock(2_000_000), { highWater });
    let issued = false;
    const pending = clock.issue().then((v) => {
      issued = true;
      return v;
    });
    await new Promise((r) => setTimeout(r, 5));
    expect(issued).toBe(false);
    release();
    expect(hlcWallMs((await pending).hlc)).toBe(2_000_000);
    expect(covered).toEqual([2_000_000]);
  });
});
