/**
 * The ReplicaApi contract as one vitest suite. Every implementation (LevelStore, MemoryStore,
 * and the RPC client talking to a remote store) must pass it. The suite touches the store only
 * through ReplicaApi, so it runs unchanged over the network.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Version } from '../../src/util/clock.js';
import { DEFAULT_INLINE_THRESHOLD } from '../../src/store/record.js';
import type { LocalStore, ObjectMeta, ReplicaApi } from '../../src/store/types.js';
import { partitionRules } from './partition.contract.js';

/** What the contract needs from an implementation under test. */
export interface StoreFixture {
  readonly store: ReplicaApi & Partial<LocalStore>;
  cleanup(): Promise<void>;
  /** The store's inline threshold when it is not DEFAULT_INLINE_THRESHOLD. */
  readonly inlineThreshold?: number;
  /**
   * Flips `length` stored bytes of the body of `key` in BUCKET from `offset` on, behind the
   * store's back (bit rot); the corruption cases run only where this exists.
   */
  corrupt?(key: string, offset: number, length: number): Promise<void>;
  /** Closes the store and opens it again on the same data; the restart cases run only where this exists. */
  restart?(): Promise<void>;
}

const BUCKET = 'bucket';

function v(hlc: number, node = 'n1'): Version {
  return { hlc, node };
}

function meta(key: string, version: Version, size: number, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return {
    bucket: BUCKET,
    key,
    version,
    tombstone: false,
    size,
    etag: 'd41d8cd98f00b204e9800998ecf8427e',
    contentType: 'application/octet-stream',
    userMeta: {},
    ...extra,
  };
}

function tombstone(key: string, version: Version): ObjectMeta {
  return meta(key, version, 0, { tombstone: true, etag: '' });
}

async function* chunks(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.byteLength; i += size) yield data.subarray(i, Math.min(i + size, data.byteLength));
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Registers the ReplicaApi contract suite for the implementation `make` creates (fresh per test). */
export function storeContract(name: string, make: () => Promise<StoreFixture>): void {
  describe(`ReplicaApi contract: ${name}`, () => {
    let fixture: StoreFixture;
    let store: ReplicaApi;
    let threshold: number;

    beforeEach(async () => {
      fixture = await make();
      store = fixture.store;
      threshold = fixture.inlineThreshold ?? DEFAULT_INLINE_THRESHOLD;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    partitionRules(() => fixture);

    async function put(key: string, version: Version, data: Uint8Array, extra: Partial<ObjectMeta> = {}) {
      return store.commit(meta(key, version, data.byteLength, extra), { kind: 'inline', data });
    }

    async function putStaged(key: string, version: Version, data: Uint8Array) {
      const staged = await store.stage(chunks(data, 65_537));
      return store.commit(meta(key, version, data.byteLength), { kind: 'staged', id: staged.id });
    }

    async function body(key: string, version: Version, range?: { start: number; end: number }): Promise<Buffer> {
      return readAll(await store.read(BUCKET, key, version, range));
    }

    describe('round trips', () => {
      it('stores and returns an empty body, inline or staged', async () => {
        expect(await put('empty', v(1), new Uint8Array(0))).toEqual({ applied: true, current: v(1) });
        const head = await store.head(BUCKET, 'empty', { inlineUpTo: 0 });
        expect(head?.record).toMatchObject({ size: 0, crc32: 0, tombstone: false, storage: 'inline' });
        expect(head?.inlineBody?.byteLength).toBe(0);
        expect((await body('empty', v(1))).length).toBe(0);

        const staged = await store.stage(chunks(new Uint8Array(0), 1));
        expect(staged).toMatchObject({ size: 0, crc32: 0 });
        await store.commit(meta('empty2', v(1), 0), { kind: 'staged', id: staged.id });
        expect((await body('empty2', v(1))).length).toBe(0);
      });

      it('keeps every metadata field of a small inline body', async () => {
        const data = Buffer.from('hello, ringstore ✓');
        const extra = {
          contentType: 'text/plain; charset=utf-8',
          userMeta: { owner: 'zoë', empty: '' },
          checksums: { crc32c: 'AAAAAA==' },
          headers: { 'cache-control': 'no-cache', 'content-disposition': 'attachment; filename="a b.txt"' },
          etag: 'abc123',
        };
        await put('small', v(5, 'node-a'), data, extra);
        const head = await store.head(BUCKET, 'small', { inlineUpTo: 1024 });
        expect(head?.record).toEqual({
          ...meta('small', v(5, 'node-a'), data.length, extra),
          crc32: crc32(data),
          storage: 'inline',
        });
        expect(Buffer.from(head?.inlineBody ?? [])).toEqual(data);
        expect(await body('small', v(5, 'node-a'))).toEqual(data);
      });

      it('has no checksums field when none were sent', async () => {
        await put('plain', v(1), Buffer.from('x'));
        const head = await store.head(BUCKET, 'plain');
        expect(head?.record.checksums).toBeUndefined();
        expect(head?.inlineBody).toBeUndefined();
      });

      it('streams a 3 MiB staged body back byte for byte', async () => {
        const data = randomBytes(3 * 1024 * 1024);
        const staged = await store.stage(chunks(data, 100_003));
        expect(staged).toMatchObject({ size: data.length, crc32: crc32(data) });
        expect(await store.commit(meta('big', v(1), data.length), { kind: 'staged', id: staged.id })).toEqual({
          applied: true,
          current: v(1),
        });
        const head = await store.head(BUCKET, 'big', { inlineUpTo: 1 << 30 });
        expect(head?.record).toMatchObject({ size: data.length, crc32: crc32(data), storage: 'blob' });
        expect(head?.inlineBody).toBeUndefined();
        const back = await body('big', v(1));
        expect(back.length).toBe(data.length);
        expect(back.equals(data)).toBe(true);
      });

      it('answers undefined and NoSuchKey for a key it never held', async () => {
        expect(await store.head(BUCKET, 'nothing')).toBeUndefined();
        await expect(store.read(BUCKET, 'nothing', v(1))).rejects.toMatchObject({ code: 'NoSuchKey' });
      });

      it('treats a retried staged commit as already applied', async () => {
        const data = randomBytes(threshold + 10);
        const staged = await store.stage(chunks(data, 4096));
        const m = meta('retry', v(3), data.length);
        expect(await store.commit(m, { kind: 'staged', id: staged.id })).toEqual({ applied: true, current: v(3) });
        expect(await store.commit(m, { kind: 'staged', id: staged.id })).toEqual({ applied: false, current: v(3) });
        expect((await body('retry', v(3))).equals(data)).toBe(true);
      });
    });

    describe('last writer wins', () => {
      it('ignores older and equal versions and reports what it holds', async () => {
        await put('k', v(10), Buffer.from('ten'));
        expect(await put('k', v(9), Buffer.from('nine'))).toEqual({ applied: false, current: v(10) });
        expect(await put('k', v(10), Buffer.from('TEN'))).toEqual({ applied: false, current: v(10) });
        expect((await body('k', v(10))).toString()).toBe('ten');
      });

      it('replaces with a newer version; the superseded version can no longer be read', async () => {
        await putStaged('k', v(10), randomBytes(threshold + 100));
        expect(await put('k', v(11), Buffer.from('eleven'))).toEqual({ applied: true, current: v(11) });
        expect((await body('k', v(11))).toString()).toBe('eleven');
        await expect(store.read(BUCKET, 'k', v(10))).rejects.toMatchObject({ code: 'NoSuchKey' });
        await expect(store.read(BUCKET, 'k', v(12))).rejects.toMatchObject({ code: 'NoSuchKey' });
      });

      it('breaks a timestamp tie by node id', async () => {
        await put('tie', v(7, 'b'), Buffer.from('b'));
        expect(await put('tie', v(7, 'a'), Buffer.from('a'))).toEqual({ applied: false, current: v(7, 'b') });
        expect(await put('tie', v(7, 'c'), Buffer.from('c'))).toEqual({ applied: true, current: v(7, 'c') });
      });

      it('hides a key behind a tombstone until a newer object arrives', async () => {
        await put('t', v(1), Buffer.from('one'));
        expect(await store.commit(tombstone('t', v(2)), { kind: 'inline', data: new Uint8Array(0) })).toEqual({
          applied: true,
          current: v(2),
        });
        const head = await store.head(BUCKET, 't', { inlineUpTo: 100 });
        expect(head?.record).toMatchObject({ tombstone: true, size: 0, version: v(2) });
        expect(head?.inlineBody).toBeUndefined();
        await expect(store.read(BUCKET, 't', v(1))).rejects.toMatchObject({ code: 'NoSuchKey' });
        await expect(store.read(BUCKET, 't', v(2))).rejects.toMatchObject({ code: 'NoSuchKey' });
        expect(await put('t', v(1, 'z'), Buffer.from('late'))).toEqual({ applied: false, current: v(2) });
        expect(await put('t', v(3), Buffer.from('three'))).toEqual({ applied: true, current: v(3) });
        expect((await body('t', v(3))).toString()).toBe('three');
      });

      it('accepts a tombstone for a key it never held (and keeps it against older writes)', async () => {
        await store.commit(tombstone('ghost', v(5)), { kind: 'inline', data: new Uint8Array(0) });
        expect(await put('ghost', v(4), Buffer.from('old'))).toEqual({ applied: false, current: v(5) });
        expect((await store.head(BUCKET, 'ghost'))?.record.tombstone).toBe(true);
      });

      it('ends with the newest version when commits to one key race', async () => {
        const hlcs = [13, 4, 20, 8, 1, 17, 11, 2, 19, 6, 15, 3, 10, 18, 5, 12, 7, 16, 9, 14];
        const results = await Promise.all(hlcs.map((hlc) => (hlc % 3 === 0 ? putStaged('race', v(hlc), randomBytes(threshold + hlc)) : put('race', v(hlc), Buffer.from(`v${hlc}`)))));
        for (const [i, r] of results.entries()) expect(r.current.hlc).toBeGreaterThanOrEqual(hlcs[i] ?? 0);
        expect(results.filter((r) => r.current.hlc === 20 && r.applied)).toHaveLength(1);
        expect((await store.head(BUCKET, 'race'))?.record.version).toEqual(v(20));
        expect((await body('race', v(20))).toString()).toBe('v20');
      });

      it('applies concurrent commits to different keys', async () => {
        const keys = Array.from({ length: 32 }, (_, i) => `par/${i}`);
        const results = await Promise.all(keys.map((k) => put(k, v(1), Buffer.from(k))));
        expect(results.every((r) => r.applied)).toBe(true);
        expect(await store.list(BUCKET, { prefix: 'par/', limit: 100 })).toHaveLength(32);
      });
    });

    describe('staged bodies', () => {
      it('forgets a discarded body; discarding twice or an unknown id is fine', async () => {
        const staged = await store.stage(chunks(randomBytes(1000), 300));
        await store.discard(staged.id);
        await store.discard(staged.id);
        await store.discard('0123456789abcdef0123456789abcdef');
        await expect(store.commit(meta('d', v(1), 1000), { kind: 'staged', id: staged.id })).rejects.toMatchObject({
          code: 'InvalidArgument',
        });
        expect(await store.head(BUCKET, 'd')).toBeUndefined();
      });

      it('collectOrphans drops a stage that was never committed nor discarded', async () => {
        const collect = fixture.store.collectOrphans?.bind(fixture.store);
        if (collect === undefined) return;
        const staged = await store.stage(chunks(randomBytes(3000), 1000));
        const counts = await collect({ olderThanMs: 0 });
        expect(counts.staged).toBe(1);
        await expect(store.commit(meta('gone', v(1), 3000), { kind: 'staged', id: staged.id })).rejects.toMatchObject({ code: 'InvalidArgument' });
        expect((await collect({ olderThanMs: 0 })).staged).toBe(0);
      });

      it('drops the staged body of a commit that is not applied', async () => {
        await put('lose', v(5), Buffer.from('held'));
        const staged = await store.stage(chunks(randomBytes(2000), 500));
        expect(await store.commit(meta('lose', v(4), 2000), { kind: 'staged', id: staged.id })).toEqual({
          applied: false,
          current: v(5),
        });
        await expect(store.commit(meta('lose', v(6), 2000), { kind: 'staged', id: staged.id })).rejects.toMatchObject({
          code: 'InvalidArgument',
        });
      });

      it('refuses a staged body whose size differs from the metadata', async () => {
        const staged = await store.stage(chunks(randomBytes(5000), 1000));
        await expect(store.commit(meta('m', v(1), 5001), { kind: 'staged', id: staged.id })).rejects.toMatchObject({
          code: 'InvalidArgument',
        });
        expect(await store.head(BUCKET, 'm')).toBeUndefined();
        await store.discard(staged.id);
      });

      it('refuses inconsistent inline bodies and tombstones with a body', async () => {
        await expect(store.commit(meta('m', v(1), 3), { kind: 'inline', data: Buffer.from('four') })).rejects.toMatchObject({
          code: 'InvalidArgument',
        });
        await expect(store.commit({ ...tombstone('m', v(1)), size: 1 }, { kind: 'inline', data: Buffer.from('x') })).rejects.toMatchObject({ code: 'InvalidArgument' });
        expect(await store.head(BUCKET, 'm')).toBeUndefined();
      });
    });

    describe('range reads', () => {
      it.each(['inline', 'blob'] as const)('reads first, last and middle bytes of an %s body', async (storage) => {
        const data = randomBytes(storage === 'inline' ? Math.min(1000, threshold) : threshold + 700_000);
        const n = data.length;
        const [from, to] = [Math.floor(n / 4), Math.floor((3 * n) / 4)];
        await put('r', v(1), data);
        expect((await store.head(BUCKET, 'r'))?.record.storage).toBe(storage);
        expect(await body('r', v(1), { start: 0, end: 0 })).toEqual(data.subarray(0, 1));
        expect(await body('r', v(1), { start: n - 1, end: n - 1 })).toEqual(data.subarray(n - 1));
        expect((await body('r', v(1), { start: from, end: to })).equals(data.subarray(from, to + 1))).toBe(true);
        expect((await body('r', v(1), { start: 0, end: n - 1 })).equals(data)).toBe(true);
        await expect(store.read(BUCKET, 'r', v(1), { start: 0, end: n })).rejects.toMatchObject({ code: 'InvalidArgument' });
        await expect(store.read(BUCKET, 'r', v(2), { start: 0, end: 0 })).rejects.toMatchObject({ code: 'NoSuchKey' });
      });
    });

    // Regression: read repair read a manifest's (empty) body, the store took the missing bytes for
    // corruption and quarantined a good record (seen in the crash test, seed 867576456).
    it('refuses to read a multipart manifest, whose body is its parts, and keeps the record as it is', async () => {
      const parts = [{ bucket: '.parts', key: 'u\u00001', version: v(1), size: 5, etag: 'e1' }];
      await store.commit(meta('mp', v(2), 5, { parts, etag: 'x-1' }), { kind: 'inline', data: new Uint8Array(0) });
      await expect(store.read(BUCKET, 'mp', v(2))).rejects.toMatchObject({ code: 'InvalidArgument' });
      await expect(store.read(BUCKET, 'mp', v(2), { start: 0, end: 1 })).rejects.toMatchObject({ code: 'InvalidArgument' });
      const head = await store.head(BUCKET, 'mp');
      expect(head?.record).toMatchObject({ storage: 'inline', parts, size: 5 });
    });

    describe('block checksums', () => {
      const MiB = 1024 * 1024;

      it('reads ranges across and at block boundaries byte for byte', async () => {
        const data = randomBytes(2 * MiB + 123_457);
        await putStaged('bb', v(1), data);
        const n = data.length;
        for (const [start, end] of [
          [MiB - 1, MiB],
          [MiB, 2 * MiB - 1],
          [0, MiB - 1],
          [MiB - 10, 2 * MiB + 10],
          [2 * MiB, n - 1],
          [n - 1, n - 1],
          [17, n - 2],
        ] as const) {
          expect((await body('bb', v(1), { start, end })).equals(data.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
        }
      });

      it('serves ranges of a corrupt blob only from good blocks, quarantines the copy, and takes the same version back', async () => {
        if (fixture.corrupt === undefined) return;
        const data = randomBytes(3 * MiB + 500_000);
        await putStaged('rot', v(7), data);
        await fixture.corrupt('rot', 2 * MiB + 300_000, 16);
        expect((await body('rot', v(7), { start: 0, end: 999 })).equals(data.subarray(0, 1000))).toBe(true);
        expect((await body('rot', v(7), { start: MiB - 10, end: 2 * MiB - 1 })).equals(data.subarray(MiB - 10, 2 * MiB))).toBe(true);
        expect((await body('rot', v(7), { start: 3 * MiB, end: data.length - 1 })).equals(data.subarray(3 * MiB))).toBe(true);
        await expect(body('rot', v(7), { start: 2 * MiB + 299_990, end: 2 * MiB + 300_001 })).rejects.toMatchObject({ code: 'CorruptBody' });
        // Quarantined: head still knows the version but offers no body, so a coordinator does
        // not pick this replica to read from, and read repair restores it under the same version.
        expect((await store.head(BUCKET, 'rot'))?.record).toMatchObject({ version: v(7), storage: 'quarantined', size: data.length });
        expect((await store.list(BUCKET, { limit: 10 })).map((r) => [r.key, r.storage])).toEqual([['rot', 'quarantined']]);
        await expect(store.read(BUCKET, 'rot', v(7), { start: 0, end: 9 })).rejects.toMatchObject({ code: 'CorruptBody' });
        expect(await store.commit(meta('rot', v(6), 1), { kind: 'inline', data: Buffer.from('x') })).toEqual({ applied: false, current: v(7) });
        expect(await putStaged('rot', v(7), data)).toEqual({ applied: true, current: v(7) });
        expect((await body('rot', v(7))).equals(data)).toBe(true);
        expect((await body('rot', v(7), { start: 2 * MiB, end: 3 * MiB })).equals(data.subarray(2 * MiB, 3 * MiB + 1))).toBe(true);
      });

      it('never hands out a flipped byte of a full read', async () => {
        if (fixture.corrupt === undefined) return;
        const data = randomBytes(3 * MiB + 1);
        await putStaged('full', v(1), data);
        await fixture.corrupt('full', 2 * MiB + 5, 16);
        const got: Buffer[] = [];
        await expect(
          (async () => {
            for await (const chunk of await store.read(BUCKET, 'full', v(1))) got.push(Buffer.from(chunk as Uint8Array));
          })(),
        ).rejects.toMatchObject({ code: 'CorruptBody' });
        const served = Buffer.concat(got);
        expect(served.length).toBeLessThanOrEqual(2 * MiB);
        expect(served.equals(data.subarray(0, served.length))).toBe(true);
        expect((await store.head(BUCKET, 'full'))?.record.storage).toBe('quarantined');
      });

      it('checks a whole inline body on ranged reads too', async () => {
        if (fixture.corrupt === undefined) return;
        const data = randomBytes(Math.min(1000, threshold));
        await put('small', v(1), data);
        await fixture.corrupt('small', data.length - 16, 16);
        await expect(body('small', v(1), { start: 0, end: 9 })).rejects.toMatchObject({ code: 'CorruptBody' });
        const held = await store.head(BUCKET, 'small', { inlineUpTo: 1_000_000 });
        expect(held?.record.storage).toBe('quarantined');
        expect(held?.inlineBody).toBeUndefined();
        expect(await put('small', v(1), data)).toEqual({ applied: true, current: v(1) });
        expect((await body('small', v(1), { start: 0, end: 9 })).equals(data.subarray(0, 10))).toBe(true);
      });
    });

    describe('list', () => {
      const keys = ['a', 'b', 'a/b', 'a/c', 'é', 'z', 'Z', '中文', '😀', '\uE000', '\uFFFD', 'a b', 'a\u0001', 'ab', 'ü/1', 'ü/2'];
      const sorted = [...keys].sort(byUtf8);

      async function fill(): Promise<void> {
        for (const [i, k] of keys.entries()) await put(k, v(i + 1), Buffer.from(k));
      }

      it('returns records in UTF-8 byte order', async () => {
        await fill();
        const records = await store.list(BUCKET, { limit: 1000 });
        expect(records.map((r) => r.key)).toEqual(sorted);
        const first = records.find((r) => r.key === '😀');
        expect(first).toMatchObject({ bucket: BUCKET, size: Buffer.byteLength('😀'), storage: 'inline' });
      });

      it('applies prefix, startAfter and limit', async () => {
        await fill();
        const keysOf = async (opts: { prefix?: string; startAfter?: string; limit: number }) => (await store.list(BUCKET, opts)).map((r) => r.key);
        expect(await keysOf({ prefix: 'a', limit: 100 })).toEqual(sorted.filter((k) => k.startsWith('a')));
        expect(await keysOf({ prefix: 'a/', limit: 100 })).toEqual(['a/b', 'a/c']);
        expect(await keysOf({ prefix: 'ü/', limit: 100 })).toEqual(['ü/1', 'ü/2']);
        expect(await keysOf({ prefix: '😀', limit: 100 })).toEqual(['😀']);
        expect(await keysOf({ startAfter: 'b', limit: 100 })).toEqual(sorted.filter((k) => byUtf8(k, 'b') > 0));
        expect(await keysOf({ startAfter: '\uE000', limit: 100 })).toEqual(sorted.filter((k) => byUtf8(k, '\uE000') > 0));
        expect(await keysOf({ prefix: 'a', startAfter: 'a/b', limit: 100 })).toEqual(sorted.filter((k) => k.startsWith('a') && byUtf8(k, 'a/b') > 0));
        expect(await keysOf({ prefix: 'a/', startAfter: 'A', limit: 100 })).toEqual(['a/b', 'a/c']);
        expect(await keysOf({ prefix: 'a/', startAfter: 'zz', limit: 100 })).toEqual([]);
        expect(await keysOf({ prefix: 'nope', limit: 100 })).toEqual([]);
        expect(await keysOf({ limit: 3 })).toEqual(sorted.slice(0, 3));
        expect(await keysOf({ limit: 0 })).toEqual([]);
      });

      it('pages through a bucket with startAfter', async () => {
        await fill();
        const seen: string[] = [];
        let startAfter: string | undefined;
        for (;;) {
          const page = await store.list(BUCKET, startAfter === undefined ? { limit: 3 } : { startAfter, limit: 3 });
          if (page.length === 0) break;
          seen.push(...page.map((r) => r.key));
          startAfter = page.at(-1)?.key;
        }
        expect(seen).toEqual(sorted);
      });

      it('includes tombstones and keeps buckets apart', async () => {
        await put('k1', v(1), Buffer.from('1'));
        await put('k2', v(1), Buffer.from('2'));
        await store.commit(tombstone('k2', v(2)), { kind: 'inline', data: new Uint8Array(0) });
        await store.commit({ ...meta('k3', v(1), 1), bucket: `${BUCKET}x` }, { kind: 'inline', data: Buffer.from('3') });
        await store.commit({ ...meta('k4', v(1), 1), bucket: 'bucke' }, { kind: 'inline', data: Buffer.from('4') });
        const records = await store.list(BUCKET, { limit: 10 });
        expect(records.map((r) => [r.key, r.tombstone])).toEqual([
          ['k1', false],
          ['k2', true],
        ]);
        expect((await store.list(`${BUCKET}x`, { limit: 10 })).map((r) => r.key)).toEqual(['k3']);
        expect(await store.list('empty-bucket', { limit: 10 })).toEqual([]);
      });
    });

    describe('inline threshold', () => {
      it('keeps bodies up to the threshold inline and larger ones as blobs, however they arrive', async () => {
        const atLimit = randomBytes(threshold);
        const above = randomBytes(threshold + 1);
        await put('inline-at', v(1), atLimit);
        await put('inline-above', v(1), above);
        await putStaged('staged-at', v(1), atLimit);
        await putStaged('staged-above', v(1), above);
        for (const [key, data, storage] of [
          ['inline-at', atLimit, 'inline'],
          ['inline-above', above, 'blob'],
          ['staged-at', atLimit, 'inline'],
          ['staged-above', above, 'blob'],
        ] as const) {
          const head = await store.head(BUCKET, key, { inlineUpTo: threshold * 4 });
          expect(head?.record.storage, key).toBe(storage);
          expect(head?.record.crc32, key).toBe(crc32(data));
          expect(head?.inlineBody === undefined, key).toBe(storage === 'blob');
          expect((await body(key, v(1))).equals(data), key).toBe(true);
        }
      });

      it('returns an inline body with head only when it fits inlineUpTo', async () => {
        const data = randomBytes(100);
        await put('fit', v(1), data);
        expect(Buffer.from((await store.head(BUCKET, 'fit', { inlineUpTo: 100 }))?.inlineBody ?? [])).toEqual(data);
        expect((await store.head(BUCKET, 'fit', { inlineUpTo: 99 }))?.inlineBody).toBeUndefined();
        expect((await store.head(BUCKET, 'fit'))?.inlineBody).toBeUndefined();
      });
    });

    describe('checksums of inline bodies', () => {
      /** Reads a whole body, keeping whatever the stream handed out before it failed. */
      async function drain(key: string, version: Version, range?: { start: number; end: number }): Promise<{ got: Buffer; err: unknown }> {
        const got: Buffer[] = [];
        try {
          for await (const chunk of await store.read(BUCKET, key, version, range)) got.push(Buffer.from(chunk as Uint8Array));
          return { got: Buffer.concat(got), err: undefined };
        } catch (err) {
          return { got: Buffer.concat(got), err };
        }
      }

      it('fails a full read of an inline body altered in storage with CorruptBody, handing out no byte', async () => {
        if (fixture.corrupt === undefined) return;
        const data = randomBytes(Math.min(1000, threshold));
        await put('rot', v(3), data);
        await fixture.corrupt('rot', 500, 1);
        const { got, err } = await drain('rot', v(3));
        expect(err).toMatchObject({ code: 'CorruptBody' });
        expect(got.length).toBe(0);
        // Quarantined under the same version; a second full read still fails, never serves the altered bytes.
        expect((await store.head(BUCKET, 'rot', { inlineUpTo: 1_000_000 }))?.record).toMatchObject({ version: v(3), storage: 'quarantined' });
        expect((await drain('rot', v(3))).err).toMatchObject({ code: 'CorruptBody' });
        expect((await drain('rot', v(3))).got.length).toBe(0);
      });

      it('fails a full read of a small staged body (kept inline) altered in storage with CorruptBody', async () => {
        if (fixture.corrupt === undefined) return;
        const data = randomBytes(Math.min(700, threshold));
        await putStaged('srot', v(1), data);
        expect((await store.head(BUCKET, 'srot'))?.record.storage).toBe('inline');
        await fixture.corrupt('srot', 0, 1);
        const { got, err } = await drain('srot', v(1));
        expect(err).toMatchObject({ code: 'CorruptBody' });
        expect(got.length).toBe(0);
      });

      it.each([
        ['first byte', 0, 0, 0],
        ['last byte', 999, 999, 999],
        ['a range away from the altered byte', 0, 9, 990],
      ])('fails a range read (%s) of an inline body altered in storage with CorruptBody', async (_name, start, end, at) => {
        if (fixture.corrupt === undefined) return;
        const data = randomBytes(Math.min(1000, threshold));
        await put('r', v(1), data);
        await fixture.corrupt('r', Math.min(at, data.length - 1), 1);
        const { got, err } = await drain('r', v(1), { start: Math.min(start, data.length - 1), end: Math.min(end, data.length - 1) });
        expect(err).toMatchObject({ code: 'CorruptBody' });
        expect(got.length).toBe(0);
      });

      it('leaves an altered inline body out of head, so the caller falls back to a read that reports it', async () => {
        if (fixture.corrupt === undefined) return;
        const data = randomBytes(100);
        await put('h', v(1), data);
        await fixture.corrupt('h', 42, 1);
        const head = await store.head(BUCKET, 'h', { inlineUpTo: 1_000_000 });
        expect(head?.record).toMatchObject({ version: v(1), size: 100, crc32: crc32(data) });
        expect(head?.inlineBody).toBeUndefined();
        expect((await drain('h', v(1))).err).toMatchObject({ code: 'CorruptBody' });
      });

      it('fails a full read of a one-block blob altered in storage with CorruptBody, handing out no byte', async () => {
        if (fixture.corrupt === undefined) return;
        const data = randomBytes(threshold + 100);
        await put('b1', v(1), data);
        expect((await store.head(BUCKET, 'b1'))?.record.storage).toBe('blob');
        await fixture.corrupt('b1', data.length - 1, 1);
        const { got, err } = await drain('b1', v(1));
        expect(err).toMatchObject({ code: 'CorruptBody' });
        expect(got.length).toBe(0);
        expect((await drain('b1', v(1), { start: 0, end: 0 })).err).toMatchObject({ code: 'CorruptBody' });
      });
    });

    describe('rules of last-writer-wins', () => {
      const rich = { etag: 'e-new', contentType: 'text/new', userMeta: { who: 'new' } };

      it('commit is last-writer-wins by version: an older version never replaces a newer one, in head, read or list', async () => {
        await put('k', v(10), Buffer.from('ten'), rich);
        const before = await store.head(BUCKET, 'k');
        for (const older of [v(9), v(9, 'zz'), v(1), v(0)]) {
          expect(await put('k', older, Buffer.from('older'), { etag: 'e-old', contentType: 'text/old', userMeta: { who: 'old' } })).toEqual({ applied: false, current: v(10) });
        }
        expect(await store.commit(tombstone('k', v(9)), { kind: 'inline', data: new Uint8Array(0) })).toEqual({ applied: false, current: v(10) });
        const after = await store.head(BUCKET, 'k');
        expect(after?.record).toEqual(before?.record);
        expect(after?.record).toMatchObject({ version: v(10), tombstone: false, size: 3, ...rich, crc32: crc32(Buffer.from('ten')) });
        expect((await body('k', v(10))).toString()).toBe('ten');
        expect(await store.list(BUCKET, { limit: 10 })).toEqual([after?.record]);
      });

      it('an equal version is idempotent: nothing changes, the answer is not applied with the held version', async () => {
        await put('eq', v(10, 'n2'), Buffer.from('first'), rich);
        const before = await store.head(BUCKET, 'eq');
        expect(await put('eq', v(10, 'n2'), Buffer.from('other'), { etag: 'e-2' })).toEqual({ applied: false, current: v(10, 'n2') });
        expect(await putStaged('eq', v(10, 'n2'), randomBytes(threshold + 1))).toEqual({ applied: false, current: v(10, 'n2') });
        expect((await store.head(BUCKET, 'eq'))?.record).toEqual(before?.record);
        expect((await body('eq', v(10, 'n2'))).toString()).toBe('first');
      });

      it('orders versions by hlc first, node id only on a tie', async () => {
        expect(await put('o', v(6, 'a'), Buffer.from('six'))).toEqual({ applied: true, current: v(6, 'a') });
        expect(await put('o', v(5, 'zzz'), Buffer.from('five'))).toEqual({ applied: false, current: v(6, 'a') });
        expect(await put('o', v(6, 'b'), Buffer.from('six-b'))).toEqual({ applied: true, current: v(6, 'b') });
        const big = 2 ** 52;
        expect(await put('o', v(big), Buffer.from('big'))).toEqual({ applied: true, current: v(big) });
        expect(await put('o', v(big - 1, 'zzz'), Buffer.from('x'))).toEqual({ applied: false, current: v(big) });
        expect(await put('o', v(big + 1), Buffer.from('big+1'))).toEqual({ applied: true, current: v(big + 1) });
        expect((await store.head(BUCKET, 'o'))?.record.version).toEqual(v(big + 1));
        expect((await body('o', v(big + 1))).toString()).toBe('big+1');
      });

      it('a newer commit replaces everything: body, size, storage and metadata', async () => {
        await putStaged('n', v(1), randomBytes(threshold + 5));
        await put('n', v(2), Buffer.from('tiny'), rich);
        const head = await store.head(BUCKET, 'n', { inlineUpTo: 10 });
        expect(head?.record).toEqual({ ...meta('n', v(2), 4, rich), crc32: crc32(Buffer.from('tiny')), storage: 'inline' });
        expect(Buffer.from(head?.inlineBody ?? []).toString()).toBe('tiny');
        const big = randomBytes(threshold + 9);
        expect(await putStaged('n', v(3), big)).toEqual({ applied: true, current: v(3) });
        expect((await store.head(BUCKET, 'n'))?.record).toMatchObject({ size: big.length, storage: 'blob', crc32: crc32(big), etag: meta('n', v(3), 0).etag });
        expect((await body('n', v(3))).equals(big)).toBe(true);
      });

      it('refuses invalid versions and sizes with InvalidArgument and records nothing', async () => {
        const data = Buffer.from('x');
        for (const bad of [
          { hlc: -1, node: 'n' },
          { hlc: 1.5, node: 'n' },
          { hlc: Number.NaN, node: 'n' },
          { hlc: 1, node: 7 as unknown as string },
        ]) {
          await expect(store.commit(meta('bad', bad, 1), { kind: 'inline', data })).rejects.toMatchObject({ code: 'InvalidArgument' });
        }
        await expect(store.commit(meta('bad', v(1), -1), { kind: 'inline', data })).rejects.toMatchObject({ code: 'InvalidArgument' });
        await expect(store.commit(meta('bad', v(1), 0.5), { kind: 'inline', data })).rejects.toMatchObject({ code: 'InvalidArgument' });
        await expect(store.commit({ ...tombstone('bad', v(1)) }, { kind: 'staged', id: '0123456789abcdef0123456789abcdef' })).rejects.toMatchObject({ code: 'InvalidArgument' });
        await expect(store.commit({ ...meta('bad', v(1), 1), bucket: '' }, { kind: 'inline', data })).rejects.toMatchObject({ code: 'InvalidArgument' });
        expect(await store.head(BUCKET, 'bad')).toBeUndefined();
        expect(await store.commit(meta('ok', v(0), 1), { kind: 'inline', data })).toEqual({ applied: true, current: v(0) });
      });
    });

    describe('rules of tombstones', () => {
      const empty = { kind: 'inline', data: new Uint8Array(0) } as const;

      it('a tombstone hides the key from read but keeps its version in head and list; an older PUT after it is not applied', async () => {
        await putStaged('t', v(1), randomBytes(threshold + 3));
        expect(await store.commit(tombstone('t', v(4)), empty)).toEqual({ applied: true, current: v(4) });
        const expected = { ...tombstone('t', v(4)), crc32: 0, storage: 'inline' };
        expect((await store.head(BUCKET, 't', { inlineUpTo: 1_000_000 })) ?? {}).toEqual({ record: expected });
        expect(await store.list(BUCKET, { limit: 10 })).toEqual([expected]);
        await expect(store.read(BUCKET, 't', v(4))).rejects.toMatchObject({ code: 'NoSuchKey' });
        await expect(store.read(BUCKET, 't', v(4), { start: 0, end: 0 })).rejects.toMatchObject({ code: 'NoSuchKey' });
        await expect(store.read(BUCKET, 't', v(1))).rejects.toMatchObject({ code: 'NoSuchKey' });
        expect(await put('t', v(3), Buffer.from('older'))).toEqual({ applied: false, current: v(4) });
        expect(await putStaged('t', v(2), randomBytes(threshold + 3))).toEqual({ applied: false, current: v(4) });
        expect(await put('t', v(4), Buffer.from('same'))).toEqual({ applied: false, current: v(4) });
        expect(await store.commit(tombstone('t', v(4)), empty)).toEqual({ applied: false, current: v(4) });
        expect(await store.commit(tombstone('t', v(3)), empty)).toEqual({ applied: false, current: v(4) });
        expect((await store.head(BUCKET, 't'))?.record).toEqual(expected);
      });

      it('a tombstone older than the object it would delete is not applied, and the object still reads', async () => {
        await put('live', v(8), Buffer.from('alive'));
        expect(await store.commit(tombstone('live', v(7)), empty)).toEqual({ applied: false, current: v(8) });
        expect((await body('live', v(8))).toString()).toBe('alive');
        expect((await store.list(BUCKET, { limit: 10 })).map((r) => [r.key, r.tombstone])).toEqual([['live', false]]);
      });
    });

    describe('rules of staged bodies', () => {
      it('a staged body is committed once: its id cannot back a second key', async () => {
        const data = randomBytes(threshold + 50);
        const staged = await store.stage(chunks(data, 1000));
        expect(await store.commit(meta('first', v(1), data.length), { kind: 'staged', id: staged.id })).toEqual({ applied: true, current: v(1) });
        await expect(store.commit(meta('second', v(1), data.length), { kind: 'staged', id: staged.id })).rejects.toMatchObject({ code: 'InvalidArgument' });
        expect(await store.head(BUCKET, 'second')).toBeUndefined();
        expect((await body('first', v(1))).equals(data)).toBe(true);
        // A discard of the spent id must not take the committed body with it.
        await store.discard(staged.id);
        expect((await body('first', v(1))).equals(data)).toBe(true);
      });

      it('a small staged body is committed once too', async () => {
        const staged = await store.stage(chunks(Buffer.from('small one'), 3));
        expect(staged).toMatchObject({ size: 9, crc32: crc32(Buffer.from('small one')) });
        await store.commit(meta('s1', v(1), 9), { kind: 'staged', id: staged.id });
        await expect(store.commit(meta('s2', v(1), 9), { kind: 'staged', id: staged.id })).rejects.toMatchObject({ code: 'InvalidArgument' });
        expect((await body('s1', v(1))).toString()).toBe('small one');
      });

      it('commit of an unknown staged id fails with InvalidArgument and leaves the older version in place', async () => {
        await put('u', v(1), Buffer.from('one'));
        await expect(store.commit(meta('u', v(2), 4000), { kind: 'staged', id: 'feedfacefeedfacefeedfacefeedface' })).rejects.toMatchObject({ code: 'InvalidArgument' });
        expect((await store.head(BUCKET, 'u'))?.record.version).toEqual(v(1));
        expect((await body('u', v(1))).toString()).toBe('one');
        await expect(store.commit(meta('fresh', v(2), 4000), { kind: 'staged', id: 'feedfacefeedfacefeedfacefeedface' })).rejects.toMatchObject({ code: 'InvalidArgument' });
        expect(await store.head(BUCKET, 'fresh')).toBeUndefined();
      });

      it('discard removes a staged body: committing it afterwards fails, other stages are untouched', async () => {
        const a = await store.stage(chunks(randomBytes(threshold + 1), 500));
        const keep = randomBytes(threshold + 2);
        const b = await store.stage(chunks(keep, 500));
        expect(a.id).not.toBe(b.id);
        await store.discard(a.id);
        await expect(store.commit(meta('a', v(1), threshold + 1), { kind: 'staged', id: a.id })).rejects.toMatchObject({ code: 'InvalidArgument' });
        expect(await store.commit(meta('b', v(1), keep.length), { kind: 'staged', id: b.id })).toEqual({ applied: true, current: v(1) });
        expect((await body('b', v(1))).equals(keep)).toBe(true);
      });
    });

    describe('rules of reads and heads', () => {
      it('refuses ranges outside the body with InvalidArgument', async () => {
        await put('r', v(1), Buffer.from('0123456789'));
        await put('e', v(1), new Uint8Array(0));
        for (const range of [
          { start: 5, end: 4 },
          { start: -1, end: 3 },
          { start: 0, end: 10 },
          { start: 10, end: 10 },
          { start: 0.5, end: 3 },
          { start: 0, end: Number.NaN },
        ]) {
          await expect(store.read(BUCKET, 'r', v(1), range), JSON.stringify(range)).rejects.toMatchObject({ code: 'InvalidArgument' });
        }
        await expect(store.read(BUCKET, 'e', v(1), { start: 0, end: 0 })).rejects.toMatchObject({ code: 'InvalidArgument' });
        expect((await body('r', v(1), { start: 9, end: 9 })).toString()).toBe('9');
        expect((await body('r', v(1), { start: 3, end: 3 })).toString()).toBe('3');
        expect((await body('r', v(1), { start: 0, end: 9 })).toString()).toBe('0123456789');
      });

      it('reads ranges of a blob committed inline (spilled to a file) at and across block boundaries', async () => {
        const MiB = 1024 * 1024;
        const data = randomBytes(MiB + 1000);
        await put('spill', v(1), data);
        for (const [start, end] of [
          [0, 0],
          [MiB - 1, MiB - 1],
          [MiB - 1, MiB],
          [MiB, MiB],
          [data.length - 1, data.length - 1],
          [0, data.length - 1],
        ] as const) {
          expect((await body('spill', v(1), { start, end })).equals(data.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
        }
      });

      it('head with inlineUpTo returns the body only when it is inline and its size is at most the limit', async () => {
        await put('one', v(1), Buffer.from('a'));
        await put('empty', v(1), new Uint8Array(0));
        await putStaged('blob', v(1), randomBytes(threshold + 1));
        await store.commit(tombstone('dead', v(1)), { kind: 'inline', data: new Uint8Array(0) });
        const parts = [{ bucket: '.parts', key: 'u\u00001', version: v(1), size: 5, etag: 'e1' }];
        await store.commit(meta('mp', v(2), 5, { parts, etag: 'x-1' }), { kind: 'inline', data: new Uint8Array(0) });
        const inlineOf = async (key: string, inlineUpTo?: number) => {
          const head = await store.head(BUCKET, key, inlineUpTo === undefined ? undefined : { inlineUpTo });
          return head?.inlineBody === undefined ? undefined : Buffer.from(head.inlineBody).toString();
        };
        expect(await inlineOf('one', 1)).toBe('a');
        expect(await inlineOf('one', 0)).toBeUndefined();
        expect(await inlineOf('one')).toBeUndefined();
        expect(await inlineOf('empty', 0)).toBe('');
        expect(await inlineOf('blob', 1 << 30)).toBeUndefined();
        expect(await inlineOf('dead', 1 << 30)).toBeUndefined();
        expect(await inlineOf('mp', 1 << 30)).toBeUndefined();
        expect((await store.head(BUCKET, 'mp', { inlineUpTo: 1 << 30 }))?.record).toMatchObject({ parts, size: 5 });
      });

      it('reads only the version asked for', async () => {
        await put('ver', v(5, 'b'), Buffer.from('five'));
        for (const other of [v(5, 'a'), v(5, 'c'), v(4, 'b'), v(6, 'b')]) {
          await expect(store.read(BUCKET, 'ver', other)).rejects.toMatchObject({ code: 'NoSuchKey' });
        }
        expect((await body('ver', v(5, 'b'))).toString()).toBe('five');
      });
    });

    describe('rules of listing', () => {
      it('lists the same records head returns, newest version after an overwrite', async () => {
        await put('a', v(1), Buffer.from('a1'), { userMeta: { x: '1' }, headers: { 'cache-control': 'no-store' }, checksums: { crc32: 'AAAAAA==' } });
        await putStaged('b', v(1), randomBytes(threshold + 1));
        await put('a', v(2), Buffer.from('a22'), { contentType: 'text/a' });
        const records = await store.list(BUCKET, { limit: 10 });
        const heads = await Promise.all(['a', 'b'].map(async (k) => (await store.head(BUCKET, k))?.record));
        expect(records).toEqual(heads);
        expect(records[0]).toEqual({ ...meta('a', v(2), 3, { contentType: 'text/a' }), crc32: crc32(Buffer.from('a22')), storage: 'inline' });
      });

      it('counts tombstones against the limit and skips exactly the keys up to startAfter', async () => {
        await store.commit(tombstone('k1', v(1)), { kind: 'inline', data: new Uint8Array(0) });
        for (const k of ['k2', 'k3', 'k5']) await put(k, v(1), Buffer.from(k));
        const keysOf = async (opts: { prefix?: string; startAfter?: string; limit: number }) => (await store.list(BUCKET, opts)).map((r) => r.key);
        expect(await keysOf({ limit: 2 })).toEqual(['k1', 'k2']);
        expect(await keysOf({ limit: 1 })).toEqual(['k1']);
        expect(await keysOf({ startAfter: 'k2', limit: 10 })).toEqual(['k3', 'k5']);
        expect(await keysOf({ startAfter: 'k4', limit: 10 })).toEqual(['k5']);
        expect(await keysOf({ startAfter: 'k5', limit: 10 })).toEqual([]);
        expect(await keysOf({ startAfter: 'k', limit: 10 })).toEqual(['k1', 'k2', 'k3', 'k5']);
        expect(await keysOf({ startAfter: '', limit: 10 })).toEqual(['k1', 'k2', 'k3', 'k5']);
        expect(await keysOf({ prefix: 'k', startAfter: 'a', limit: 10 })).toEqual(['k1', 'k2', 'k3', 'k5']);
        expect(await keysOf({ prefix: 'k3', limit: 10 })).toEqual(['k3']);
        expect(await keysOf({ prefix: 'k3', startAfter: 'k3', limit: 10 })).toEqual([]);
        expect(await keysOf({ prefix: 'k2', startAfter: 'k1', limit: 10 })).toEqual(['k2']);
      });

      it('refuses a non-integer limit and lone surrogates in prefix or startAfter with InvalidArgument', async () => {
        await expect(store.list(BUCKET, { limit: 1.5 })).rejects.toMatchObject({ code: 'InvalidArgument' });
        await expect(store.list(BUCKET, { prefix: '\ud800', limit: 1 })).rejects.toMatchObject({ code: 'InvalidArgument' });
        await expect(store.list(BUCKET, { startAfter: 'a\udc00', limit: 1 })).rejects.toMatchObject({ code: 'InvalidArgument' });
        await expect(store.list('', { limit: 1 })).rejects.toMatchObject({ code: 'InvalidArgument' });
      });
    });

    describe('arguments and signals', () => {
      it('rejects calls whose signal is already aborted', async () => {
        const signal = AbortSignal.abort();
        await expect(store.head(BUCKET, 'k', {}, signal)).rejects.toMatchObject({ name: 'AbortError' });
        await expect(store.commit(meta('k', v(1), 1), { kind: 'inline', data: Buffer.from('x') }, signal)).rejects.toMatchObject({ name: 'AbortError' });
        expect(await store.head(BUCKET, 'k')).toBeUndefined();
      });

      it('refuses lone surrogates in a bucket or key and a NUL in a bucket with InvalidArgument', async () => {
        await expect(store.head('bad\ud800', 'k')).rejects.toMatchObject({ code: 'InvalidArgument' });
        await expect(store.head(BUCKET, '\udfff')).rejects.toMatchObject({ code: 'InvalidArgument' });
        await expect(store.read('a\0b', 'k', v(1))).rejects.toMatchObject({ code: 'InvalidArgument' });
        await expect(store.commit({ ...meta('k', v(1), 1), bucket: 'x\udc00' }, { kind: 'inline', data: Buffer.from('x') })).rejects.toMatchObject({ code: 'InvalidArgument' });
        await expect(store.commit(meta('\ud83d', v(1), 1), { kind: 'inline', data: Buffer.from('x') })).rejects.toMatchObject({ code: 'InvalidArgument' });
        expect(await put('\ud83d\ude00', v(1), Buffer.from('pair'))).toEqual({ applied: true, current: v(1) });
      });

      it("keeps its own copy of the metadata: changing the caller's objects after a commit changes nothing", async () => {
        const userMeta: Record<string, string> = { a: '1' };
        const headers: Record<string, string> = { 'cache-control': 'no-cache' };
        const checksums: Record<string, string> = { crc32: 'AAAAAA==' };
        const version = { hlc: 4, node: 'n1' };
        const parts = [{ bucket: '.parts', key: 'u\u00001', version: { hlc: 1, node: 'n1' }, size: 2, etag: 'p' }];
        await store.commit(meta('copy', version, 3, { userMeta, headers, checksums }), { kind: 'inline', data: Buffer.from('abc') });
        await store.commit(meta('mcopy', v(1), 2, { parts }), { kind: 'inline', data: new Uint8Array(0) });
        userMeta['a'] = 'changed';
        headers['cache-control'] = 'changed';
        checksums['crc32'] = 'changed';
        version.hlc = 99;
        parts[0]!.version.hlc = 99;
        parts[0]!.size = 99;
        const head = await store.head(BUCKET, 'copy');
        expect(head?.record).toMatchObject({ version: v(4), userMeta: { a: '1' }, headers: { 'cache-control': 'no-cache' }, checksums: { crc32: 'AAAAAA==' } });
        expect((await store.head(BUCKET, 'mcopy'))?.record.parts).toEqual([{ bucket: '.parts', key: 'u\u00001', version: v(1), size: 2, etag: 'p' }]);
      });

      it('rejects a negative list limit', async () => {
        await expect(store.list(BUCKET, { limit: -1 })).rejects.toMatchObject({ code: 'InvalidArgument' });
      });
    });
  });
}
