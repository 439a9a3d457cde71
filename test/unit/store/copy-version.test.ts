/**
 * copyVersion, the one copy step of read repair, corrupt-copy replacement, anti-entropy and hint
 * delivery, over MemoryStores: each kind of record lands on the target under its own version, a
 * body read from the source is checked against the record before it is committed, and a staged
 * body that is not committed is discarded.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { copyVersion, needsSourceBody } from '../../../src/store/copy-version.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { ObjectMeta, ReplicaApi } from '../../../src/store/types.js';

function meta(key: string, size: number, hlc: number, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return { bucket: 'b', key, version: { hlc, node: 'n1' }, tombstone: false, size, etag: 'e', contentType: 'application/octet-stream', userMeta: {}, ...extra };
}

async function stores(): Promise<{ source: MemoryStore; target: MemoryStore }> {
  const source = new MemoryStore({ inlineThreshold: 1024 });
  const target = new MemoryStore({ inlineThreshold: 1024 });
  await source.open();
  await target.open();
  return { source, target };
}

async function bytes(store: ReplicaApi, key: string, hlc: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.read('b', key, { hlc, node: 'n1' })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('copyVersion', () => {
  it('copies a tombstone without a body, an inline body as given, and a streamed body byte-identical', async () => {
    const { source, target } = await stores();
    const large = Buffer.alloc(200_000, 9);
    await source.commit(meta('gone', 0, 5, { tombstone: true }), { kind: 'inline', data: new Uint8Array(0) });
    await source.commit(meta('large', large.length, 6), { kind: 'inline', data: large });
    const gone = (await source.head('b', 'gone'))!;
    const big = (await source.head('b', 'large'))!;
    expect(needsSourceBody(gone)).toBe(false);
    expect(needsSourceBody(big)).toBe(true);
    expect(await copyVersion(gone, target, undefined)).toEqual({ applied: true, moved: undefined });
    expect((await target.head('b', 'gone'))?.record).toMatchObject({ tombstone: true, version: { hlc: 5 } });
    expect(await copyVersion({ record: { ...big.record, key: 'small', size: 3, crc32: 0 }, inlineBody: Buffer.from('abc') }, target, undefined)).toEqual({ applied: true, moved: 3 });
    expect(await bytes(target, 'small', 6)).toEqual(Buffer.from('abc'));
    expect(await copyVersion(big, target, source)).toEqual({ applied: true, moved: 200_000 });
    expect(await bytes(target, 'large', 6)).toEqual(large);
    // Again: the target holds it already, nothing changes.
    expect(await copyVersion(big, target, source)).toEqual({ applied: false, moved: 200_000 });
    await expect(copyVersion(big, new MemoryStore({ inlineThreshold: 1024 }), undefined)).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('refuses a body that differs from its record (ChecksumMismatch), commits nothing and discards the staged copy', async () => {
    const { source, target } = await stores();
    const body = Buffer.alloc(5000, 1);
    await source.commit(meta('k', body.length, 7), { kind: 'inline', data: body });
    const held = (await source.head('b', 'k'))!;
    // A source whose read yields other bytes of the same length.
    const bound = <T extends object>(t: T, name: string | symbol): unknown => {
      const v = Reflect.get(t, name, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    };
    const lying: ReplicaApi = new Proxy(source, { get: (t, name) => (name === 'read' ? async () => Readable.from([Buffer.alloc(5000, 2)]) : bound(t, name)) });
    const discarded: string[] = [];
    const watched: ReplicaApi = new Proxy(target, { get: (t, name) => (name === 'discard' ? (id: string, s?: AbortSignal) => (discarded.push(id), t.discard(id, s)) : bound(t, name)) });
    await expect(copyVersion(held, watched, lying, undefined, 'n3')).rejects.toMatchObject({ code: 'ChecksumMismatch', message: expect.stringContaining('n3') });
    expect(discarded).toHaveLength(1);
    expect(await target.head('b', 'k')).toBeUndefined();
  });
});
