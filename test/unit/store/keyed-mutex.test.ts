/** KeyedMutex: work on one key runs one at a time in arrival order; different keys do not wait for each other. */
import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../../../src/store/keyed-mutex.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('KeyedMutex', () => {
  it('serializes work per key, in arrival order', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const gates = [deferred(), deferred(), deferred()];
    const runs = gates.map((gate, i) =>
      mutex.run('k', async () => {
        log.push(`start ${i}`);
        await gate.promise;
        log.push(`end ${i}`);
        return i;
      }),
    );
    await tick();
    expect(log).toEqual(['start 0']);
    // A later task finishing its gate early must still wait its turn.
    gates[2]?.resolve();
    gates[1]?.resolve();
    await tick();
    expect(log).toEqual(['start 0']);
    gates[0]?.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
    expect(mutex.size).toBe(0);
  });

  it('does not serialize across keys', async () => {
    const mutex = new KeyedMutex();
    const gate = deferred();
    const started: string[] = [];
    const a = mutex.run('a', async () => {
      started.push('a');
      await gate.promise;
    });
    const b = mutex.run('b', async () => {
      started.push('b');
    });
    await b;
    expect(started).toEqual(['a', 'b']);
    expect(mutex.size).toBe(1);
    gate.resolve();
    await a;
    expect(mutex.size).toBe(0);
  });

  it('releases the key when the work fails, and hands the failure to its caller only', async () => {
    const mutex = new KeyedMutex();
    const failure = new Error('commit failed');
    const failing = mutex.run('k', async () => {
      throw failure;
    });
    const next = mutex.run('k', async () => 'next ran');
    await expect(failing).rejects.toBe(failure);
    expect(await next).toBe('next ran');
    expect(mutex.size).toBe(0);
  });

  it('makes a task that arrives while a queued one runs wait for it too', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const first = deferred();
    const second = deferred();
    const a = mutex.run('k', async () => {
      await first.promise;
      log.push('a done');
    });
    const b = mutex.run('k', async () => {
      log.push('b start');
      await second.promise;
      log.push('b done');
    });
    first.resolve();
    await a;
    await tick();
    expect(log).toEqual(['a done', 'b start']);
    expect(mutex.size).toBe(1);
    const c = mutex.run('k', async () => {
      log.push('c start');
    });
    await tick();
    expect(log).toEqual(['a done', 'b start']);
    second.resolve();
    await Promise.all([b, c]);
    expect(log).toEqual(['a done', 'b start', 'b done', 'c start']);
    expect(mutex.size).toBe(0);
  });

  it('counts the keys held or awaited', async () => {
    const mutex = new KeyedMutex();
    expect(mutex.size).toBe(0);
    const gate = deferred();
    const runs = [mutex.run('x', () => gate.promise), mutex.run('x', async () => {}), mutex.run('y', () => gate.promise)];
    expect(mutex.size).toBe(2);
    gate.resolve();
    await Promise.all(runs);
    expect(mutex.size).toBe(0);
  });
});
