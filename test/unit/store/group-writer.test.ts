/**
 * Group commit (group-writer.ts): a lone put is written at once, puts arriving meanwhile share
 * the next synced batch, a failed batch fails every put in it (and only those), and without
 * sync each put is its own unsynced batch. A fake DB records each batch it is given.
 */
import type { ClassicLevel } from 'classic-level';
import { describe, expect, it } from 'vitest';
import { GroupWriter } from '../../../src/store/group-writer.js';

interface Call {
  readonly ops: { type: string; key: Buffer; value: Buffer }[];
  readonly options: unknown;
  readonly argCount: number;
  resolve(): void;
  reject(err: unknown): void;
}

function fakeDb(): { db: ClassicLevel<Buffer, Buffer>; calls: Call[] } {
  const calls: Call[] = [];
  const db = {
    batch(...args: unknown[]): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        calls.push({ ops: args[0] as Call['ops'], options: args[1], argCount: args.length, resolve, reject });
      });
    },
  };
  return { db: db as unknown as ClassicLevel<Buffer, Buffer>, calls };
}

const entry = (k: string, v = `v-${k}`): readonly [Buffer, Buffer] => [Buffer.from(k), Buffer.from(v)];
const keysOf = (call: Call | undefined): string[] => (call?.ops ?? []).map((op) => `${op.type}:${op.key.toString()}=${op.value.toString()}`);
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Tracks how a promise settled, without waiting for it. */
function watch(p: Promise<void>): { state: () => string; error: () => unknown } {
  let state = 'pending';
  let error: unknown;
  p.then(
    () => (state = 'resolved'),
    (err: unknown) => {
      state = 'rejected';
      error = err;
    },
  );
  return { state: () => state, error: () => error };
}

describe('GroupWriter', () => {
  it('writes a lone put at once, as one synced batch of all its entries', async () => {
    const { db, calls } = fakeDb();
    const writer = new GroupWriter(db, true);
    const put = watch(writer.put([entry('a'), entry('b')]));
    expect(calls).toHaveLength(1);
    expect(keysOf(calls[0])).toEqual(['put:a=v-a', 'put:b=v-b']);
    expect(calls[0]?.options).toEqual({ sync: true });
    await tick();
    expect(put.state()).toBe('pending');
    calls[0]?.resolve();
    await tick();
    expect(put.state()).toBe('resolved');
  });

  it('batches the puts that arrive while a batch is in flight into the next one, in order, and acknowledges none before it is written', async () => {
    const { db, calls } = fakeDb();
    const writer = new GroupWriter(db, true);
    const first = watch(writer.put([entry('a')]));
    const second = watch(writer.put([entry('b'), entry('c')]));
    const third = watch(writer.put([entry('d')]));
    await tick();
    expect(calls).toHaveLength(1);
    calls[0]?.resolve();
    await tick();
    expect(first.state()).toBe('resolved');
    expect(calls).toHaveLength(2);
    expect(keysOf(calls[1])).toEqual(['put:b=v-b', 'put:c=v-c', 'put:d=v-d']);
    expect(calls[1]?.options).toEqual({ sync: true });
    expect([second.state(), third.state()]).toEqual(['pending', 'pending']);
    calls[1]?.resolve();
    await tick();
    expect([second.state(), third.state()]).toEqual(['resolved', 'resolved']);
    expect(calls).toHaveLength(2);
  });

  it('propagates a batch failure to every put of that batch, only those, and keeps writing afterwards', async () => {
    const { db, calls } = fakeDb();
    const writer = new GroupWriter(db, true);
    const first = watch(writer.put([entry('a')]));
    const second = watch(writer.put([entry('b')]));
    const third = watch(writer.put([entry('c')]));
    calls[0]?.resolve();
    await tick();
    const failure = new Error('IO error: disk gone');
    calls[1]?.reject(failure);
    await tick();
    expect(first.state()).toBe('resolved');
    expect([second.state(), third.state()]).toEqual(['rejected', 'rejected']);
    expect(second.error()).toBe(failure);
    expect(third.error()).toBe(failure);
    // The writer is idle again: the next put goes out at once and succeeds.
    const fourth = watch(writer.put([entry('d')]));
    expect(calls).toHaveLength(3);
    expect(keysOf(calls[2])).toEqual(['put:d=v-d']);
    calls[2]?.resolve();
    await tick();
    expect(fourth.state()).toBe('resolved');
  });

  it('goes on with the queue after a failed batch', async () => {
    const { db, calls } = fakeDb();
    const writer = new GroupWriter(db, true);
    const first = watch(writer.put([entry('a')]));
    const second = watch(writer.put([entry('b')]));
    calls[0]?.reject(new Error('boom'));
    await tick();
    expect(first.state()).toBe('rejected');
    expect(keysOf(calls[1])).toEqual(['put:b=v-b']);
    calls[1]?.resolve();
    await tick();
    expect(second.state()).toBe('resolved');
  });

  it('caps a batch at 256 puts', async () => {
    const { db, calls } = fakeDb();
    const writer = new GroupWriter(db, true);
    const puts = [watch(writer.put([entry('first')]))];
    for (let i = 0; i < 300; i++) puts.push(watch(writer.put([entry(`k${i}`)])));
    calls[0]?.resolve();
    await tick();
    expect(calls).toHaveLength(2);
    expect(calls[1]?.ops).toHaveLength(256);
    expect(calls[1]?.ops[0]?.key.toString()).toBe('k0');
    expect(calls[1]?.ops[255]?.key.toString()).toBe('k255');
    calls[1]?.resolve();
    await tick();
    expect(puts.filter((p) => p.state() === 'resolved')).toHaveLength(257);
    expect(calls).toHaveLength(3);
    expect(keysOf(calls[2])).toEqual(Array.from({ length: 44 }, (_, i) => `put:k${256 + i}=v-k${256 + i}`));
    calls[2]?.resolve();
    await tick();
    expect(puts.every((p) => p.state() === 'resolved')).toBe(true);
  });

  it('without sync writes every put as its own batch at once, without sync options', async () => {
    const { db, calls } = fakeDb();
    const writer = new GroupWriter(db, false);
    const first = watch(writer.put([entry('a')]));
    const second = watch(writer.put([entry('b'), entry('c')]));
    expect(calls).toHaveLength(2);
    expect(calls.map((c) => c.argCount)).toEqual([1, 1]);
    expect(keysOf(calls[1])).toEqual(['put:b=v-b', 'put:c=v-c']);
    calls[1]?.reject(new Error('only this one'));
    await tick();
    expect([first.state(), second.state()]).toEqual(['pending', 'rejected']);
    calls[0]?.resolve();
    await tick();
    expect(first.state()).toBe('resolved');
  });
});
