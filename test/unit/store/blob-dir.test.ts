import { closeSync, constants, openSync, rmSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlignedSlabPool } from '../../../src/store/aligned-slabs.js';
import { BlobDir } from '../../../src/store/blob-dir.js';
import { cryptoRandom } from '../../../src/util/random.js';

const MiB = 1024 * 1024;

/** Whether `dir` accepts an aligned O_DIRECT write, found out independently of BlobDir's own probe. */
function fileSystemTakesDirectIo(dir: string): boolean {
  if (constants.O_DIRECT === undefined) return false;
  const path = join(dir, 'test-probe');
  const aligned = new AlignedSlabPool(1, 64 * 1024).take()!;
  try {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT);
    try {
      writeSync(fd, aligned, 0, 4096, 0);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch {
    return false;
  } finally {
    rmSync(path, { force: true });
  }
}

/** Yields `data` cut at the given chunk sizes (the rest as one last chunk). */
async function* chunked(data: Buffer, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (const size of sizes) {
    if (at >= data.length) break;
    yield data.subarray(at, at + size);
    at += size;
  }
  if (at < data.length) yield data.subarray(at);
}

async function tempFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  return entries.filter((name) => name.endsWith('.tmp'));
}

describe.each([
  ['O_DIRECT', { fsync: true, directIo: true }],
  ['buffered, fsync', { fsync: true, directIo: false }],
  ['buffered, no fsync', { fsync: false }],
])('BlobDir (%s)', (name, options) => {
  let root: string;
  let blobs: BlobDir;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ringstore-blobs-'));
    blobs = new BlobDir(root, options, cryptoRandom);
    await blobs.init();
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes with O_DIRECT only when asked and the file system allows it', () => {
    const expected = name === 'O_DIRECT' && fileSystemTakesDirectIo(root);
    expect({ direct: blobs.directIo, refusal: blobs.directIoRefusal }).toEqual(expected ? { direct: true, refusal: undefined } : expect.objectContaining({ direct: false }));
    // Refused where it was asked for: the reason is there for the log.
    if (name === 'O_DIRECT' && !expected) expect(blobs.directIoRefusal).toEqual(expect.any(String));
  });

  it.each([0, 1, 4095, 4096, 4097, MiB - 1, MiB, MiB + 1, 3.5 * MiB + 17])('stores %i bytes byte-identical with their CRC32', async (size) => {
    const data = Buffer.from(cryptoRandom.hex(size), 'hex').subarray(0, size);
    const staged = await blobs.write(chunked(data, [65536, 100, 3]));
    expect([staged.size, staged.crc32]).toEqual([size, crc32(data)]);
    expect((await readFile(blobs.pathOf(staged.id))).equals(data)).toBe(true);
  });

  it('stores any cut of a body into chunks byte-identical', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 * MiB + 5000 }), fc.array(fc.integer({ min: 1, max: 300_000 }), { maxLength: 20 }), async (size, cuts) => {
        const data = Buffer.alloc(size);
        for (let i = 0; i + 4 <= size; i += 4096) data.writeUInt32LE((i * 2654435761) >>> 0, i);
        const staged = await blobs.write(chunked(data, cuts));
        const back = await readFile(blobs.pathOf(staged.id));
        await blobs.remove(staged.id);
        return staged.size === size && staged.crc32 === crc32(data) && back.equals(data);
      }),
      { numRuns: 25 },
    );
  });

  it('completes more simultaneous writes than it has aligned buffers for', async () => {
    const bodies = Array.from({ length: 40 }, (_, i) => Buffer.alloc(MiB + 1000 * i, i + 1));
    const staged = await Promise.all(bodies.map((b) => blobs.write(chunked(b, [300_000, 300_000]))));
    for (const [i, s] of staged.entries()) expect((await readFile(blobs.pathOf(s.id))).equals(bodies[i]!)).toBe(true);
  });

  it('leaves no file behind when the body fails or the write is aborted, and keeps writing afterwards', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.alloc(MiB + 10, 1);
      throw new Error('client went away');
    }
    const idle = blobs.directBuffersFree;
    await expect(blobs.write(failing())).rejects.toThrow('client went away');
    const abort = new AbortController();
    async function* stalled(): AsyncGenerator<Uint8Array> {
      yield Buffer.alloc(2 * MiB, 2);
      abort.abort(new Error('deadline'));
      await new Promise(() => {});
    }
    await expect(blobs.write(stalled(), abort.signal)).rejects.toThrow('deadline');
    expect(await tempFiles(root)).toEqual([]);
    expect(blobs.directBuffersFree).toBe(idle);
    const data = Buffer.alloc(MiB, 9);
    const staged = await blobs.write(chunked(data, []));
    expect((await readFile(blobs.pathOf(staged.id))).equals(data)).toBe(true);
  });
});
