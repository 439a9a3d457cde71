/**
 * The quorum call: it answers once every set has its quorum and lets the rest run (tracked, and
 * drained), asks one more target when one fails or when speculation's delay passes, holds a
 * target back until its ack could complete the quorum, and gives up at its deadline — all on
 * injected timers, so no test waits for real time.
 */
import { describe, it, expect } from 'vitest';
import { Leftovers, quorumCall } from '../../../src/replication/quorum-call.js';
import type { Timer, Timers } from '../../../src/util/clock.js';
import { deferred, stateOf, type Deferred } from '../../helpers/replica-faults.js';

/** Timers that fire only when the test advances them. */
class ManualTimers implements Timers {
  now = 0;
  readonly #pending = new Set<{ at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): Timer {
    const t = { at: this.now + ms, fn };
    this.#pending.add(t);
    return t as Timer;
  }
  clearTimeout(timer: Timer): void {
    this.#pending.delete(timer as { at: number; fn: () => void });
  }
  get pending(): number {
    return this.#pending.size;
  }
  advance(ms: number): void {
    this.now += ms;
    for (const t of [...this.#pending].sort((a, b) => a.at - b.at)) {
      if (t.at > this.now) continue;
      this.#pending.delete(t);
      t.fn();
    }
  }
}

const targets = ['a', 'b', 'c'].map((id) => ({ id }));
/** One deferred answer per target, and the order targets were asked in. */
function answers(): { calls: Record<'a' | 'b' | 'c', Deferred<string>>; asked: string[]; call: (t: { id: string }) => Promise<string> } {
  const calls: Record<'a' | 'b' | 'c', Deferred<string>> = { a: deferred(), b: deferred(), c: deferred() };
  const asked: string[] = [];
  return {
    calls,
    asked,
    call: (t) => {
      asked.push(t.id);
      return calls[t.id as 'a' | 'b' | 'c'].promise;
    },
  };
}

describe('quorumCall', () => {
  it('resolves at the quorum with the successes, and the rest runs on as tracked leftovers that drain waits for', async () => {
    const a = answers();
    const leftovers = new Leftovers();
    const q = quorumCall({ op: 'PutObject', targets, needed: 2, call: a.call, leftovers });
    expect(a.asked).toEqual(['a', 'b', 'c']);
    a.calls.a.resolve('A');
    a.calls.b.resolve('B');
    expect([...(await q.quorum)]).toEqual([
      ['a', 'A'],
      ['b', 'B'],
    ]);
    expect(leftovers.size).toBe(1);
    const drained = leftovers.drain();
    expect(await stateOf(drained)).toBe('pending');
    a.calls.c.resolve('C');
    await drained;
    expect(leftovers.size).toBe(0);
    // The late answer is recorded too.
    expect(q.tracker.successes.get('c')).toBe('C');
  });

  it('rejects once the quorum cannot be reached, naming each failure, and stops asking', async () => {
    const a = answers();
    const failures: string[] = [];
    const q = quorumCall({ op: 'PutObject', targets, needed: 2, call: a.call, onFailure: (t) => failures.push(t.id) });
    a.calls.a.reject(new Error('boom'));
    a.calls.b.reject(new Error('bang'));
    await expect(q.quorum).rejects.toThrow('PutObject: needed 2 of 3 replicas, got 0 (a: boom; b: bang; 1 replica(s) did not answer)');
    expect(failures).toEqual(['a', 'b']);
  });

  it('a check turns an answer into a failure', async () => {
    const q = quorumCall({ op: 'PutObject', targets, needed: 2, call: async (t) => t.id, check: (t) => (t.id === 'a' ? new Error('too new') : undefined) });
    await q.quorum;
    expect(q.tracker.failures.get('a')).toEqual(new Error('too new'));
    expect([...q.tracker.successes.keys()].sort()).toEqual(['b', 'c']);
  });

  it('asks only `initial` targets, and one more when one fails', async () => {
    const a = answers();
    const q = quorumCall({ op: 'GetObject', targets, needed: 1, initial: 1, call: a.call });
    expect(a.asked).toEqual(['a']);
    a.calls.a.reject(new Error('no'));
    await stateOf(q.quorum);
    expect(a.asked).toEqual(['a', 'b']);
    a.calls.b.resolve('B');
    expect([...(await q.quorum).keys()]).toEqual(['b']);
    expect(q.unasked()).toEqual([{ id: 'c' }]);
  });

  it('speculates: asks one more each time the delay passes without the quorum, and no more once it stands', async () => {
    const a = answers();
    const timers = new ManualTimers();
    const q = quorumCall({ op: 'GetObject', targets, needed: 1, initial: 1, speculateMs: 100, timers, call: a.call });
    timers.advance(99);
    expect(a.asked).toEqual(['a']);
    timers.advance(1);
    expect(a.asked).toEqual(['a', 'b']);
    a.calls.b.resolve('B');
    await q.quorum;
    expect(timers.pending).toBe(0);
    timers.advance(1000);
    expect(a.asked).toEqual(['a', 'b']);
  });

  it('holds a target back until its ack could complete the quorum', async () => {
    const a = answers();
    const q = quorumCall({ op: 'PutObject', targets, needed: 2, holdBack: (t) => t.id === 'a', call: a.call });
    expect(a.asked).toEqual(['b', 'c']);
    a.calls.c.resolve('C');
    await stateOf(q.quorum);
    expect(a.asked).toEqual(['b', 'c', 'a']);
    a.calls.a.resolve('A');
    expect([...(await q.quorum).keys()]).toEqual(['c', 'a']);
  });

  it('a held-back target is never asked when the others fail, and is reported unasked', async () => {
    const a = answers();
    const q = quorumCall({ op: 'PutObject', targets, needed: 2, holdBack: (t) => t.id === 'a', call: a.call });
    a.calls.b.reject(new Error('x'));
    a.calls.c.reject(new Error('y'));
    await expect(q.quorum).rejects.toMatchObject({ code: 'QuorumNotReached' });
    expect(a.asked).toEqual(['b', 'c']);
    expect(q.unasked()).toEqual([{ id: 'a' }]);
  });

  it('with a quorum of one, a held-back target is asked at once', () => {
    const a = answers();
    quorumCall({ op: 'PutObject', targets, needed: 1, holdBack: (t) => t.id === 'a', call: a.call });
    expect(a.asked).toEqual(['b', 'c', 'a']);
  });

  it('gives up at the deadline, aborting the calls still running and naming who did not answer', async () => {
    const timers = new ManualTimers();
    const signals: (AbortSignal | undefined)[] = [];
    const q = quorumCall({
      op: 'GetObject',
      targets,
      needed: 2,
      deadlineMs: 5000,
      timers,
      call: (t, _i, signal) => {
        signals.push(signal);
        return t.id === 'a' ? Promise.resolve('A') : new Promise<string>(() => {});
      },
    });
    await stateOf(q.quorum);
    expect(await stateOf(q.quorum)).toBe('pending');
    timers.advance(5000);
    await expect(q.quorum).rejects.toThrow('GetObject: needed 2 of 3 replicas, got 1 (2 replica(s) did not answer)');
    expect(signals).toHaveLength(3);
    expect(signals.every((s) => s?.aborted === true)).toBe(true);
  });

  it('without a deadline, calls get no signal (nothing would abort it)', async () => {
    const signals: (AbortSignal | undefined)[] = [];
    const q = quorumCall({
      op: 'GetObject',
      targets,
      needed: 2,
      call: async (t, _i, signal) => {
        signals.push(signal);
        return t.id;
      },
    });
    await q.quorum;
    expect(signals).toEqual([undefined, undefined, undefined]);
  });

  it('the deadline timer goes once the quorum stands', async () => {
    const timers = new ManualTimers();
    const q = quorumCall({ op: 'GetObject', targets, needed: 1, deadlineMs: 5000, timers, call: async () => 'x' });
    await q.quorum;
    expect(timers.pending).toBe(0);
  });

  it('counts per set: resolves only when each set has its quorum', async () => {
    const calls = new Map(['a', 'b', 'c', 'd'].map((id) => [id, deferred<string>()]));
    const q = quorumCall({
      op: 'PutObject',
      targets: ['a', 'b', 'c', 'd'].map((id) => ({ id })),
      sets: [
        ['a', 'b', 'c'],
        ['b', 'c', 'd'],
      ],
      needed: 2,
      call: (t) => calls.get(t.id)!.promise,
    });
    calls.get('a')!.resolve('A');
    calls.get('b')!.resolve('B');
    expect(await stateOf(q.quorum)).toBe('pending');
    calls.get('d')!.resolve('D');
    expect([...(await q.quorum).keys()]).toEqual(['a', 'b', 'd']);
  });
});

describe('Leftovers', () => {
  it('drains work tracked while it drains, and ignores failures', async () => {
    const leftovers = new Leftovers();
    const first = deferred();
    const second = deferred();
    leftovers.track(first.promise.then(() => leftovers.track(second.promise)));
    const drained = leftovers.drain();
    first.resolve();
    expect(await stateOf(drained)).toBe('pending');
    second.reject(new Error('late commit failed'));
    await drained;
    expect(leftovers.size).toBe(0);
  });
});
