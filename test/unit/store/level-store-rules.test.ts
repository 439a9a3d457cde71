/**
 * LevelStore rules checked on disk: what a commit leaves in LevelDB and under blobs/, what a
 * corrupt copy turns into (quarantine mark, evidence file, callback), staged ids that cannot be
 * spent twice, and the lifecycle. LevelDB is opened directly (classic-level) once the store is
 * closed, to look at or alter exactly what is stored.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, readdir, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blockCrcsOf } from '../../../src/store/block-crcs.js';
import { LevelStore, type LevelStoreOptions, type QuarantineInfo } from '../../../src/store/level-store.js';
import { decodeValue, listingKey, objectKey } from '../../../src/store/record-codec.js';
import type { ObjectMeta } from '../../../src/store/types.js';
import type { Version } from '../../../src/util/clock.js';
import type { Logger } from '../../../src/util/logger.js';
import { crc32 } from '../../../src/util/crc.js';
import { cryptoRandom } from '../../../src/util/random.js';

const THRESHOLD = 1024;
const HOUR = 60 * 60 * 1000;

const v = (hlc: number): Version => ({ hlc, node: 'n1' });

function meta(key: string, version: Version, size: number, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return { bucket: 'b', key, version, tombstone: false, size, etag: 'e', contentType: 'x/y', userMeta: {}, ...extra };
}

async function* once(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

describe('LevelStore on disk', () => {
  let dir: string;
  let store: LevelStore;
  let quarantined: QuarantineInfo[];

  async function start(options: Partial<LevelStoreOptions> = {}): Promise<LevelStore> {
    store = new LevelStore({ dir, fsync: false, inlineThreshold: THRESHOLD, random: cryptoRandom, onQuarantine: (info) => quarantined.push(info), ...options });
    await store.open();
    return store;
  }

  /** Runs `fn` on the store's LevelDB with the store closed (LevelDB locks its files), then reopens the store. */
  async function withDb<T>(fn: (db: ClassicLevel<Buffer, Buffer>) => Promise<T>): Promise<T> {
    await store.close();
    const db = new ClassicLevel<Buffer, Buffer>(join(dir, 'meta'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    try {
      return await fn(db);
    } finally {
      await db.close();
      await store.open();
    }
  }

  async function blobFiles(): Promise<string[]> {
    const entries = await readdir(join(dir, 'blobs'), { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort();
  }

  async function quarantineFiles(): Promise<string[]> {
    return readdir(join(dir, 'quarantine')).catch(() => []);
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringstore-rules-'));
    quarantined = [];
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('what a commit stores', () => {
    it('writes the record with its inline body and a listing copy without it, both the same record', async () => {
      await start();
      const data = Buffer.from('inline body bytes');
      await store.commit(meta('k', v(3), data.length, { userMeta: { a: '1' } }), { kind: 'inline', data });
      const [record, listed] = await withDb(async (db) => [decodeValue('b', 'k', (await db.get(objectKey('b', 'k')))!), decodeValue('b', 'k', (await db.get(listingKey('b', 'k')))!)]);
      expect(record?.record).toEqual({ ...meta('k', v(3), data.length, { userMeta: { a: '1' } }), crc32: crc32(data), storage: 'inline' });
      expect(Buffer.from(record!.inline!).equals(data)).toBe(true);
      expect(listed?.record).toEqual(record?.record);
      expect(listed?.inline?.byteLength).toBe(0);
      expect(await blobFiles()).toEqual([]);
    });

    it('writes a blob body to exactly one complete file named in the record, with its block CRCs', async () => {
      await start();
      const data = randomBytes(2 * 1024 * 1024 + 10);
      const staged = await store.stage(once(data));
      await store.commit(meta('big', v(1), data.length), { kind: 'staged', id: staged.id });
      expect(await blobFiles()).toEqual([staged.id]);
      expect((await readFile(join(dir, 'blobs', staged.id.slice(0, 2), staged.id))).equals(data)).toBe(true);
      const [record, listed] = await withDb(async (db) => [decodeValue('b', 'big', (await db.get(objectKey('b', 'big')))!), decodeValue('b', 'big', (await db.get(listingKey('b', 'big')))!)]);
      expect(record).toMatchObject({ blobId: staged.id, record: { storage: 'blob', size: data.length, crc32: crc32(data) } });
      expect([...(record?.blockCrcs?.crcs ?? [])]).toEqual([...blockCrcsOf(data).crcs]);
      expect(listed).toEqual({ record: record?.record, blobId: staged.id });
    });

    it('spills a large inline commit to a blob file with block CRCs', async () => {
      await start();
      const data = randomBytes(THRESHOLD + 1);
      await store.commit(meta('spill', v(1), data.length), { kind: 'inline', data });
      const [file] = await blobFiles();
      const stored = await withDb(async (db) => decodeValue('b', 'spill', (await db.get(objectKey('b', 'spill')))!));
      expect(stored.blobId).toBe(file);
      expect([...(stored.blockCrcs?.crcs ?? [])]).toEqual([crc32(data)]);
      expect((await readFile(join(dir, 'blobs', file!.slice(0, 2), file!))).equals(data)).toBe(true);
    });

    it('deletes the replaced blob of an applied overwrite and keeps it when the commit is not applied', async () => {
      await start({ blobDeleteDelayMs: 0 });
      const data = randomBytes(THRESHOLD + 10);
      const staged = await store.stage(once(data));
      await store.commit(meta('k', v(5), data.length), { kind: 'staged', id: staged.id });
      expect((await store.commit(meta('k', v(4), 1), { kind: 'inline', data: Buffer.from('x') })).applied).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(await blobFiles()).toEqual([staged.id]);
      expect((await store.commit(meta('k', v(6), 1), { kind: 'inline', data: Buffer.from('y') })).applied).toBe(true);
      const deadline = Date.now() + 3000;
      while ((await blobFiles()).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await blobFiles()).toEqual([]);
    });

    it('keeps a replaced blob whose delete is pending out of orphan collection', async () => {
      await start({ blobDeleteDelayMs: HOUR });
      const staged = await store.stage(once(randomBytes(THRESHOLD + 10)));
      await store.commit(meta('k', v(1), THRESHOLD + 10), { kind: 'staged', id: staged.id });
      await store.commit(meta('k', v(2), 0, { tombstone: true }), { kind: 'inline', data: new Uint8Array(0) });
      const old = new Date(Date.now() - 2 * HOUR);
      await utimes(join(dir, 'blobs', staged.id.slice(0, 2), staged.id), old, old);
      expect(await store.collectOrphans({ olderThanMs: 0 })).toEqual({ temp: 0, staged: 0, unreferenced: 0 });
      expect(await blobFiles()).toEqual([staged.id]);
    });
  });

  describe('corrupt copies', () => {
    async function alterInline(key: string, offset: number): Promise<void> {
      await withDb(async (db) => {
        const value = Buffer.from((await db.get(objectKey('b', key)))!);
        const size = decodeValue('b', key, value).record.size;
        value[value.length - size + offset] = value[value.length - size + offset]! ^ 0x01;
        await db.put(objectKey('b', key), value);
      });
    }

    it.each([
      ['a full read', undefined],
      ['a range read', { start: 2, end: 3 }],
    ])('refuses %s of an inline body altered in LevelDB with CorruptBody and quarantines it: mark, evidence, callback', async (_name, range) => {
      await start();
      const data = randomBytes(200);
      await store.commit(meta('k', v(9), data.length), { kind: 'inline', data });
      await alterInline('k', 150);
      const altered = Buffer.from(data);
      altered[150] = altered[150]! ^ 0x01;
      await expect(readAll(await store.read('b', 'k', v(9), range))).rejects.toMatchObject({ code: 'CorruptBody', details: { bucket: 'b', key: 'k', version: v(9) } });
      expect(quarantined).toEqual([{ bucket: 'b', key: 'k', storage: 'inline', reason: 'stored body does not match its checksum' }]);
      const evidence = await quarantineFiles();
      expect(evidence).toHaveLength(1);
      expect(evidence[0]).toMatch(/^inline-\d+-[0-9a-f]+$/);
      expect((await readFile(join(dir, 'quarantine', evidence[0]!))).equals(altered)).toBe(true);
      const [record, listed] = await withDb(async (db) => [decodeValue('b', 'k', (await db.get(objectKey('b', 'k')))!), decodeValue('b', 'k', (await db.get(listingKey('b', 'k')))!)]);
      expect(record).toEqual({ record: { ...meta('k', v(9), 200), crc32: crc32(data), storage: 'quarantined' } });
      expect(listed).toEqual(record);
      // A quarantined copy refuses reads at once and is quarantined only once.
      await expect(store.read('b', 'k', v(9))).rejects.toMatchObject({ code: 'CorruptBody' });
      expect(quarantined).toHaveLength(1);
      // Read repair brings the good copy back under the same version.
      expect(await store.commit(meta('k', v(9), data.length), { kind: 'inline', data })).toEqual({ applied: true, current: v(9) });
      expect((await readAll(await store.read('b', 'k', v(9)))).equals(data)).toBe(true);
    });

    it('refuses an inline body whose stored length differs from the record with CorruptBody', async () => {
      await start();
      await store.commit(meta('k', v(1), 4), { kind: 'inline', data: Buffer.from('abcd') });
      await withDb(async (db) => {
        const value = (await db.get(objectKey('b', 'k')))!;
        await db.put(objectKey('b', 'k'), value.subarray(0, value.length - 1));
      });
      expect((await store.head('b', 'k', { inlineUpTo: 100 }))?.inlineBody).toBeUndefined();
      await expect(readAll(await store.read('b', 'k', v(1)))).rejects.toMatchObject({ code: 'CorruptBody' });
      expect((await store.head('b', 'k'))?.record.storage).toBe('quarantined');
    });

    it('quarantines a blob whose file is missing, moving nothing, and one whose length differs, moving the file', async () => {
      await start();
      const a = await store.stage(once(randomBytes(THRESHOLD + 1)));
      const b = await store.stage(once(randomBytes(THRESHOLD + 2)));
      await store.commit(meta('gone', v(1), THRESHOLD + 1), { kind: 'staged', id: a.id });
      await store.commit(meta('short', v(1), THRESHOLD + 2), { kind: 'staged', id: b.id });
      await rm(join(dir, 'blobs', a.id.slice(0, 2), a.id));
      const fh = await open(join(dir, 'blobs', b.id.slice(0, 2), b.id), 'r+');
      await fh.truncate(10);
      await fh.close();
      await expect(readAll(await store.read('b', 'gone', v(1)))).rejects.toMatchObject({ code: 'CorruptBody', details: { blobId: a.id } });
      await expect(readAll(await store.read('b', 'short', v(1), { start: 0, end: 0 }))).rejects.toMatchObject({ code: 'CorruptBody', details: { blobId: b.id } });
      expect(quarantined).toEqual([
        { bucket: 'b', key: 'gone', storage: 'blob', reason: 'blob file missing' },
        { bucket: 'b', key: 'short', storage: 'blob', reason: 'blob file length differs from record' },
      ]);
      expect(await quarantineFiles()).toEqual([b.id]);
      expect(await blobFiles()).toEqual([]);
      expect((await store.list('b', { limit: 10 })).map((r) => [r.key, r.storage, r.version.hlc])).toEqual([
        ['gone', 'quarantined', 1],
        ['short', 'quarantined', 1],
      ]);
    });

    it('quarantines a blob whose block fails its CRC on a ranged read, moving the file', async () => {
      await start();
      const data = randomBytes(1024 * 1024 + 5000);
      const staged = await store.stage(once(data));
      await store.commit(meta('k', v(2), data.length), { kind: 'staged', id: staged.id });
      const fh = await open(join(dir, 'blobs', staged.id.slice(0, 2), staged.id), 'r+');
      await fh.write(Buffer.from([data[1024 * 1024 + 10]! ^ 0xff]), 0, 1, 1024 * 1024 + 10);
      await fh.close();
      expect((await readAll(await store.read('b', 'k', v(2), { start: 0, end: 99 }))).equals(data.subarray(0, 100))).toBe(true);
      expect(quarantined).toEqual([]);
      await expect(readAll(await store.read('b', 'k', v(2), { start: data.length - 1, end: data.length - 1 }))).rejects.toMatchObject({
        code: 'CorruptBody',
        details: { block: 1, resumable: true, blobId: staged.id },
      });
      expect(quarantined).toEqual([{ bucket: 'b', key: 'k', storage: 'blob', reason: 'stored body does not match its block checksum' }]);
      expect(await quarantineFiles()).toEqual([staged.id]);
    });

    it('reads a garbled record as CorruptBody in head, read, commit and list', async () => {
      await start();
      await store.commit(meta('k', v(1), 1), { kind: 'inline', data: Buffer.from('x') });
      await withDb(async (db) => {
        const value = Buffer.from((await db.get(objectKey('b', 'k')))!);
        await db.put(objectKey('b', 'k'), value.subarray(0, 12));
        await db.put(listingKey('b', 'k'), Buffer.concat([Buffer.from([1, 0, 0, 0, 2]), Buffer.from('{}')]));
      });
      await expect(store.head('b', 'k')).rejects.toMatchObject({ code: 'CorruptBody' });
      await expect(store.read('b', 'k', v(1))).rejects.toMatchObject({ code: 'CorruptBody' });
      await expect(store.commit(meta('k', v(2), 1), { kind: 'inline', data: Buffer.from('y') })).rejects.toMatchObject({ code: 'CorruptBody' });
      await expect(store.list('b', { limit: 10 })).rejects.toMatchObject({ code: 'CorruptBody' });
    });
  });

  describe('logs', () => {
    function capture(): { logger: Logger; lines: { level: string; bindings: Record<string, unknown>; obj: Record<string, unknown>; msg: string | undefined }[] } {
      const lines: { level: string; bindings: Record<string, unknown>; obj: Record<string, unknown>; msg: string | undefined }[] = [];
      const make = (bindings: Record<string, unknown>): Logger => ({
        debug: (obj: object, msg?: string) => lines.push({ level: 'debug', bindings, obj: obj as Record<string, unknown>, msg }),
        info: (obj: object, msg?: string) => lines.push({ level: 'info', bindings, obj: obj as Record<string, unknown>, msg }),
        warn: (obj: object, msg?: string) => lines.push({ level: 'warn', bindings, obj: obj as Record<string, unknown>, msg }),
        error: (obj: object, msg?: string) => lines.push({ level: 'error', bindings, obj: obj as Record<string, unknown>, msg }),
        child: (more: Record<string, unknown>) => make({ ...bindings, ...more }),
      });
      return { logger: make({}), lines };
    }

    it('logs a quarantined copy at error level with its version, reason and where the evidence went', async () => {
      const { logger, lines } = capture();
      await start({ logger });
      const staged = await store.stage(once(randomBytes(THRESHOLD + 1)));
      await store.commit(meta('k', v(3), THRESHOLD + 1), { kind: 'staged', id: staged.id });
      await rm(join(dir, 'blobs', staged.id.slice(0, 2), staged.id));
      await expect(readAll(await store.read('b', 'k', v(3)))).rejects.toMatchObject({ code: 'CorruptBody' });
      const logged = lines.filter((l) => l.level === 'error');
      expect(logged).toEqual([
        {
          level: 'error',
          bindings: { component: 'store' },
          obj: { bucket: 'b', key: 'k', version: v(3), blobId: staged.id, reason: 'blob file missing', evidence: undefined },
          msg: 'corrupt copy quarantined until read repair restores it',
        },
      ]);
    });

    it('logs what an orphan collection deleted, and nothing when it deleted nothing', async () => {
      const { logger, lines } = capture();
      await start({ logger });
      expect(await store.collectOrphans({ olderThanMs: 0 })).toEqual({ temp: 0, staged: 0, unreferenced: 0 });
      expect(lines.filter((l) => l.msg === 'collected orphaned blob files')).toEqual([]);
      await store.stage(once(randomBytes(10)));
      expect(await store.collectOrphans({ olderThanMs: 0 })).toEqual({ temp: 0, staged: 1, unreferenced: 0 });
      expect(lines.filter((l) => l.msg === 'collected orphaned blob files')).toEqual([
        { level: 'info', bindings: { component: 'store' }, obj: { staged: 1, temp: 0, unreferenced: 0 }, msg: 'collected orphaned blob files' },
      ]);
    });
  });

  describe('staged ids', () => {
    it('refuses a second commit of a staged id while the first is running, and a discard meanwhile changes nothing', async () => {
      await start();
      const data = randomBytes(THRESHOLD + 100);
      const staged = await store.stage(once(data));
      const first = store.commit(meta('one', v(1), data.length), { kind: 'staged', id: staged.id });
      const second = store.commit(meta('two', v(1), data.length), { kind: 'staged', id: staged.id });
      const discard = store.discard(staged.id);
      await expect(second).rejects.toMatchObject({ code: 'InvalidArgument', message: 'staged body is already being committed' });
      expect(await first).toEqual({ applied: true, current: v(1) });
      await discard;
      expect(await blobFiles()).toEqual([staged.id]);
      expect((await readAll(await store.read('b', 'one', v(1)))).equals(data)).toBe(true);
      expect(await store.head('b', 'two')).toBeUndefined();
    });

    it('refuses a small staged body altered on disk before its commit with CorruptBody, and still lets it be discarded', async () => {
      await start();
      const staged = await store.stage(once(Buffer.from('small body')));
      const fh = await open(join(dir, 'blobs', staged.id.slice(0, 2), staged.id), 'r+');
      await fh.write(Buffer.from('S'), 0, 1, 0);
      await fh.close();
      await expect(store.commit(meta('k', v(1), 10), { kind: 'staged', id: staged.id })).rejects.toMatchObject({ code: 'CorruptBody' });
      expect(await store.head('b', 'k')).toBeUndefined();
      await store.discard(staged.id);
      expect(await blobFiles()).toEqual([]);
    });

    it('keeps the staged file when its commit names the wrong size, so the stage can still be committed', async () => {
      await start();
      const data = randomBytes(THRESHOLD + 7);
      const staged = await store.stage(once(data));
      await expect(store.commit(meta('k', v(1), data.length + 1), { kind: 'staged', id: staged.id })).rejects.toMatchObject({
        code: 'InvalidArgument',
        message: 'staged body size differs from meta.size',
      });
      expect(await blobFiles()).toEqual([staged.id]);
      expect(await store.commit(meta('k', v(1), data.length), { kind: 'staged', id: staged.id })).toEqual({ applied: true, current: v(1) });
    });

    it('forgets stages across a restart (a new store on the same dir): committing one afterwards is InvalidArgument', async () => {
      await start();
      const staged = await store.stage(once(randomBytes(THRESHOLD + 7)));
      await store.close();
      await start();
      await expect(store.commit(meta('k', v(1), THRESHOLD + 7), { kind: 'staged', id: staged.id })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'unknown staged body' });
      expect(await blobFiles()).toEqual([staged.id]);
    });
  });

  describe('lifecycle', () => {
    it('opens and closes idempotently, and keeps what was committed', async () => {
      const unopened = new LevelStore({ dir, fsync: false, random: cryptoRandom });
      await expect(unopened.head('b', 'k')).rejects.toMatchObject({ code: 'StoreClosed', message: 'store is not open' });
      // classic-level opens its DB on construction; open and close it so the next store gets the lock.
      await unopened.open();
      await unopened.close();
      await start();
      await store.open();
      await store.commit(meta('k', v(1), 1), { kind: 'inline', data: Buffer.from('x') });
      await store.close();
      await store.close();
      await expect(store.commit(meta('k', v(2), 1), { kind: 'inline', data: Buffer.from('y') })).rejects.toMatchObject({ code: 'StoreClosed', message: 'store is closed' });
      await store.open();
      expect((await store.head('b', 'k'))?.record.version).toEqual(v(1));
      expect(store.writeProblem()).toBeUndefined();
    });

    it('waits for running calls on close, and refuses new ones meanwhile', async () => {
      await start({ fsync: true });
      const commits = Array.from({ length: 8 }, (_, i) => store.commit(meta(`k${i}`, v(1), 1), { kind: 'inline', data: Buffer.from(`${i}`) }));
      const closing = store.close();
      await expect(store.head('b', 'k0')).rejects.toMatchObject({ code: 'StoreClosed' });
      await expect(store.open()).rejects.toMatchObject({ code: 'StoreClosed', message: 'store is closing' });
      await closing;
      expect((await Promise.all(commits)).every((r) => r.applied)).toBe(true);
      await store.open();
      expect((await store.list('b', { limit: 10 })).map((r) => r.key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
    });

    it('refuses calls whose signal is aborted with the signal reason, before doing anything', async () => {
      await start();
      const reason = new Error('deadline');
      const signal = AbortSignal.abort(reason);
      await expect(store.stage(once(Buffer.from('x')), signal)).rejects.toBe(reason);
      await expect(store.commit(meta('k', v(1), 1), { kind: 'inline', data: Buffer.from('x') }, signal)).rejects.toBe(reason);
      await expect(store.read('b', 'k', v(1), undefined, signal)).rejects.toBe(reason);
      await expect(store.list('b', { limit: 1 }, signal)).rejects.toBe(reason);
      await expect(store.discard('ab'.repeat(16), signal)).rejects.toBe(reason);
      expect(await blobFiles()).toEqual([]);
      expect(await store.head('b', 'k')).toBeUndefined();
      await expect(stat(join(dir, 'quarantine'))).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });
});
