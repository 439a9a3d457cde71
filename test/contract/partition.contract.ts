/**
 * The LocalStore part of the store contract: the per-partition index and digests, side writes
 * (hints), forget and restart. Registered by storeContract (store.contract.ts) for every store
 * that is a LocalStore; a ReplicaApi over the network skips it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Version } from '../../src/util/clock.js';
import { loadHash64, type Hash64 } from '../../src/util/hash64.js';
import { PARTITION_COUNT, loadKeyPartitioner } from '../../src/util/partition-space.js';
import { leafDigest } from '../../src/store/leaf-digest.js';
import type { LocalStore, ObjectMeta, PartitionEntry, ReplicaApi } from '../../src/store/types.js';

/** What these rules need from the fixture of the running test. */
export interface PartitionFixture {
  readonly store: ReplicaApi & Partial<LocalStore>;
  corrupt?(key: string, offset: number, length: number): Promise<void>;
  /** Closes the store and opens it again on the same data (a restart). */
  restart?(): Promise<void>;
}

const BUCKET = 'bucket';
const v = (hlc: number, node = 'n1'): Version => ({ hlc, node });

function meta(key: string, version: Version, size: number, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return { bucket: BUCKET, key, version, tombstone: false, size, etag: 'e', contentType: 'application/octet-stream', userMeta: {}, ...extra };
}

const byUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** Registers the rules; `current` gives the fixture of the running test. */
export function partitionRules(current: () => PartitionFixture): void {
  describe('partition index, digests and side writes (LocalStore)', () => {
    let partitionOf: (bucket: string, key: string) => number;
    let hash: Hash64;
    /** Seven keys of one partition, found by hashing (for pagination within a partition). */
    let crowd: { p: number; keys: string[] };

    beforeAll(async () => {
      partitionOf = await loadKeyPartitioner();
      hash = await loadHash64();
      const byPartition = new Map<number, string[]>();
      for (let i = 0; ; i++) {
        const key = `crowd/${i}${i % 3 === 0 ? '/é' : ''}`;
        const p = partitionOf(BUCKET, key);
        const keys = byPartition.get(p) ?? [];
        keys.push(key);
        byPartition.set(p, keys);
        if (keys.length === 7) {
          crowd = { p, keys };
          break;
        }
      }
    });

    function local(ctx: { skip: () => void }): LocalStore {
      const store = current().store;
      if (typeof store.partitionDigest !== 'function') ctx.skip();
      return store as LocalStore;
    }

    async function put(store: LocalStore, key: string, version: Version, data: Uint8Array, sideWrites?: { kind: 'hint'; owner: string }[]) {
      return store.commit(meta(key, version, data.byteLength), { kind: 'inline', data }, undefined, sideWrites);
    }

    async function scanAll(store: LocalStore, p: number, limit: number): Promise<PartitionEntry[]> {
      const out: PartitionEntry[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 1000; pages++) {
        const page = await store.scanPartition(p, { limit, ...(after !== undefined && { after }) });
        expect(page.entries.length).toBeLessThanOrEqual(limit);
        out.push(...page.entries);
        if (page.next === undefined) return out;
        after = page.next;
      }
      throw new Error('scan did not end');
    }

    /** The index and digests say exactly what heads say, for `keys` (and nothing else is held). */
    async function expectAgrees(store: LocalStore, keys: readonly string[]): Promise<void> {
      const expected = new Map<number, PartitionEntry[]>();
      for (const key of keys) {
        const record = (await store.head(BUCKET, key))?.record;
        if (record === undefined) continue;
        const p = partitionOf(BUCKET, key);
        const { version, tombstone, storage, size } = record;
        const list = expected.get(p) ?? [];
        list.push({ bucket: BUCKET, key, version, tombstone, storage, size, digest: leafDigest(hash, record) });
        expected.set(p, list);
      }
      for (const key of keys) {
        const p = partitionOf(BUCKET, key);
        const want = (expected.get(p) ?? []).sort((a, b) => byUtf8(`${a.bucket}\0${a.key}`, `${b.bucket}\0${b.key}`));
        expect(await scanAll(store, p, 2)).toEqual(want);
        expect(store.partitionDigest(p)).toBe(want.reduce((x, e) => x ^ e.digest, 0n));
      }
      const all = store.partitionDigests();
      expect(all.length).toBe(PARTITION_COUNT);
      expect(all.filter((d) => d !== 0n).length).toBe(expected.size);
    }

    it('index and digests agree with the records after commits, overwrites, tombstones and refused commits', async (ctx) => {
      const store = local(ctx);
      const keys = ['a', 'b', 'c/ü', '\ud83d\ude00', 'nul\0inside', ...crowd.keys];
      expect(store.partitionDigest(partitionOf(BUCKET, 'a'))).toBe(0n);
      for (const [i, key] of keys.entries()) await put(store, key, v(10 + i), Buffer.from(`body ${i}`));
      await expectAgrees(store, keys);
      const before = store.partitionDigest(partitionOf(BUCKET, 'a'));
      await put(store, 'a', v(50), Buffer.from('newer'));
      expect(store.partitionDigest(partitionOf(BUCKET, 'a'))).not.toBe(before);
      await store.commit(meta('b', v(60), 0, { tombstone: true, etag: '' }), { kind: 'inline', data: new Uint8Array(0) });
      const refused = store.partitionDigest(partitionOf(BUCKET, 'c/ü'));
      expect((await put(store, 'c/ü', v(1), Buffer.from('older'))).applied).toBe(false);
      expect(store.partitionDigest(partitionOf(BUCKET, 'c/ü'))).toBe(refused);
      await expectAgrees(store, keys);
      const tomb = (await store.scanPartition(partitionOf(BUCKET, 'b'), { limit: 100 })).entries.find((e) => e.key === 'b');
      expect(tomb).toMatchObject({ tombstone: true, version: v(60), size: 0 });
    });

    it('the same content gives the same digests whatever the order of writes', async (ctx) => {
      const store = local(ctx);
      await put(store, 'x', v(1), Buffer.from('1'));
      await put(store, 'y', v(2), Buffer.from('2'));
      await put(store, 'x', v(3), Buffer.from('3'));
      const first = Array.from(store.partitionDigests());
      await store.forget(BUCKET, 'x', v(3));
      await store.forget(BUCKET, 'y', v(2));
      expect(store.partitionDigests().every((d) => d === 0n)).toBe(true);
      await put(store, 'x', v(3), Buffer.from('3'));
      await put(store, 'y', v(2), Buffer.from('2'));
      expect(Array.from(store.partitionDigests())).toEqual(first);
    });

    it('scanPartition pages are complete, ordered and end without a cursor', async (ctx) => {
      const store = local(ctx);
      for (const [i, key] of crowd.keys.entries()) await put(store, key, v(i + 1), Buffer.from(key));
      const sorted = [...crowd.keys].sort(byUtf8);
      for (const limit of [1, 2, 3, 7, 100]) expect((await scanAll(store, crowd.p, limit)).map((e) => e.key)).toEqual(sorted);
      const full = await store.scanPartition(crowd.p, { limit: 7 });
      expect(full.next).toBeUndefined();
      const cut = await store.scanPartition(crowd.p, { limit: 3 });
      expect(cut.next).toBeDefined();
      const rest = await store.scanPartition(crowd.p, { limit: 100, after: cut.next ?? '' });
      expect([...cut.entries, ...rest.entries].map((e) => e.key)).toEqual(sorted);
      expect((await store.scanPartition((crowd.p + 1) % PARTITION_COUNT, { limit: 5 })).entries.filter((e) => crowd.keys.includes(e.key))).toEqual([]);
      await expect(store.scanPartition(PARTITION_COUNT, { limit: 1 })).rejects.toMatchObject({ code: 'InvalidArgument' });
      await expect(store.scanPartition(0, { limit: 0 })).rejects.toMatchObject({ code: 'InvalidArgument' });
      expect(() => store.partitionDigest(-1)).toThrow(/partition/);
    });

    it('a quarantined copy changes its leaf; read repair of the same version restores it', async (ctx) => {
      const store = local(ctx);
      const fixture = current();
      if (fixture.corrupt === undefined) ctx.skip();
      const data = Buffer.from('x'.repeat(600));
      await put(store, 'rot', v(7), data);
      const p = partitionOf(BUCKET, 'rot');
      const good = store.partitionDigest(p);
      await fixture.corrupt?.('rot', 10, 1);
      const stream = await store.read(BUCKET, 'rot', v(7)).catch(() => undefined);
      if (stream !== undefined)
        await new Promise<void>((resolve) =>
          stream
            .on('error', () => resolve())
            .on('end', resolve)
            .resume(),
        );
      expect((await store.head(BUCKET, 'rot'))?.record.storage).toBe('quarantined');
      expect(store.partitionDigest(p)).not.toBe(good);
      await expectAgrees(store, ['rot']);
      expect((await store.scanPartition(p, { limit: 10 })).entries.find((e) => e.key === 'rot')?.storage).toBe('quarantined');
      await put(store, 'rot', v(7), data);
      expect(store.partitionDigest(p)).toBe(good);
      await expectAgrees(store, ['rot']);
    });

    it('side writes land with an applied commit only, one hint per (owner, key), dropped only at their version', async (ctx) => {
      const store = local(ctx);
      expect(await put(store, 'h', v(5), Buffer.from('five'), [{ kind: 'hint', owner: 'n2' }])).toEqual({ applied: true, current: v(5) });
      expect((await put(store, 'h', v(4), Buffer.from('four'), [{ kind: 'hint', owner: 'n3' }])).applied).toBe(false);
      expect((await put(store, 'h', v(5), Buffer.from('five'), [{ kind: 'hint', owner: 'n4' }])).applied).toBe(false);
      const { entries } = await store.hints({ limit: 10 });
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ owner: 'n2', bucket: BUCKET, key: 'h', version: v(5), size: 4 });
      expect(typeof entries[0]?.createdMs).toBe('number');
      await put(store, 'h', v(6), Buffer.from('six!!'), [
        { kind: 'hint', owner: 'n2' },
        { kind: 'hint', owner: 'n3' },
      ]);
      await put(store, 'other', v(1), Buffer.from('o'), [{ kind: 'hint', owner: 'n2' }]);
      expect((await store.hints({ owner: 'n2', limit: 10 })).entries.map((h) => [h.key, h.version.hlc])).toEqual([
        ['h', 6],
        ['other', 1],
      ]);
      expect((await store.hints({ owner: 'n3', limit: 10 })).entries.map((h) => h.key)).toEqual(['h']);
      const first = await store.hints({ limit: 2 });
      const second = await store.hints({ limit: 2, after: first.next ?? '' });
      expect([...first.entries, ...second.entries].map((h) => `${h.owner}/${h.key}`)).toEqual(['n2/h', 'n2/other', 'n3/h']);
      expect(second.next).toBeUndefined();
      await store.dropHint('n2', BUCKET, 'h', v(5));
      expect((await store.hints({ owner: 'n2', limit: 10 })).entries).toHaveLength(2);
      await store.dropHint('n2', BUCKET, 'h', v(6));
      expect((await store.hints({ owner: 'n2', limit: 10 })).entries.map((h) => h.key)).toEqual(['other']);
      await expect(put(store, 'bad', v(1), Buffer.from('x'), [{ kind: 'hint', owner: 'a\0b' }])).rejects.toMatchObject({ code: 'InvalidArgument' });
      expect(await store.head(BUCKET, 'bad')).toBeUndefined();
    });

    it('forget removes record, listing, index entry and hints only at the exact version', async (ctx) => {
      const store = local(ctx);
      await put(store, 'f', v(3), Buffer.from('x'.repeat(100_000)), [{ kind: 'hint', owner: 'n2' }]);
      await put(store, 'keep', v(3), Buffer.from('k'));
      const p = partitionOf(BUCKET, 'f');
      expect(await store.forget(BUCKET, 'f', v(2))).toBe(false);
      expect(await store.forget(BUCKET, 'f', v(3, 'n9'))).toBe(false);
      expect(await store.forget(BUCKET, 'nothing', v(3))).toBe(false);
      expect((await store.head(BUCKET, 'f'))?.record.version).toEqual(v(3));
      expect(store.partitionDigest(p)).not.toBe(0n);
      expect(await store.forget(BUCKET, 'f', v(3))).toBe(true);
      expect(await store.head(BUCKET, 'f')).toBeUndefined();
      await expect(store.read(BUCKET, 'f', v(3))).rejects.toMatchObject({ code: 'NoSuchKey' });
      expect((await store.list(BUCKET, { limit: 10 })).map((r) => r.key)).toEqual(['keep']);
      expect((await store.hints({ limit: 10 })).entries).toEqual([]);
      await expectAgrees(store, ['f', 'keep']);
      expect(await store.forget(BUCKET, 'f', v(3))).toBe(false);
      // The key can be written again afterwards, any version.
      expect((await put(store, 'f', v(1), Buffer.from('again'))).applied).toBe(true);
      await expectAgrees(store, ['f', 'keep']);
    });

    it('a restart rebuilds the same digests, index and hints', async (ctx) => {
      const store = local(ctx);
      const fixture = current();
      if (fixture.restart === undefined) ctx.skip();
      const keys = ['r1', 'r2', 'r3', ...crowd.keys];
      for (const [i, key] of keys.entries()) await put(store, key, v(i + 1), Buffer.from(key), i === 0 ? [{ kind: 'hint', owner: 'n5' }] : undefined);
      await store.commit(meta('r2', v(99), 0, { tombstone: true, etag: '' }), { kind: 'inline', data: new Uint8Array(0) });
      const digests = Array.from(store.partitionDigests());
      const scan = await scanAll(store, crowd.p, 3);
      await fixture.restart?.();
      expect(Array.from(store.partitionDigests())).toEqual(digests);
      expect(await scanAll(store, crowd.p, 3)).toEqual(scan);
      await expectAgrees(store, keys);
      expect((await store.hints({ limit: 10 })).entries.map((h) => `${h.owner}/${h.key}`)).toEqual(['n5/r1']);
      // forget after a restart still finds the hints of the key.
      expect(await store.forget(BUCKET, 'r1', v(1))).toBe(true);
      expect((await store.hints({ limit: 10 })).entries).toEqual([]);
    });
  });
}
