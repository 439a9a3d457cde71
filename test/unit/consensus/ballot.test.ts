import { describe, it, expect } from 'vitest';
import { ballotAtWallMs, compareBallots, describeBallot, isAbove, makeBallot, maxBallot } from '../../../src/consensus/ballot.js';
import { HybridClock, hlcWallMs } from '../../../src/util/clock.js';

describe('ballots', () => {
  it('are ordered by hlc, then node id, like versions', () => {
    expect(compareBallots({ hlc: 1, node: 'b' }, { hlc: 2, node: 'a' })).toBeLessThan(0);
    expect(compareBallots({ hlc: 2, node: 'b' }, { hlc: 2, node: 'a' })).toBeGreaterThan(0);
    expect(maxBallot(undefined, { hlc: 1, node: 'a' })).toEqual({ hlc: 1, node: 'a' });
    expect(isAbove({ hlc: 1, node: 'a' }, undefined)).toBe(true);
    expect(describeBallot({ hlc: 5, node: 'n1' })).toBe('5@n1');
  });

  it('a node makes unique, increasing ballots, each above the one it was beaten by', () => {
    let now = 1_000;
    const clock = new HybridClock('n1', { now: () => now });
    const first = makeBallot(clock)!;
    const beaten = makeBallot(clock, { hlc: first.hlc + 5000, node: 'n9' })!;
    expect(compareBallots(beaten, { hlc: first.hlc + 5000, node: 'n9' })).toBeGreaterThan(0);
    const seen = new Set<number>();
    for (let i = 0; i < 100; i++) {
      if (i % 10 === 0) now++;
      seen.add(makeBallot(clock)!.hlc);
    }
    expect(seen.size).toBe(100);
    expect([...seen].every((h) => h > beaten.hlc)).toBe(true);
  });

  it('none when the ballot to beat is from a clock beyond the skew bound', () => {
    const clock = new HybridClock('n1', { now: () => 1_000 }, { maxAheadMs: 500 });
    expect(makeBallot(clock, { hlc: 2_000 * 1024, node: 'n2' })).toBeUndefined();
    expect(makeBallot(clock, { hlc: 1_400 * 1024, node: 'n2' })).toBeDefined();
  });

  it('the horizon ballot of an instant lies below every ballot made at or after it', () => {
    const floor = ballotAtWallMs(1_000);
    expect(hlcWallMs(floor.hlc)).toBe(1_000);
    expect(compareBallots(floor, { hlc: floor.hlc, node: 'a' })).toBeLessThan(0);
  });
});
