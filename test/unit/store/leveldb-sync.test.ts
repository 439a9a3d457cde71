/**
 * LevelDB is native, so the power-loss simulation cannot drop its unsynced writes; instead this
 * checks that every LevelDB write an acknowledgement waits for goes out with `sync: true` when
 * `store.fsync` is on (without sync, a put LevelDB has in its page-cache log is lost by a power
 * cut, though it survives kill -9). It spies on ClassicLevel's write methods.
 */
import { mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LevelStore } from '../../../src/store/level-store.js';
import type { ObjectMeta } from '../../../src/store/types.js';
import type { Version } from '../../../src/util/clock.js';
import { cryptoRandom } from '../../../src/util/random.js';

const THRESHOLD = 1024;

interface Write {
  readonly method: 'put' | 'del' | 'batch' | 'chained batch';
  readonly sync: boolean;
}

function v(hlc: number): Version {
  return { hlc, node: 'n1' };
}

function meta(key: string, version: Version, size: number, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return { bucket: 'b', key, version, tombstone: false, size, etag: 'e', contentType: 'x/y', userMeta: {}, ...extra };
}

async function* once(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

async function drain(stream: Readable): Promise<void> {
  for await (const chunk of stream) void chunk;
}

function syncOf(options: unknown): boolean {
  return typeof options === 'object' && options !== null && (options as { sync?: unknown }).sync === true;
}

describe('LevelDB writes behind acknowledgements', () => {
  let dir: string;
  let writes: Write[];
  let store: LevelStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringstore-leveldb-sync-'));
    writes = [];
    // The prototype methods every ClassicLevel inherits; each call is recorded with its options.
    const proto = ClassicLevel.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    const originals = { put: proto['put']!, del: proto['del']!, batch: proto['batch']! };
    vi.spyOn(proto, 'put').mockImplementation(function (this: unknown, ...args: unknown[]) {
      writes.push({ method: 'put', sync: syncOf(args[2]) });
      return originals.put.apply(this, args);
    });
    vi.spyOn(proto, 'del').mockImplementation(function (this: unknown, ...args: unknown[]) {
      writes.push({ method: 'del', sync: syncOf(args[1]) });
      return originals.del.apply(this, args);
    });
    vi.spyOn(proto, 'batch').mockImplementation(function (this: unknown, ...args: unknown[]) {
      if (args.length > 0) {
        writes.push({ method: 'batch', sync: syncOf(args[1]) });
        return originals.batch.apply(this, args);
      }
      const chained = originals.batch.apply(this, args) as { write: (...a: unknown[]) => unknown };
      const write = chained.write.bind(chained);
      chained.write = (...a: unknown[]) => {
        writes.push({ method: 'chained batch', sync: syncOf(a[0]) });
        return write(...a);
      };
      return chained;
    });
  });

  afterEach(async () => {
    await store?.close();
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  async function open(fsync: boolean): Promise<LevelStore> {
    store = new LevelStore({ dir, fsync, directIo: false, inlineThreshold: THRESHOLD, random: cryptoRandom, blobDeleteDelayMs: 0 });
    await store.open();
    return store;
  }

  /** The LevelDB writes made while `op` ran (ops run one at a time, so they are its own). */
  async function writesOf(op: () => Promise<unknown>): Promise<Write[]> {
    const before = writes.length;
    await op();
    return writes.slice(before);
  }

  it('with store.fsync every commit (inline, blob, staged, tombstone, manifest) and every quarantine waits for a synced write', async () => {
    const s = await open(true);
    const small = Buffer.alloc(100, 1);
    const large = Buffer.alloc(THRESHOLD * 8, 2);
    const acknowledged: Record<string, () => Promise<unknown>> = {
      'inline commit': () => s.commit(meta('inline', v(1), small.length), { kind: 'inline', data: small }),
      'inline commit of a blob-sized body': () => s.commit(meta('big', v(1), large.length), { kind: 'inline', data: large }),
      'staged commit': async () => {
        const staged = await s.stage(once(large));
        return s.commit(meta('staged', v(1), large.length), { kind: 'staged', id: staged.id });
      },
      'staged commit of a small body (inlined)': async () => {
        const staged = await s.stage(once(small));
        return s.commit(meta('staged-small', v(1), small.length), { kind: 'staged', id: staged.id });
      },
      overwrite: () => s.commit(meta('inline', v(2), small.length), { kind: 'inline', data: small }),
      'tombstone commit': () => s.commit(meta('inline', v(3), 0, { tombstone: true }), { kind: 'inline', data: new Uint8Array(0) }),
      'manifest commit': () =>
        s.commit(meta('mpu', v(1), 10 * 1024 * 1024, { parts: [{ bucket: '.parts', key: 'u/1', version: v(1), size: 10 * 1024 * 1024, etag: 'p' }] }), { kind: 'inline', data: new Uint8Array(0) }),
    };
    for (const [name, op] of Object.entries(acknowledged)) {
      const made = await writesOf(op);
      expect(made.length, `${name}: no LevelDB write backs the acknowledgement`).toBeGreaterThan(0);
      expect(made, `${name}: a LevelDB write went out without sync`).toEqual(made.map((w) => ({ ...w, sync: true })));
    }

    // Concurrent commits take the group-commit path: one batch for many acknowledgements.
    const burst = await writesOf(() => Promise.all(Array.from({ length: 20 }, (_, i) => s.commit(meta(`burst${i}`, v(1), small.length), { kind: 'inline', data: small }))));
    expect(burst.length).toBeGreaterThan(0);
    expect(burst.length).toBeLessThan(20);
    expect(burst.every((w) => w.sync)).toBe(true);

    // A stage writes no record (its durability is the blob file's fdatasync and directory fsync).
    expect(await writesOf(() => s.stage(once(large)))).toEqual([]);

    // Quarantine rewrites the record: synced too, or a power cut could bring the corrupt copy back.
    const record = (await s.head('b', 'big'))!.record;
    // Every blob file goes missing; the read finds it gone and quarantines the copy.
    const blobsDir = join(dir, 'blobs');
    for (const sub of await readdir(blobsDir)) {
      for (const name of await readdir(join(blobsDir, sub)).catch(() => [])) await unlink(join(blobsDir, sub, name));
    }
    const quarantine = await writesOf(async () => {
      await expect(drain(await s.read('b', 'big', record.version))).rejects.toMatchObject({ code: 'CorruptBody' });
    });
    expect((await s.head('b', 'big'))!.record.storage).toBe('quarantined');
    expect(quarantine.length).toBeGreaterThan(0);
    expect(quarantine.every((w) => w.sync)).toBe(true);
  });

  it('without store.fsync the same writes go out unsynced (what store.fsync=false gives up)', async () => {
    const s = await open(false);
    const made = await writesOf(() => s.commit(meta('k', v(1), 3), { kind: 'inline', data: Buffer.from('abc') }));
    expect(made).toEqual([{ method: 'batch', sync: false }]);
  });
});
