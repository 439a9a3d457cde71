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
});
