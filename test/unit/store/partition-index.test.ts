/**
 * LevelStore's partition index on disk: a data dir written before the index existed (or whose
 * index build was interrupted) gets it built at open, and the injected partition function is
 * the one used. The layout itself (partition-codec.ts) round-trips.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LevelStore } from '../../../src/store/level-store.js';
import { INDEX_MARKER_KEY, allPartitionsBounds, decodeHint, decodeLeaf, encodeHint, encodeLeaf, hintKey, partitionIndexKey } from '../../../src/store/partition-codec.js';
import type { ObjectMeta } from '../../../src/store/types.js';
import { cryptoRandom } from '../../../src/util/random.js';

function meta(key: string, hlc: number, size: number): ObjectMeta {
  return { bucket: 'b', key, version: { hlc, node: 'n1' }, tombstone: false, size, etag: 'e', contentType: 'x/y', userMeta: {} };
}

async function rawDb(dir: string, fn: (db: ClassicLevel<Buffer, Buffer>) => Promise<void>): Promise<void> {
  const db = new ClassicLevel<Buffer, Buffer>(join(dir, 'meta'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

describe('LevelStore partition index', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringstore-pindex-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function fill(): Promise<{ digests: bigint[]; scans: string[][] }> {
    const store = new LevelStore({ dir, fsync: false, random: cryptoRandom });
    await store.open();
    const keys = Array.from({ length: 300 }, (_, i) => `k/${i}`);
    for (const [i, key] of keys.entries()) await store.commit(meta(key, i + 1, 3), { kind: 'inline', data: Buffer.from('abc') });
    await store.commit({ ...meta('k/5', 1000, 0), tombstone: true }, { kind: 'inline', data: new Uint8Array(0) });
    const digests = Array.from(store.partitionDigests());
    const touched = digests.flatMap((d, p) => (d === 0n ? [] : [p]));
    const scans = await Promise.all(touched.map(async (p) => (await store.scanPartition(p, { limit: 100 })).entries.map((e) => `${e.key}@${e.version.hlc}:${e.digest}`)));
    await store.close();
    return { digests, scans };
  }

  it('builds the index of a data dir that has none (no marker), once, with the same digests', async () => {
    const before = await fill();
    await rawDb(dir, async (db) => {
      await db.clear(allPartitionsBounds());
      await db.del(INDEX_MARKER_KEY);
    });
    const store = new LevelStore({ dir, fsync: false, random: cryptoRandom });
    await store.open();
    try {
      expect(Array.from(store.partitionDigests())).toEqual(before.digests);
      const touched = before.digests.flatMap((d, p) => (d === 0n ? [] : [p]));
      const scans = await Promise.all(touched.map(async (p) => (await store.scanPartition(p, { limit: 100 })).entries.map((e) => `${e.key}@${e.version.hlc}:${e.digest}`)));
      expect(scans).toEqual(before.scans);
    } finally {
      await store.close();
    }
    await rawDb(dir, async (db) => {
      expect(await db.get(INDEX_MARKER_KEY)).toBeDefined();
    });
  });

  it('an interrupted build (no marker, some stale entries) starts over at open', async () => {
    const before = await fill();
    await rawDb(dir, async (db) => {
      await db.del(INDEX_MARKER_KEY);
      const ghost = { bucket: 'b', key: 'ghost', version: { hlc: 1, node: 'n1' }, tombstone: false, storage: 'inline' as const, size: 1, digest: 12345n };
      await db.put(partitionIndexKey(9, 'b', 'ghost'), encodeLeaf(ghost));
    });
    const store = new LevelStore({ dir, fsync: false, random: cryptoRandom });
    await store.open();
    try {
      expect(Array.from(store.partitionDigests())).toEqual(before.digests);
      expect((await store.scanPartition(9, { limit: 100 })).entries.map((e) => e.key)).not.toContain('ghost');
    } finally {
      await store.close();
    }
  });

  it('uses the injected partition function', async () => {
    const store = new LevelStore({ dir, fsync: false, random: cryptoRandom, partitionOf: () => 7 });
    await store.open();
    try {
      for (const key of ['x', 'y', 'z']) await store.commit(meta(key, 1, 1), { kind: 'inline', data: Buffer.from('1') });
      expect((await store.scanPartition(7, { limit: 10 })).entries.map((e) => e.key)).toEqual(['x', 'y', 'z']);
      expect(Array.from(store.partitionDigests()).filter((d) => d !== 0n)).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});

describe('partition-codec', () => {
  it('round-trips leaves and hints, names with NUL and astral characters included', () => {
    const leaf = { bucket: 'bü', key: 'a\0😀', version: { hlc: 2 ** 50 + 3, node: 'node-ä' }, tombstone: true, storage: 'quarantined' as const, size: 2 ** 40, digest: 2n ** 64n - 1n };
    expect(decodeLeaf(partitionIndexKey(65_535, leaf.bucket, leaf.key), encodeLeaf(leaf))).toEqual(leaf);
    const hint = { owner: 'n2', bucket: 'b', key: 'k\0z', version: { hlc: 5, node: 'n1' }, size: 7, createdMs: 1_700_000_000_000 };
    expect(decodeHint(hintKey(hint.owner, hint.bucket, hint.key), encodeHint(hint))).toEqual(hint);
  });
});
