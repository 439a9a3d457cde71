import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { ObjectMeta } from '../../../src/store/types.js';

function meta(key: string, hlc: number, size: number): ObjectMeta {
  return { bucket: 'b', key, version: { hlc, node: 'n' }, tombstone: false, size, etag: 'e', contentType: 'x/y', userMeta: {} };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

async function* once(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

describe('MemoryStore', () => {
  it('fails a full read with CorruptBody after corruptForTest and quarantines the copy', async () => {
    const store = new MemoryStore({ inlineThreshold: 16 });
    await store.open();
    await store.commit(meta('small', 1, 5), { kind: 'inline', data: Buffer.from('hello') });
    const staged = await store.stage(once(Buffer.alloc(100, 7)));
    await store.commit(meta('big', 1, 100), { kind: 'staged', id: staged.id });
    store.corruptForTest('b', 'small', 4);
    store.corruptForTest('b', 'big');
    for (const key of ['small', 'big']) {
      await expect(readAll(await store.read('b', key, { hlc: 1, node: 'n' }))).rejects.toMatchObject({ code: 'CorruptBody' });
    }
    // Both copies are quarantined (as in LevelStore): the version stays known, the body is gone.
    expect((await store.head('b', 'small', { inlineUpTo: 100 }))?.record.storage).toBe('quarantined');
    expect(store.quarantined).toBe(2);
  });

  it('keeps records but drops staged bodies across close and open, and refuses calls while closed', async () => {
    const store = new MemoryStore();
    await store.open();
    await store.commit(meta('k', 1, 1), { kind: 'inline', data: Buffer.from('x') });
    const staged = await store.stage(once(Buffer.from('abc')));
    expect(store.stats()).toEqual({ records: 1, staged: 1 });
    await store.close();
    await expect(store.head('b', 'k')).rejects.toMatchObject({ code: 'StoreClosed' });
    await store.open();
    expect(store.stats()).toEqual({ records: 1, staged: 0 });
    await expect(store.commit(meta('j', 1, 3), { kind: 'staged', id: staged.id })).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
  });
  it('refuses to corrupt what it does not hold with InvalidArgument', async () => {
    const store = new MemoryStore();
    await store.open();
    await store.commit(meta('k', 1, 3), { kind: 'inline', data: Buffer.from('abc') });
    for (const [key, offset] of [
      ['k', 3],
      ['k', -1],
      ['nope', 0],
    ] as const) {
      expect(() => store.corruptForTest('b', key, offset)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    }
    store.corruptForTest('b', 'k', 2);
    await expect(readAll(await store.read('b', 'k', { hlc: 1, node: 'n' }))).rejects.toMatchObject({ code: 'CorruptBody' });
  });

  it('counts each corrupt copy once, and marks a corrupt blob resumable (block-checked) and an inline body not', async () => {
    const store = new MemoryStore({ inlineThreshold: 16 });
    await store.open();
    await store.commit(meta('small', 1, 5), { kind: 'inline', data: Buffer.from('hello') });
    await store.commit(meta('big', 1, 40), { kind: 'inline', data: Buffer.alloc(40, 3) });
    store.corruptForTest('b', 'small', 0);
    store.corruptForTest('b', 'big', 39);
    const small = readAll(await store.read('b', 'small', { hlc: 1, node: 'n' }));
    await expect(small).rejects.toMatchObject({ code: 'CorruptBody' });
    await expect(small).rejects.not.toMatchObject({ details: { resumable: true } });
    await expect(readAll(await store.read('b', 'big', { hlc: 1, node: 'n' }, { start: 0, end: 0 }))).rejects.toMatchObject({ code: 'CorruptBody', details: { resumable: true } });
    expect(store.quarantined).toBe(2);
    await expect(store.read('b', 'small', { hlc: 1, node: 'n' })).rejects.toMatchObject({ code: 'CorruptBody' });
    expect(store.quarantined).toBe(2);
    expect((await store.list('b', { limit: 10 })).map((r) => [r.key, r.storage, r.size])).toEqual([
      ['big', 'quarantined', 40],
      ['small', 'quarantined', 5],
    ]);
  });

  it('drops stages older than the orphan age (1 h by default), only those', async () => {
    let now = 1_000_000;
    const store = new MemoryStore({ clock: { now: () => now } });
    await store.open();
    const old = await store.stage(once(Buffer.from('old')));
    now += 30 * 60 * 1000;
    const young = await store.stage(once(Buffer.from('young')));
    expect(await store.collectOrphans()).toEqual({ temp: 0, staged: 0, unreferenced: 0 });
    now += 30 * 60 * 1000;
    expect(await store.collectOrphans()).toEqual({ temp: 0, staged: 1, unreferenced: 0 });
    expect(store.stats().staged).toBe(1);
    await expect(store.commit(meta('o', 1, 3), { kind: 'staged', id: old.id })).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(await store.commit(meta('y', 1, 5), { kind: 'staged', id: young.id })).toEqual({ applied: true, current: { hlc: 1, node: 'n' } });
    await store.close();
    await expect(store.collectOrphans()).rejects.toMatchObject({ code: 'StoreClosed' });
  });

  it('names stages with its random source, counts tombstones as records, and stages nothing from an aborted body', async () => {
    const store = new MemoryStore({ random: { hex: (n: number) => 'ab'.repeat(n) } as never });
    await store.open();
    expect((await store.stage(once(Buffer.from('x')))).id).toBe('ab'.repeat(16));
    await store.commit({ ...meta('t', 1, 0), tombstone: true }, { kind: 'inline', data: new Uint8Array(0) });
    expect(store.stats()).toEqual({ records: 1, staged: 1 });
    const controller = new AbortController();
    async function* aborting(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('a');
      controller.abort(new Error('gone'));
      yield Buffer.from('b');
    }
    await expect(store.stage(aborting(), controller.signal)).rejects.toThrow('gone');
    expect(store.stats()).toEqual({ records: 1, staged: 1 });
  });

  it("keeps its stored body apart from the caller's buffer and from head's answer", async () => {
    const store = new MemoryStore();
    await store.open();
    const data = Buffer.from('original');
    await store.commit(meta('k', 1, data.length), { kind: 'inline', data });
    data.fill(0);
    const head = await store.head('b', 'k', { inlineUpTo: 100 });
    expect(Buffer.from(head!.inlineBody!).toString()).toBe('original');
    head!.inlineBody!.fill(0);
    expect((await readAll(await store.read('b', 'k', { hlc: 1, node: 'n' }))).toString()).toBe('original');
  });
});
