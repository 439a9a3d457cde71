import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fsckCommand } from '../../../src/cli/commands/fsck.js';
import { checkStore, type FsckReport } from '../../../src/store/fsck.js';
import { LevelStore } from '../../../src/store/level-store.js';
import { decodeValue, encodeValue, listingKey, objectKey } from '../../../src/store/record-codec.js';
import type { ObjectMeta } from '../../../src/store/types.js';
import { cryptoRandom } from '../../../src/util/random.js';
import { capture } from '../cli/capture.js';

const THRESHOLD = 1024;
const BLOB_BYTES = 300 * 1024;

function meta(key: string, hlc: number, size: number, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return { bucket: 'b', key, version: { hlc, node: 'n1' }, tombstone: false, size, etag: 'e', contentType: 'x/y', userMeta: {}, ...extra };
}

async function* once(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

/** The problem kinds of a report with their bucket/key, sorted, for exact comparison. */
function kinds(report: FsckReport): string[] {
  return report.problems.map((p) => `${p.kind} ${p.bucket ?? ''}/${p.key ?? ''}`).sort();
}

describe('checkStore (fsck)', () => {
  let dir: string;

  /** A store with one of each: inline, blob (committed inline and staged), tombstone, multipart manifest, overwrite. */
  async function buildStore(): Promise<void> {
    const store = new LevelStore({ dir, fsync: true, inlineThreshold: THRESHOLD, random: cryptoRandom, blobDeleteDelayMs: 0 });
    await store.open();
    await store.commit(meta('small', 1, 100), { kind: 'inline', data: randomBytes(100) });
    await store.commit(meta('big', 1, BLOB_BYTES), { kind: 'inline', data: randomBytes(BLOB_BYTES) });
    const staged = await store.stage(once(randomBytes(BLOB_BYTES + 7)));
    await store.commit(meta('staged', 1, staged.size), { kind: 'staged', id: staged.id });
    await store.commit(meta('gone', 1, 10), { kind: 'inline', data: randomBytes(10) });
    await store.commit(meta('gone', 2, 0, { tombstone: true }), { kind: 'inline', data: new Uint8Array(0) });
    const parts = [
      { bucket: '.parts', key: 'u1\u00001', version: { hlc: 1, node: 'n1' }, size: 5, etag: 'p1' },
      { bucket: '.parts', key: 'u1\u00002', version: { hlc: 1, node: 'n1' }, size: 3, etag: 'p2' },
    ];
    await store.commit(meta('multi', 1, 8, { parts, etag: 'x-2' }), { kind: 'inline', data: new Uint8Array(0) });
    await store.commit(meta('over', 1, BLOB_BYTES), { kind: 'inline', data: randomBytes(BLOB_BYTES) });
    await store.commit(meta('over', 2, BLOB_BYTES), { kind: 'inline', data: randomBytes(BLOB_BYTES) });
    await store.close();
  }

  async function withDb<T>(fn: (db: ClassicLevel<Buffer, Buffer>) => Promise<T>): Promise<T> {
    const db = new ClassicLevel<Buffer, Buffer>(join(dir, 'meta'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }

  async function blobPath(key: string): Promise<string> {
    const id = await withDb(async (db) => decodeValue('b', key, (await db.get(objectKey('b', key)))!).blobId!);
    return join(dir, 'blobs', id.slice(0, 2), id);
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringstore-fsck-'));
    await buildStore();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds nothing wrong in a clean store and counts what it checked', async () => {
    const report = await checkStore(dir);
    expect(report.problems).toEqual([]);
    expect(report.leftovers).toEqual([]);
    expect(report).toMatchObject({ records: 6, tombstones: 1, multipart: 1, blobs: 3 });
    expect(report.bytesChecked).toBe(100 + BLOB_BYTES + (BLOB_BYTES + 7) + BLOB_BYTES);
  });

  it('reports a flipped byte in a blob as blob-crc', async () => {
    const fh = await open(await blobPath('big'), 'r+');
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, 1234);
    one[0] = one[0]! ^ 0x40;
    await fh.write(one, 0, 1, 1234);
    await fh.close();
    expect(kinds(await checkStore(dir))).toEqual(['blob-crc b/big']);
  });

  it('names the first bad 1 MiB block of a corrupt blob, and reports a copy the store quarantined on read', async () => {
    const store = new LevelStore({ dir, fsync: true, inlineThreshold: THRESHOLD, random: cryptoRandom, blobDeleteDelayMs: 0 });
    await store.open();
    const data = randomBytes(3 * 1024 * 1024);
    const staged = await store.stage(once(data));
    await store.commit(meta('blocks', 1, data.length), { kind: 'staged', id: staged.id });
    await store.close();
    const fh = await open(await blobPath('blocks'), 'r+');
    await fh.write(Buffer.from([data[1_600_000]! ^ 1]), 0, 1, 1_600_000);
    await fh.close();
    const report = await checkStore(dir);
    expect(kinds(report)).toEqual(['blob-crc b/blocks']);
    expect(report.problems[0]!.detail).toContain('first bad 1 MiB block: 1');

    // A read that meets the bad block sets the copy aside; fsck then reports it as quarantined.
    const reopened = new LevelStore({ dir, fsync: true, inlineThreshold: THRESHOLD, random: cryptoRandom, blobDeleteDelayMs: 0 });
    await reopened.open();
    const head = await reopened.head('b', 'blocks');
    const body = await reopened.read('b', 'blocks', head!.record.version);
    await expect(
      (async () => {
        for await (const chunk of body) void chunk;
      })(),
    ).rejects.toMatchObject({ code: 'CorruptBody' });
    await reopened.close();
    expect(kinds(await checkStore(dir))).toEqual(['quarantined b/blocks']);
  });

  it('reports a deleted blob as missing-blob and a truncated one as blob-size', async () => {
    await unlink(await blobPath('big'));
    await truncate(await blobPath('staged'), 1000);
    const report = await checkStore(dir);
    expect(kinds(report)).toEqual(['blob-size b/staged', 'missing-blob b/big']);
    expect(report.leftovers).toEqual([]);
  });

  it('reports unreferenced blob files and temp files as collectable, not as problems; --repair deletes them', async () => {
    const orphan = join(dir, 'blobs', 'ab', 'ab'.padEnd(32, '0'));
    const temp = join(dir, 'blobs', 'cd', `${'cd'.padEnd(32, '1')}.tmp`);
    await writeFile(orphan, randomBytes(2000));
    await writeFile(temp, randomBytes(10));
    const report = await checkStore(dir);
    expect(report.problems).toEqual([]);
    expect(report.leftovers.map((l) => `${l.kind} ${l.path} ${l.size}`).sort()).toEqual([`orphan-blob ${orphan} 2000`, `temp-file ${temp} 10`]);
    const repaired = await checkStore(dir, { repair: true });
    expect(repaired.leftovers.every((l) => l.removed === true)).toBe(true);
    expect((await checkStore(dir)).leftovers).toEqual([]);
  });

  it('reports a record value that does not decode, or breaks an invariant, as bad-record', async () => {
    await withDb(async (db) => {
      await db.put(objectKey('b', 'small'), Buffer.from('garbage'));
      // A tombstone that claims a size: decodes, but cannot be a valid record.
      const value = (await db.get(objectKey('b', 'gone')))!;
      await db.put(objectKey('b', 'gone'), Buffer.from(value.toString('latin1').replace('"n1",1,0,', '"n1",1,5,'), 'latin1'));
    });
    expect(kinds(await checkStore(dir))).toEqual(['bad-record b/gone', 'bad-record b/small']);
  });

  it('reports a changed inline body as inline-crc and a shortened one as inline-size', async () => {
    await withDb(async (db) => {
      const value = (await db.get(objectKey('b', 'small')))!;
      const flipped = Buffer.from(value);
      flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1;
      await db.put(objectKey('b', 'small'), flipped);
      const multi = (await db.get(objectKey('b', 'multi')))!;
      await db.put(objectKey('b', 'multi'), Buffer.concat([multi, Buffer.from('x')]));
    });
    expect(kinds(await checkStore(dir))).toEqual(['inline-crc b/small', 'inline-size b/multi']);
  });

  it('reports listing copies that are missing, differ or stray, and --repair rebuilds them from the records', async () => {
    await withDb(async (db) => {
      await db.del(listingKey('b', 'small'));
      const big = (await db.get(listingKey('b', 'big')))!;
      await db.put(listingKey('b', 'big'), Buffer.from(big.toString('latin1').replace('"x/y"', '"x/z"'), 'latin1'));
      await db.put(listingKey('b', 'nothing'), big);
      await db.put(listingKey('zz', 'last'), big);
    });
    expect(kinds(await checkStore(dir))).toEqual(['listing-missing b/small', 'listing-mismatch b/big', 'listing-stray b/nothing', 'listing-stray zz/last'].sort());
    const repaired = await checkStore(dir, { repair: true });
    expect(repaired.problems.every((p) => p.repaired === true)).toBe(true);
    expect((await checkStore(dir)).problems).toEqual([]);
  });

  it('reports one blob file referenced by two records as blob-shared', async () => {
    await withDb(async (db) => {
      const big = (await db.get(objectKey('b', 'big')))!;
      await db.put(objectKey('b', 'big2'), big);
      await db.put(listingKey('b', 'big2'), (await db.get(listingKey('b', 'big')))!);
    });
    expect(kinds(await checkStore(dir))).toEqual(['blob-shared b/big2']);
  });

  it('refuses a store a running node holds, and a directory without a store', async () => {
    const store = new LevelStore({ dir, fsync: false, random: cryptoRandom });
    await store.open();
    try {
      await expect(checkStore(dir)).rejects.toThrow(/locked: a node is running on it/);
    } finally {
      await store.close();
    }
    await expect(checkStore(join(dir, 'nope'))).rejects.toThrow(/no ringstore store at/);
  });

  it('reports a record under a malformed DB key as bad-key, and still checks the rest', async () => {
    await withDb(async (db) => {
      await db.put(Buffer.concat([Buffer.from([0x6f, 0]), Buffer.from('no-separator')]), Buffer.from('x'));
      await db.put(Buffer.from([0x6f, 0, 0, 0x6b]), Buffer.from('x'));
    });
    const report = await checkStore(dir);
    expect(report.problems.map((p) => [p.kind, p.detail])).toEqual([
      ['bad-key', `malformed record key ${Buffer.from([0x6f, 0, 0, 0x6b]).toString('hex')}`],
      ['bad-key', `malformed record key 6f00${Buffer.from('no-separator').toString('hex')}`],
    ]);
    expect(report).toMatchObject({ records: 8, tombstones: 1, multipart: 1, blobs: 3 });
  });

  it('reports block CRCs that disagree with a blob whose whole CRC matches as block-crc', async () => {
    await withDb(async (db) => {
      const stored = decodeValue('b', 'staged', (await db.get(objectKey('b', 'staged')))!);
      const crcs = Uint32Array.from(stored.blockCrcs!.crcs);
      crcs[0] = crcs[0]! ^ 1;
      await db.put(objectKey('b', 'staged'), encodeValue(stored.record, stored.blobId, undefined, { blockBytes: stored.blockCrcs!.blockBytes, crcs }));
    });
    const report = await checkStore(dir);
    expect(report.problems.map((p) => [p.kind, p.key, p.detail])).toEqual([['block-crc', 'staged', 'block 0 (bytes 0…) differs from its block CRC']]);
    expect(report.problems[0]?.blobId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('repairs listings and leftovers only: a record with a bad body stays as it is, for read repair', async () => {
    const temp = join(dir, 'blobs', 'ee', `${'ee'.repeat(16)}.tmp`);
    await writeFile(temp, 'partial');
    let flipped: Buffer | undefined;
    await withDb(async (db) => {
      flipped = Buffer.from((await db.get(objectKey('b', 'small')))!);
      flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1;
      await db.put(objectKey('b', 'small'), flipped);
      await db.del(listingKey('b', 'big'));
    });
    const repaired = await checkStore(dir, { repair: true });
    expect(repaired.problems.map((p) => [p.kind, p.key, p.repaired])).toEqual([
      ['listing-missing', 'big', true],
      ['inline-crc', 'small', undefined],
    ]);
    expect(repaired.leftovers.map((l) => [l.kind, l.path, l.size, l.removed])).toEqual([['temp-file', temp, 7, true]]);
    const again = await checkStore(dir);
    expect(kinds(again)).toEqual(['inline-crc b/small']);
    expect(again.leftovers).toEqual([]);
    await withDb(async (db) => {
      expect((await db.get(objectKey('b', 'small')))?.equals(flipped!)).toBe(true);
      expect(decodeValue('b', 'big', (await db.get(listingKey('b', 'big')))!).record).toEqual(decodeValue('b', 'big', (await db.get(objectKey('b', 'big')))!).record);
    });
  });

  describe('ringstore fsck', () => {
    it('exits 0 on a clean store with a summary line', async () => {
      const { result, stdout } = await capture(() => fsckCommand.run(['--data', dir]));
      expect(result).toBe(0);
      expect(stdout).toContain('6 records (1 tombstones, 1 multipart), 3 blobs');
      expect(stdout).toContain('problems: none');
    });

    it('exits 1 with one line per problem, and --json gives the same report', async () => {
      await unlink(await blobPath('big'));
      const { result, stdout } = await capture(() => fsckCommand.run(['--data', dir]));
      expect(result).toBe(1);
      expect(stdout).toContain('problems: 1 (missing-blob 1)');
      expect(stdout).toMatch(/^missing-blob b\/big blob [0-9a-f]{32}: blob file not found$/m);
      const json = await capture(() => fsckCommand.run(['--data', dir, '--json']));
      expect(json.result).toBe(1);
      const report = JSON.parse(json.stdout) as FsckReport;
      expect(report.problems).toMatchObject([{ kind: 'missing-blob', bucket: 'b', key: 'big' }]);
    });

    it('exits 2 without --data or when there is no store', async () => {
      expect((await capture(() => fsckCommand.run([]))).result).toBe(2);
      const missing = await capture(() => fsckCommand.run(['--data', join(dir, 'nope')]));
      expect(missing.result).toBe(2);
      expect(missing.stderr).toContain('no ringstore store at');
    });
  });
});
