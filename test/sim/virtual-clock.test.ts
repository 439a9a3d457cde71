/** The simulator's virtual time: timer order, groups (crash, pause), and the global timers it stands in for. */
import { describe, expect, it } from 'vitest';
import { sleep } from '../../src/util/clock.js';
import { VirtualClock } from '../helpers/virtual-clock.js';

describe('VirtualClock', () => {
  it('fires timers in time order, equal times in the order set, and moves time to each', () => {
    const clock = new VirtualClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20);
    const cancelled = clock.setTimeout(() => fired.push('never'), 15);
    clock.clearTimeout(cancelled);
    clock.setTimeout(() => fired.push(`zero@${clock.now()}`), 0);
    while (clock.step());
    expect(fired).toEqual(['zero@1001', 'a@1010', 'b@1020', 'c@1020']);
    expect(clock.now()).toBe(1020);
    expect(clock.step()).toBe(false);
  });

  it('a killed group never fires; a held group fires when the hold ends', () => {
    const clock = new VirtualClock(0);
    const fired: string[] = [];
    const crashed = clock.group();
    crashed.setTimeout(() => fired.push('crashed'), 5);
    crashed.kill();
    crashed.setTimeout(() => fired.push('after crash'), 5);
    const paused = clock.group();
    paused.setTimeout(() => fired.push(`paused@${clock.now()}`), 5);
    paused.heldUntil = 50;
    clock.setTimeout(() => fired.push(`other@${clock.now()}`), 10);
    while (clock.step());
    expect(fired).toEqual(['other@10', 'paused@50']);
  });

  it('stands in for the global timers while installed, and puts them back', async () => {
    const clock = new VirtualClock(0);
    const realSetTimeout = globalThis.setTimeout;
    const restore = clock.installGlobals();
    const fired: number[] = [];
    try {
      setTimeout(() => fired.push(clock.now()), 100);
      const interval = setInterval(() => {
        fired.push(clock.now());
        if (fired.length === 3) clearInterval(interval);
      }, 30);
      const slept = sleep(clock, 500).then(() => fired.push(-1));
      while (clock.step()) await Promise.resolve();
      await slept;
    } finally {
      restore();
    }
    expect(globalThis.setTimeout).toBe(realSetTimeout);
    expect(fired).toEqual([30, 60, 90, 100, -1]);
  });
});
