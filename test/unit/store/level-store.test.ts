import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LevelStore } from '../../../src/store/level-store.js';
import type { LevelStoreOptions } from '../../../src/store/level-store.js';
import type { ObjectMeta } from '../../../src/store/types.js';
import type { Version } from '../../../src/util/clock.js';
import { cryptoRandom } from '../../../src/util/random.js';
import { ClassicLevel } from 'classic-level';
import { decodeValue, encodeValue, objectKey } from '../../../src/store/record-codec.js';

const THRESHOLD = 1024;
const HOUR = 60 * 60 * 1000;

function v(hlc: number): Version {
  return { hlc, node: 'n1' };
}

function meta(key: string, version: Version, size: number, tombstone = false): ObjectMeta {
  return { bucket: 'b', key, version, tombstone, size, etag: 'e', contentType: 'x/y', userMeta: {} };
}

async function* once(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function walk(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name)));
}

async function blobFiles(dir: string): Promise<string[]> {
  return (await walk(join(dir, 'blobs'))).sort();
}

describe('LevelStore', () => {
  let dir: string;
  let stores: LevelStore[];

  async function openStore(options: Partial<LevelStoreOptions> = {}): Promise<LevelStore> {
    const store = new LevelStore({ dir, fsync: false, inlineThreshold: THRESHOLD, random: cryptoRandom, ...options });
    await store.open();
    stores.push(store);
    return store;
  }

  async function putBlob(store: LevelStore, key: string, version: Version, data: Uint8Array) {
    const staged = await store.stage(once(data));
    return store.commit(meta(key, version, data.length), { kind: 'staged', id: staged.id });
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringstore-level-'));
    stores = [];
  });

  afterEach(async () => {
    for (const s of stores) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps records and bodies across close and reopen', async () => {
    const big = randomBytes(200_000);
    const first = await openStore({ fsync: true });
    await first.commit(meta('small', v(1), 3), { kind: 'inline', data: Buffer.from('abc') });
    await putBlob(first, 'big', v(2), big);
    await first.commit(meta('gone', v(3), 0, true), { kind: 'inline', data: new Uint8Array(0) });
    await first.close();

    const second = await openStore();
    expect((await second.list('b', { limit: 10 })).map((r) => [r.key, r.tombstone, r.storage])).toEqual([
      ['big', false, 'blob'],
      ['gone', true, 'inline'],
      ['small', false, 'inline'],
    ]);
    expect((await readAll(await second.read('b', 'small', v(1)))).toString()).toBe('abc');
    expect((await readAll(await second.read('b', 'big', v(2)))).equals(big)).toBe(true);
    await second.close();

    await second.open();
    expect((await second.head('b', 'small'))?.record.version).toEqual(v(1));
  });

  it('refuses calls before open and after close with StoreClosed', async () => {
    const store = new LevelStore({ dir, fsync: false, random: cryptoRandom });
    await expect(store.head('b', 'k')).rejects.toMatchObject({ code: 'StoreClosed' });
    await store.open();
    await store.close();
    await expect(store.head('b', 'k')).rejects.toMatchObject({ code: 'StoreClosed' });
    await expect(store.stage(once(Buffer.from('x')))).rejects.toMatchObject({ code: 'StoreClosed' });
  });

  describe('corruption', () => {
    async function corruptedBlob(change: (path: string) => Promise<void>) {
      const store = await openStore();
      const data = randomBytes(3 * 1024 * 1024 + 17);
      await putBlob(store, 'k', v(1), data);
      const [file] = await blobFiles(dir);
      await change(join(dir, 'blobs', file ?? ''));
      return { store, data };
    }

    it('fails a full read with CorruptBody when a byte flips on disk; ranges elsewhere still read', async () => {
      const { store, data } = await corruptedBlob(async (path) => {
        const fh = await open(path, 'r+');
        const byte = Buffer.alloc(1);
        await fh.read(byte, 0, 1, 2_000_000);
        byte[0] = (byte[0] ?? 0) ^ 0x01;
        await fh.write(byte, 0, 1, 2_000_000);
        await fh.close();
      });
      // A range in other blocks is checked and served; one in the flipped block is refused.
      expect(await readAll(await store.read('b', 'k', v(1), { start: 10, end: 20 }))).toEqual(data.subarray(10, 21));
      await expect(readAll(await store.read('b', 'k', v(1), { start: 1_999_990, end: 2_000_010 }))).rejects.toMatchObject({ code: 'CorruptBody' });
      // The copy is quarantined: the record keeps its version but no body, until read repair.
      expect((await store.head('b', 'k'))?.record.storage).toBe('quarantined');
      expect((await walk(dir)).filter((f) => f.startsWith('quarantine/'))).toHaveLength(1);
    });

    it('fails a full read at the first bad block, having handed out only the checked blocks before it', async () => {
      const { store, data } = await corruptedBlob(async (path) => {
        const fh = await open(path, 'r+');
        await fh.write(Buffer.alloc(16, 0xee), 0, 16, 2_500_000);
        await fh.close();
      });
      const got: Buffer[] = [];
      const stream = await store.read('b', 'k', v(1));
      await expect(
        (async () => {
          for await (const chunk of stream) got.push(Buffer.from(chunk as Uint8Array));
        })(),
      ).rejects.toMatchObject({ code: 'CorruptBody', details: { block: 2, resumable: true } });
      const served = Buffer.concat(got);
      expect(served.length).toBe(2 * 1024 * 1024);
      expect(served.equals(data.subarray(0, served.length))).toBe(true);
    });

    it('reads a blob recorded before block CRCs: ranges as stored, full reads checked by the whole CRC', async () => {
      const { store, data } = await corruptedBlob(async (path) => {
        const fh = await open(path, 'r+');
        await fh.write(Buffer.alloc(16, 0xee), 0, 16, 2_000_000);
        await fh.close();
      });
      // Rewrite the record as an older version of the store wrote it: no block CRCs.
      await store.close();
      const db = new ClassicLevel<Buffer, Buffer>(join(dir, 'meta'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      const stored = decodeValue('b', 'k', (await db.get(objectKey('b', 'k')))!);
      expect(stored.blockCrcs?.crcs.length).toBe(4);
      await db.put(objectKey('b', 'k'), encodeValue(stored.record, stored.blobId, undefined));
      await db.close();
      await store.open();
      expect((await readAll(await store.read('b', 'k', v(1), { start: 10, end: 20 }))).equals(data.subarray(10, 21))).toBe(true);
      expect((await readAll(await store.read('b', 'k', v(1), { start: 1_999_999, end: 2_000_000 })))[1]).toBe(0xee);
      await expect(readAll(await store.read('b', 'k', v(1)))).rejects.toMatchObject({ code: 'CorruptBody' });
      expect((await store.head('b', 'k'))?.record.storage).toBe('quarantined');
    });

    it.each([
      ['truncated', (path: string) => truncate(path, 1000)],
      ['extended', (path: string) => writeFile(path, Buffer.from('tail'), { flag: 'a' })],
      ['deleted', (path: string) => rm(path)],
    ])('fails a full read with CorruptBody when the blob file is %s', async (_name, change) => {
      const { store } = await corruptedBlob(change);
      await expect(readAll(await store.read('b', 'k', v(1)))).rejects.toMatchObject({ code: 'CorruptBody' });
    });

    it('fails a range read past the end of a truncated file with CorruptBody', async () => {
      const { store } = await corruptedBlob((path) => truncate(path, 1000));
      await expect(readAll(await store.read('b', 'k', v(1), { start: 500, end: 5000 }))).rejects.toMatchObject({
        code: 'CorruptBody',
      });
    });
  });

  it('never builds a path from an object key', async () => {
    const store = await openStore();
    const keys = ['../../escape', '/etc/passwd', '..', '.', 'a/../../b', 'C:\\win\\x', '😀/../x', '\u202eevil', ' ', 'x'.repeat(2000)];
    for (const [i, key] of keys.entries()) {
      await putBlob(store, key, v(i + 1), randomBytes(THRESHOLD + 1 + i));
      await store.commit({ ...meta(key, v(i + 1), 2), bucket: '../up' }, { kind: 'inline', data: Buffer.from('hi') });
    }
    expect((await store.list('b', { limit: 100 })).map((r) => r.key).sort()).toEqual([...keys].sort());
    const files = await walk(dir);
    expect(files.filter((f) => f.startsWith('blobs/'))).toHaveLength(keys.length);
    for (const f of files) expect(f).toMatch(/^(meta\/[A-Za-z0-9._-]+|blobs\/[0-9a-f]{2}\/[0-9a-f]{32})$/);
    for (const f of files.filter((name) => name.startsWith('blobs/'))) expect(f.slice(6, 8)).toBe(f.slice(9, 11));
    await expect(store.head('b', 'lone \ud800 surrogate')).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(store.head('with\0nul', 'k')).rejects.toMatchObject({ code: 'InvalidArgument' });
    await store.discard('../../../etc/passwd');
  });

  describe('blob files', () => {
    it('keeps a replaced blob until the delay passes, so a running read completes', async () => {
      const store = await openStore({ blobDeleteDelayMs: 150 });
      const data = randomBytes(2 * 1024 * 1024);
      await putBlob(store, 'k', v(1), data);
      const stream = await store.read('b', 'k', v(1));
      await store.commit(meta('k', v(2), 1), { kind: 'inline', data: Buffer.from('x') });
      expect(await blobFiles(dir)).toHaveLength(1);
      expect((await readAll(stream)).equals(data)).toBe(true);
      await expect(store.read('b', 'k', v(1))).rejects.toMatchObject({ code: 'NoSuchKey' });
      const deadline = Date.now() + 3000;
      while ((await blobFiles(dir)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(await blobFiles(dir)).toEqual([]);
    });

    it('deletes pending replaced blobs on close', async () => {
      const store = await openStore({ blobDeleteDelayMs: HOUR });
      await putBlob(store, 'k', v(1), randomBytes(5000));
      await store.commit(meta('k', v(2), 0, true), { kind: 'inline', data: new Uint8Array(0) });
      expect(await blobFiles(dir)).toHaveLength(1);
      await store.close();
      expect(await blobFiles(dir)).toEqual([]);
    });

    it('deletes the staged file of a commit that is not applied, and of a discard', async () => {
      const store = await openStore();
      await putBlob(store, 'k', v(5), randomBytes(5000));
      const late = await store.stage(once(randomBytes(5000)));
      const dropped = await store.stage(once(randomBytes(5000)));
      expect(await blobFiles(dir)).toHaveLength(3);
      expect((await store.commit(meta('k', v(4), 5000), { kind: 'staged', id: late.id })).applied).toBe(false);
      await store.discard(dropped.id);
      expect(await blobFiles(dir)).toHaveLength(1);
    });

    it('spills a large inline body to a blob and pulls a small staged body inline', async () => {
      const store = await openStore();
      const large = randomBytes(THRESHOLD + 1);
      await store.commit(meta('large', v(1), large.length), { kind: 'inline', data: large });
      expect(await blobFiles(dir)).toHaveLength(1);
      await putBlob(store, 'small', v(1), randomBytes(THRESHOLD));
      expect(await blobFiles(dir)).toHaveLength(1);
      expect((await store.head('b', 'small'))?.record.storage).toBe('inline');
    });

    it('removes the temp file of a stage that fails midway', async () => {
      const store = await openStore();
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield randomBytes(3 * 1024 * 1024);
        throw new Error('client went away');
      }
      await expect(store.stage(failing())).rejects.toThrow('client went away');
      const controller = new AbortController();
      async function* aborted(): AsyncGenerator<Uint8Array> {
        yield randomBytes(1000);
        controller.abort();
        yield randomBytes(1000);
      }
      await expect(store.stage(aborted(), controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
      expect(await blobFiles(dir)).toEqual([]);
    });

    it('aborts a stalled stage on close', async () => {
      const store = await openStore();
      let started!: () => void;
      const first = new Promise<void>((resolve) => (started = resolve));
      async function* stalled(): AsyncGenerator<Uint8Array> {
        yield randomBytes(10);
        started();
        await new Promise(() => {});
        yield randomBytes(10);
      }
      const staging = store.stage(stalled());
      const outcome = staging.then(
        () => 'staged',
        (err: unknown) => err,
      );
      await first;
      await store.close();
      expect(await outcome).toMatchObject({ code: 'StoreClosed' });
      expect(await blobFiles(dir)).toEqual([]);
    });

    it('collects old unreferenced files and keeps referenced, staged, young and foreign ones', async () => {
      const store = await openStore();
      await putBlob(store, 'kept', v(1), randomBytes(5000));
      const [referenced] = await blobFiles(dir);
      const staged = await store.stage(once(randomBytes(5000)));
      const old = new Date(Date.now() - 2 * HOUR);
      const orphan = join(dir, 'blobs', 'ab', 'ab'.repeat(16));
      const partial = join(dir, 'blobs', 'cd', `${'cd'.repeat(16)}.tmp`);
      const young = join(dir, 'blobs', 'ef', 'ef'.repeat(16));
      const foreign = join(dir, 'blobs', '00', 'README');
      for (const path of [orphan, partial, young, foreign]) await writeFile(path, 'x');
      for (const f of await blobFiles(dir)) if (join(dir, 'blobs', f) !== young) await utimes(join(dir, 'blobs', f), old, old);

      expect(await store.collectOrphans()).toEqual({ temp: 1, staged: 0, unreferenced: 1 });
      const left = await blobFiles(dir);
      expect(left).toContain(referenced);
      expect(left).toContain(`${staged.id.slice(0, 2)}/${staged.id}`);
      expect(left).toContain(relative(join(dir, 'blobs'), young));
      expect(left).toContain('00/README');
      expect(left).toHaveLength(4);
      await expect(stat(orphan)).rejects.toMatchObject({ code: 'ENOENT' });

      // After a restart the staged body is unknown, hence an orphan once old enough.
      await store.close();
      const again = await openStore();
      expect(await again.collectOrphans({ olderThanMs: HOUR })).toEqual({ temp: 0, staged: 0, unreferenced: 1 });
      expect(await again.collectOrphans({ olderThanMs: 0 })).toEqual({ temp: 0, staged: 0, unreferenced: 1 });
      expect((await readAll(await again.read('b', 'kept', v(1)))).length).toBe(5000);
    });

    it('drops a stage nobody committed or discarded once it is older than the orphan age, file and map entry', async () => {
      let now = Date.now();
      const store = await openStore({ clock: { now: () => now } });
      const forgotten = await store.stage(once(randomBytes(5000)));
      const path = `${forgotten.id.slice(0, 2)}/${forgotten.id}`;
      now += HOUR / 2;
      expect(await store.collectOrphans({ olderThanMs: HOUR })).toEqual({ temp: 0, staged: 0, unreferenced: 0 });
      expect(await blobFiles(dir)).toEqual([path]);
      now += HOUR;
      expect(await store.collectOrphans({ olderThanMs: HOUR })).toEqual({ temp: 0, staged: 1, unreferenced: 0 });
      expect(await blobFiles(dir)).toEqual([]);
      // The map entry is gone too: committing the id now fails as for any unknown stage.
      await expect(store.commit(meta('late', v(1), 5000), { kind: 'staged', id: forgotten.id })).rejects.toMatchObject({ code: 'InvalidArgument' });
    });

    it('never collects a stage while it is being committed', async () => {
      let now = Date.now();
      const store = await openStore({ clock: { now: () => now } });
      const staged = await store.stage(once(randomBytes(5000)));
      now += 2 * HOUR;
      const committing = store.commit(meta('racing', v(1), 5000), { kind: 'staged', id: staged.id });
      const collected = store.collectOrphans({ olderThanMs: HOUR });
      expect(await committing).toEqual({ applied: true, current: v(1) });
      expect((await collected).staged).toBe(0);
      expect((await readAll(await store.read('b', 'racing', v(1)))).length).toBe(5000);
    });
  });
});
