import { describe, expect, it } from 'vitest';
import { ReplicaCopier } from '../../../src/antientropy/replica-copier.js';
import type { RepairItem } from '../../../src/antientropy/types.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { ObjectMeta, ReplicaApi } from '../../../src/store/types.js';

const signal = new AbortController().signal;

function meta(key: string, size: number, hlc: number, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return { bucket: 'b', key, version: { hlc, node: 'n1' }, tombstone: false, size, etag: 'e', contentType: 'application/octet-stream', userMeta: {}, ...extra };
}

function item(key: string, hlc: number, extra: Partial<RepairItem> = {}): RepairItem {
  return { partition: 0, bucket: 'b', key, version: { hlc, node: 'n1' }, tombstone: false, size: 0, source: 'a', target: 'b', reason: 'missing', ...extra };
}

async function bodyOf(store: ReplicaApi, key: string, hlc: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.read('b', key, { hlc, node: 'n1' })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function pair(): Promise<{ a: MemoryStore; b: MemoryStore; copier: ReplicaCopier }> {
  const a = new MemoryStore({ inlineThreshold: 1024 });
  const b = new MemoryStore({ inlineThreshold: 1024 });
  await a.open();
  await b.open();
  return { a, b, copier: new ReplicaCopier((id) => (id === 'a' ? a : b)) };
}

describe('ReplicaCopier', () => {
  it('copies a small and a large body under the same version, byte-identical', async () => {
    const { a, b, copier } = await pair();
    const small = Buffer.from('hello');
    const large = Buffer.alloc(100_000, 7);
    await a.commit(meta('small', small.length, 10), { kind: 'inline', data: small });
    await a.commit(meta('large', large.length, 11), { kind: 'inline', data: large });
    expect(await copier.copy(item('small', 10), signal)).toEqual({ applied: true, bytes: 5, moved: 5 });
    expect(await copier.copy(item('large', 11), signal)).toEqual({ applied: true, bytes: 100_000, moved: 100_000 });
    expect(await bodyOf(b, 'small', 10)).toEqual(small);
    expect(await bodyOf(b, 'large', 11)).toEqual(large);
    expect((await b.head('b', 'large'))?.record).toMatchObject({ version: { hlc: 11, node: 'n1' }, storage: 'blob' });
  });

  it('copies a tombstone with no body', async () => {
    const { a, b, copier } = await pair();
    await b.commit(meta('k', 1, 5), { kind: 'inline', data: Buffer.from('x') });
    await a.commit(meta('k', 0, 9, { tombstone: true }), { kind: 'inline', data: new Uint8Array(0) });
    expect(await copier.copy(item('k', 9, { tombstone: true, target: 'b' }), signal)).toEqual({ applied: true, bytes: 0 });
    expect((await b.head('b', 'k'))?.record).toMatchObject({ tombstone: true, version: { hlc: 9 } });
  });

  it('does nothing when the source no longer holds that version', async () => {
    const { a, b, copier } = await pair();
    await a.commit(meta('k', 1, 20), { kind: 'inline', data: Buffer.from('y') });
    expect(await copier.copy(item('k', 19), signal)).toEqual({ applied: false, bytes: 0 });
    expect(await copier.copy(item('gone', 1), signal)).toEqual({ applied: false, bytes: 0 });
    expect(await b.head('b', 'k')).toBeUndefined();
  });

  it('restores a quarantined copy from a good one, and never copies from a quarantined one', async () => {
    const { a, b, copier } = await pair();
    const body = Buffer.alloc(5000, 3);
    await a.commit(meta('k', body.length, 30), { kind: 'inline', data: body });
    await b.commit(meta('k', body.length, 30), { kind: 'inline', data: body });
    b.corruptForTest('b', 'k');
    await expect(bodyOf(b, 'k', 30)).rejects.toMatchObject({ code: 'CorruptBody' });
    expect((await b.head('b', 'k'))?.record.storage).toBe('quarantined');
    expect(await copier.copy(item('k', 30, { source: 'b', target: 'a' }), signal)).toEqual({ applied: false, bytes: 0 });
    expect(await copier.copy(item('k', 30, { reason: 'quarantined' }), signal)).toEqual({ applied: true, bytes: 5000, moved: 5000 });
    expect(await bodyOf(b, 'k', 30)).toEqual(body);
  });

  it('never commits a body that differs from its record, and discards it', async () => {
    const { a, b } = await pair();
    let discarded = 0;
    const wrap = (store: MemoryStore, overrides: Partial<ReplicaApi>): ReplicaApi => ({
      stage: (body) => store.stage(body),
      commit: (m, body) => store.commit(m, body),
      discard: (id) => store.discard(id),
      head: (...args) => store.head(...args),
      read: (...args) => store.read(...args),
      list: (...args) => store.list(...args),
      ...overrides,
    });
    // The source's record claims another CRC32 than the body it streams.
    const lying = wrap(a, { head: (bucket, key, options) => a.head(bucket, key, options).then((h) => h && { record: { ...h.record, crc32: h.record.crc32 ^ 1 } }) });
    const target = wrap(b, {
      discard: (id) => {
        discarded++;
        return b.discard(id);
      },
    });
    const copier = new ReplicaCopier((id) => (id === 'a' ? lying : target));
    await a.commit(meta('k', 4000, 40), { kind: 'inline', data: Buffer.alloc(4000, 1) });
    await expect(copier.copy(item('k', 40), signal)).rejects.toMatchObject({ code: 'ChecksumMismatch' });
    expect(discarded).toBe(1);
    expect(await b.head('b', 'k')).toBeUndefined();
  });
});
