/**
 * Body streams (body-stream.ts): a verified stream never ends normally over bytes that fail
 * their checksum, a block-checked stream hands out only bytes of blocks it has checked, and a
 * file shorter than recorded is CorruptBody, not a short body.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockCrcsOf } from '../../../src/store/block-crcs.js';
import { FileRangeReadable, bufferReadable, errorReadable } from '../../../src/store/body-stream.js';
import { ReadBufferPool } from '../../../src/store/read-buffers.js';
import { crc32 } from '../../../src/util/crc.js';
import { RingstoreError } from '../../../src/util/errors.js';

/** Everything a stream hands out, its chunks, and how it ended. */
async function drain(stream: Readable): Promise<{ data: Buffer; chunks: Buffer[]; err: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
    return { data: Buffer.concat(chunks), chunks, err: undefined };
  } catch (err) {
    return { data: Buffer.concat(chunks), chunks, err };
  }
}

const details = { bucket: 'b', key: 'k' };

describe('bufferReadable and errorReadable', () => {
  it('streams the bytes once and ends; an empty body ends without a chunk', async () => {
    expect(await drain(bufferReadable(Buffer.from('hello')))).toMatchObject({ data: Buffer.from('hello'), err: undefined });
    expect((await drain(bufferReadable(Buffer.from('hello')))).chunks).toHaveLength(1);
    expect(await drain(bufferReadable(new Uint8Array(0)))).toEqual({ data: Buffer.alloc(0), chunks: [], err: undefined });
  });

  it('checks the bytes against verify.crc32 and fails with CorruptBody, handing out nothing, when they differ', async () => {
    const data = Buffer.from('hello');
    expect((await drain(bufferReadable(data, { crc32: crc32(data), details }))).data.toString()).toBe('hello');
    const bad = await drain(bufferReadable(data, { crc32: crc32(data) ^ 1, details }));
    expect(bad.chunks).toEqual([]);
    expect(bad.err).toBeInstanceOf(RingstoreError);
    expect(bad.err).toMatchObject({ code: 'CorruptBody', message: 'stored body does not match its checksum', details });
    expect((await drain(bufferReadable(new Uint8Array(0), { crc32: 0, details }))).err).toBeUndefined();
  });

  it('errorReadable fails with exactly its error as soon as it is read', async () => {
    const err = new Error('boom');
    expect(await drain(errorReadable(err))).toEqual({ data: Buffer.alloc(0), chunks: [], err });
  });
});

describe('FileRangeReadable', () => {
  let dir: string;
  let path: string;
  const data = randomBytes(100);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringstore-stream-'));
    path = join(dir, 'body');
    await writeFile(path, data);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function handle(): Promise<FileHandle> {
    return open(path, 'r');
  }

  it('streams exactly the asked-for bytes in chunks of at most chunkSize, then closes the file', async () => {
    const fh = await handle();
    const out = await drain(new FileRangeReadable(fh, { start: 13, length: 50, chunkSize: 8, details }));
    expect(out.err).toBeUndefined();
    expect(out.data.equals(data.subarray(13, 63))).toBe(true);
    expect(out.chunks.map((c) => c.length)).toEqual([8, 8, 8, 8, 8, 8, 2]);
    expect(fh.fd).toBe(-1);
  });

  it('streams nothing for a zero length', async () => {
    const out = await drain(new FileRangeReadable(await handle(), { start: 0, length: 0, details }));
    expect(out).toEqual({ data: Buffer.alloc(0), chunks: [], err: undefined });
  });

  it('verifies a whole body and withholds the last chunk when its CRC differs, telling onCorrupt first', async () => {
    const good = await drain(new FileRangeReadable(await handle(), { start: 0, length: 100, chunkSize: 30, verify: { crc32: crc32(data), details }, details }));
    expect(good.err).toBeUndefined();
    expect(good.data.equals(data)).toBe(true);
    const seen: RingstoreError[] = [];
    const fh = await handle();
    const bad = await drain(
      new FileRangeReadable(fh, {
        start: 0,
        length: 100,
        chunkSize: 30,
        verify: { crc32: crc32(data) ^ 0x10, details },
        details,
        onCorrupt: async (err) => {
          seen.push(err);
        },
      }),
    );
    expect(bad.err).toMatchObject({ code: 'CorruptBody', message: 'stored body does not match its checksum', details });
    expect(bad.data.length).toBe(90);
    expect(bad.data.equals(data.subarray(0, 90))).toBe(true);
    expect(seen).toEqual([bad.err]);
    expect(fh.fd).toBe(-1);
  });

  it('fails with CorruptBody when the file ends before the recorded length', async () => {
    const out = await drain(new FileRangeReadable(await handle(), { start: 90, length: 20, chunkSize: 8, details }));
    expect(out.err).toMatchObject({ code: 'CorruptBody', message: 'stored body is shorter than recorded', details });
    expect(out.data.equals(data.subarray(90))).toBe(true);
  });

  it('takes full chunks from the pool and takes them back through recycle', async () => {
    const pool = new ReadBufferPool(16, 4);
    const stream = new FileRangeReadable(await handle(), { start: 0, length: 40, details, buffers: pool });
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream) chunks.push(chunk as Uint8Array);
    expect(chunks.map((c) => c.byteLength)).toEqual([16, 16, 8]);
    expect(Buffer.concat(chunks).equals(data.subarray(0, 40))).toBe(true);
    expect(pool.free).toBe(0);
    for (const c of chunks) stream.recycle(c);
    // The short last chunk was never the pool's.
    expect(pool.free).toBe(2);
  });

  describe('with block CRCs', () => {
    const BLOCK = 16;
    const blocks = blockCrcsOf(data, BLOCK);

    function blockStream(
      fh: FileHandle,
      range: { start: number; end: number },
      extra: { verify?: { crc32: number; details: typeof details }; onCorrupt?: (err: RingstoreError) => Promise<void>; chunkSize?: number } = {},
    ): FileRangeReadable {
      const first = Math.floor(range.start / BLOCK);
      const spanEnd = Math.min(data.length, (Math.floor(range.end / BLOCK) + 1) * BLOCK);
      return new FileRangeReadable(fh, {
        start: first * BLOCK,
        length: spanEnd - first * BLOCK,
        blocks: { crcs: blocks, firstBlock: first },
        emit: { start: range.start, end: range.end + 1 },
        details,
        ...extra,
      });
    }

    it.each([
      [0, 99],
      [0, 0],
      [15, 16],
      [16, 31],
      [17, 40],
      [96, 99],
      [99, 99],
    ])('hands out exactly bytes %i..%i, reading whole checked blocks', async (start, end) => {
      const out = await drain(blockStream(await handle(), { start, end }, { chunkSize: 5 }));
      expect(out.err).toBeUndefined();
      expect(out.data.equals(data.subarray(start, end + 1))).toBe(true);
    });

    it('stops at the first block that fails its CRC, having handed out only bytes of the checked blocks before it', async () => {
      const bad = { crcs: Uint32Array.from(blocks.crcs), blockBytes: BLOCK };
      bad.crcs[2] = bad.crcs[2]! ^ 1;
      const seen: RingstoreError[] = [];
      const fh = await handle();
      const out = await drain(
        new FileRangeReadable(fh, {
          start: 16,
          length: 84,
          blocks: { crcs: bad, firstBlock: 1 },
          emit: { start: 20, end: 100 },
          details,
          onCorrupt: async (err) => {
            seen.push(err);
          },
        }),
      );
      expect(out.err).toMatchObject({ code: 'CorruptBody', message: 'stored body does not match its block checksum', details: { ...details, block: 2, resumable: true } });
      expect(out.data.equals(data.subarray(20, 32))).toBe(true);
      expect(seen).toEqual([out.err]);
      expect(fh.fd).toBe(-1);
    });

    it('checks the whole CRC at the end when asked, failing resumable after every block passed', async () => {
      const good = await drain(blockStream(await handle(), { start: 0, end: 99 }, { verify: { crc32: crc32(data), details } }));
      expect(good.err).toBeUndefined();
      expect(good.data.equals(data)).toBe(true);
      const bad = await drain(blockStream(await handle(), { start: 0, end: 99 }, { verify: { crc32: crc32(data) ^ 1, details } }));
      expect(bad.err).toMatchObject({ code: 'CorruptBody', message: 'stored body does not match its checksum', details: { resumable: true } });
      expect(bad.data.equals(data.subarray(0, 96))).toBe(true);
    });

    it('fails resumable with CorruptBody when the file is shorter than the blocks say', async () => {
      const long = blockCrcsOf(Buffer.concat([data, randomBytes(20)]), BLOCK);
      const out = await drain(new FileRangeReadable(await handle(), { start: 96, length: 24, blocks: { crcs: long, firstBlock: 6 }, details }));
      expect(out.err).toMatchObject({ code: 'CorruptBody', message: 'stored body is shorter than recorded', details: { resumable: true } });
      expect(out.data.length).toBe(0);
    });

    it('pools full chunks of a block read and hands back the ones outside the emit window', async () => {
      const pool = new ReadBufferPool(8, 8);
      const stream = new FileRangeReadable(await handle(), { start: 0, length: 32, blocks: { crcs: blocks, firstBlock: 0 }, emit: { start: 8, end: 24 }, details, buffers: pool });
      const chunks: Uint8Array[] = [];
      for await (const chunk of stream) chunks.push(chunk as Uint8Array);
      expect(Buffer.concat(chunks).equals(data.subarray(8, 24))).toBe(true);
      // Four 8-byte chunks read from three buffers: the first one, outside the window, went back and was read into again.
      expect(chunks).toHaveLength(2);
      expect(pool.free).toBe(1);
      for (const c of chunks) stream.recycle(c);
      expect(pool.free).toBe(3);
    });
  });

  it('closes the file when destroyed early', async () => {
    const fh = await handle();
    const stream = new FileRangeReadable(fh, { start: 0, length: 100, chunkSize: 10, details });
    for await (const chunk of stream) {
      expect((chunk as Buffer).length).toBe(10);
      break;
    }
    for (let i = 0; i < 500 && fh.fd !== -1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(fh.fd).toBe(-1);
  });
});
