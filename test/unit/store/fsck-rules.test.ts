/**
 * fsck's judgements one by one (fsck.ts): which record invariants make a record bad, and which
 * finding each body check gives, with the numbers in its detail. Bodies come from fake file
 * handles, so every outcome (short file, failing read, bad block) is exact and fast.
 */
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blockCrcsOf, type BlockCrcs } from '../../../src/store/block-crcs.js';
import { recordInvariant, verifyBody, type BodySource } from '../../../src/store/fsck.js';
import type { StoredValue } from '../../../src/store/record-codec.js';
import type { ObjectRecord } from '../../../src/store/types.js';
import { crc32 } from '../../../src/util/crc.js';

const BLOB = 'ab'.repeat(16);
const hex = (n: number): string => n.toString(16).padStart(8, '0');

function rec(extra: Partial<ObjectRecord> = {}): ObjectRecord {
  return { bucket: 'b', key: 'k', version: { hlc: 1, node: 'n1' }, tombstone: false, size: 0, etag: 'e', contentType: 't', userMeta: {}, crc32: 0, storage: 'inline', ...extra };
}

interface FakeFile {
  closed: boolean;
  readonly source: BodySource;
}

/** A BodySource whose one blob holds `bytes`; `statSize`, `shortAfter` and `readError` stage a broken file. */
function fakeBlob(bytes: Buffer, opts: { statSize?: number; shortAfter?: number; readError?: Error; openError?: NodeJS.ErrnoException } = {}): FakeFile {
  const file: FakeFile = {
    closed: false,
    source: {
      async openBlob(id: string): Promise<FileHandle> {
        expect(id).toBe(BLOB);
        if (opts.openError !== undefined) throw opts.openError;
        const handle = {
          stat: async () => ({ size: opts.statSize ?? bytes.length }),
          read: async (buffer: Buffer, offset: number, length: number, position: number) => {
            if (opts.readError !== undefined) throw opts.readError;
            const end = Math.min(bytes.length, position + length, opts.shortAfter ?? Infinity);
            const n = Math.max(0, end - position);
            bytes.copy(buffer, offset, position, position + n);
            return { bytesRead: n, buffer };
          },
          close: async () => {
            file.closed = true;
          },
        };
        return handle as unknown as FileHandle;
      },
    },
  };
  return file;
}

function errno(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

function blobValue(data: Buffer, blockCrcs?: BlockCrcs, extra: Partial<ObjectRecord> = {}): StoredValue {
  const record = rec({ size: data.length, crc32: crc32(data), storage: 'blob', ...extra });
  return blockCrcs === undefined ? { record, blobId: BLOB } : { record, blobId: BLOB, blockCrcs };
}

describe('recordInvariant', () => {
  it('accepts a well-formed record of every kind', () => {
    expect(recordInvariant({ record: rec(), inline: new Uint8Array(0) })).toBeUndefined();
    expect(recordInvariant({ record: rec({ size: 10, crc32: 0xffffffff, storage: 'blob', headers: { a: 'b' }, checksums: { crc32: 'x' } }), blobId: BLOB })).toBeUndefined();
    expect(recordInvariant({ record: rec({ tombstone: true }) })).toBeUndefined();
    const parts = [
      { bucket: '.parts', key: 'u\u00001', version: { hlc: 1, node: 'n' }, size: 3, etag: 'p' },
      { bucket: '.parts', key: 'u\u00002', version: { hlc: 2, node: 'n' }, size: 2, etag: 'q' },
    ];
    expect(recordInvariant({ record: rec({ size: 5, parts }) })).toBeUndefined();
  });

  it.each<[string, StoredValue, string]>([
    ['a negative hlc', { record: rec({ version: { hlc: -1, node: 'n' } }) }, 'invalid version'],
    ['a fractional hlc', { record: rec({ version: { hlc: 1.5, node: 'n' } }) }, 'invalid version'],
    ['an empty node id', { record: rec({ version: { hlc: 1, node: '' } }) }, 'invalid version'],
    ['a numeric node id', { record: rec({ version: { hlc: 1, node: 3 as unknown as string } }) }, 'invalid version'],
    ['a negative size', { record: rec({ size: -1 }) }, 'invalid size'],
    ['a fractional size', { record: rec({ size: 0.5 }) }, 'invalid size'],
    ['a numeric etag', { record: rec({ etag: 1 as unknown as string }) }, 'invalid etag or content type'],
    ['a missing content type', { record: rec({ contentType: undefined as unknown as string }) }, 'invalid etag or content type'],
    ['user metadata with a number', { record: rec({ userMeta: { a: 1 as unknown as string } }) }, 'invalid metadata maps'],
    ['user metadata as an array', { record: rec({ userMeta: ['a'] as unknown as Record<string, string> }) }, 'invalid metadata maps'],
    ['null user metadata', { record: rec({ userMeta: null as unknown as Record<string, string> }) }, 'invalid metadata maps'],
    ['headers with a number', { record: rec({ headers: { a: 1 as unknown as string } }) }, 'invalid metadata maps'],
    ['checksums as a string', { record: rec({ checksums: 'x' as unknown as Record<string, string> }) }, 'invalid metadata maps'],
    ['a negative crc32', { record: rec({ crc32: -1 }) }, 'invalid crc32'],
    ['a crc32 past 32 bits', { record: rec({ crc32: 2 ** 32 }) }, 'invalid crc32'],
    ['a fractional crc32', { record: rec({ crc32: 0.5 }) }, 'invalid crc32'],
    ['a malformed blob id', { record: rec({ storage: 'blob' }), blobId: '../x' }, 'malformed blob id "../x"'],
    ['a tombstone with a size', { record: rec({ tombstone: true, size: 1 }) }, 'a tombstone with a body'],
    ['a tombstone with a blob', { record: rec({ tombstone: true }), blobId: BLOB }, 'a tombstone with a body'],
    ['a tombstone with parts', { record: rec({ tombstone: true, parts: [] }) }, 'a tombstone with a body'],
    ['an empty parts list', { record: rec({ parts: [] }) }, 'invalid parts list'],
    ['parts that are not a list', { record: rec({ parts: {} as unknown as [] }) }, 'invalid parts list'],
    ['a manifest with a blob', { record: rec({ size: 1, parts: [{ bucket: 'p', key: 'k', version: { hlc: 1, node: 'n' }, size: 1, etag: 'e' }] }), blobId: BLOB }, 'a multipart manifest with a blob'],
    ['a part without a version', { record: rec({ size: 1, parts: [{ bucket: 'p', key: 'k', size: 1, etag: 'e' } as never] }) }, 'invalid part reference'],
    ['a part with a negative size', { record: rec({ size: 1, parts: [{ bucket: 'p', key: 'k', version: { hlc: 1, node: 'n' }, size: -1, etag: 'e' }] }) }, 'invalid part reference'],
    ['a part with a numeric key', { record: rec({ size: 1, parts: [{ bucket: 'p', key: 1 as unknown as string, version: { hlc: 1, node: 'n' }, size: 1, etag: 'e' }] }) }, 'invalid part reference'],
    ['parts that do not add up', { record: rec({ size: 5, parts: [{ bucket: 'p', key: 'k', version: { hlc: 1, node: 'n' }, size: 3, etag: 'e' }] }) }, 'parts add up to 3 bytes, record says 5'],
  ])('refuses %s', (_name, stored, why) => {
    expect(recordInvariant(stored)).toBe(why);
  });
});

describe('verifyBody', () => {
  const none: BodySource = {
    openBlob: () => {
      throw new Error('no blob expected');
    },
  };

  it('finds nothing wrong with a good inline body, an empty one, or a manifest (whose body is its parts)', async () => {
    const data = Buffer.from('inline');
    expect(await verifyBody({ record: rec({ size: 6, crc32: crc32(data) }), inline: data }, none)).toEqual({ bytes: 6 });
    expect(await verifyBody({ record: rec() }, none)).toEqual({ bytes: 0 });
    const parts = [{ bucket: 'p', key: 'k', version: { hlc: 1, node: 'n' }, size: 8, etag: 'e' }];
    expect(await verifyBody({ record: rec({ size: 8, parts }), inline: new Uint8Array(0) }, none)).toEqual({ bytes: 0 });
  });

  it('reports an inline body of the wrong length as inline-size and one with the wrong CRC as inline-crc', async () => {
    const data = Buffer.from('abc');
    expect(await verifyBody({ record: rec({ size: 4, crc32: crc32(data) }), inline: data }, none)).toEqual({
      bytes: 0,
      problem: { kind: 'inline-size', detail: 'inline body is 3 bytes, record says 4' },
    });
    expect(await verifyBody({ record: rec({ size: 3, crc32: 10 }), inline: data }, none)).toEqual({
      bytes: 3,
      problem: { kind: 'inline-crc', detail: `inline body CRC32 ${hex(crc32(data))}, record says 0000000a` },
    });
  });

  it('reports a quarantined copy without reading anything', async () => {
    expect(await verifyBody({ record: rec({ storage: 'quarantined', size: 5 }) }, none)).toMatchObject({ bytes: 0, problem: { kind: 'quarantined' } });
  });

  it('reads a good blob whole, with or without block CRCs, and closes it', async () => {
    const data = randomBytes(50);
    for (const blocks of [undefined, blockCrcsOf(data, 16), blockCrcsOf(data, 50), blockCrcsOf(data, 64)]) {
      const file = fakeBlob(data);
      expect(await verifyBody(blobValue(data, blocks), file.source)).toEqual({ bytes: 50 });
      expect(file.closed).toBe(true);
    }
    const empty = fakeBlob(Buffer.alloc(0));
    expect(await verifyBody(blobValue(Buffer.alloc(0), blockCrcsOf(Buffer.alloc(0), 16)), empty.source)).toEqual({ bytes: 0 });
  });

  it('reports a blob file that is missing as missing-blob and one that cannot be opened as unreadable-blob', async () => {
    const data = randomBytes(10);
    expect(await verifyBody(blobValue(data), fakeBlob(data, { openError: errno('ENOENT', 'gone') }).source)).toEqual({ bytes: 0, problem: { kind: 'missing-blob', detail: 'blob file not found' } });
    expect(await verifyBody(blobValue(data), fakeBlob(data, { openError: errno('EACCES', 'permission denied') }).source)).toEqual({
      bytes: 0,
      problem: { kind: 'unreadable-blob', detail: 'cannot open blob file: permission denied' },
    });
  });

  it('reports a blob file of the wrong length as blob-size, and one that ends early while read as blob-size too', async () => {
    const data = randomBytes(40);
    const file = fakeBlob(data, { statSize: 39 });
    expect(await verifyBody(blobValue(data), file.source)).toEqual({ bytes: 0, problem: { kind: 'blob-size', detail: 'blob file is 39 bytes, record says 40' } });
    expect(file.closed).toBe(true);
    expect(await verifyBody(blobValue(data, blockCrcsOf(data, 16)), fakeBlob(data, { shortAfter: 20 }).source)).toEqual({
      bytes: 20,
      problem: { kind: 'blob-size', detail: 'blob file ended after 20 of 40 bytes' },
    });
  });

  it('reports a blob whose bytes changed as blob-crc, naming the first bad block when it has block CRCs', async () => {
    const data = randomBytes(50);
    const changed = Buffer.from(data);
    changed[35] = changed[35]! ^ 1;
    changed[49] = changed[49]! ^ 1;
    const detail = `blob file CRC32 ${hex(crc32(changed))}, record says ${hex(crc32(data))}`;
    expect(await verifyBody(blobValue(data), fakeBlob(changed).source)).toEqual({ bytes: 50, problem: { kind: 'blob-crc', detail } });
    expect(await verifyBody(blobValue(data, blockCrcsOf(data, 16)), fakeBlob(changed).source)).toEqual({ bytes: 50, problem: { kind: 'blob-crc', detail: `${detail}; first bad 1 MiB block: 2` } });
  });

  it('reports a block CRC that disagrees with bytes matching the whole CRC as block-crc', async () => {
    const data = randomBytes(50);
    const blocks = blockCrcsOf(data, 16);
    const wrong = { blockBytes: 16, crcs: Uint32Array.from(blocks.crcs) };
    wrong.crcs[1] = wrong.crcs[1]! ^ 1;
    expect(await verifyBody(blobValue(data, wrong), fakeBlob(data).source)).toEqual({ bytes: 50, problem: { kind: 'block-crc', detail: 'block 1 (bytes 16…) differs from its block CRC' } });
    const last = { blockBytes: 16, crcs: Uint32Array.from(blocks.crcs) };
    last.crcs[3] = last.crcs[3]! ^ 1;
    expect(await verifyBody(blobValue(data, last), fakeBlob(data).source)).toEqual({ bytes: 50, problem: { kind: 'block-crc', detail: 'block 3 (bytes 48…) differs from its block CRC' } });
    // Too few: the block without a CRC is the bad one.
    const few = { blockBytes: 16, crcs: blocks.crcs.subarray(0, 3) };
    expect(await verifyBody(blobValue(data, few), fakeBlob(data).source)).toEqual({ bytes: 50, problem: { kind: 'block-crc', detail: 'block 3 (bytes 48…) differs from its block CRC' } });
    const many = { blockBytes: 16, crcs: Uint32Array.from([...blocks.crcs, 0]) };
    expect(await verifyBody(blobValue(data, many), fakeBlob(data).source)).toEqual({ bytes: 50, problem: { kind: 'block-crc', detail: '5 block CRCs for 4 blocks' } });
  });

  it('reports a read that fails as unreadable-blob and still closes the file', async () => {
    const data = randomBytes(20);
    const file = fakeBlob(data, { readError: errno('EIO', 'i/o error') });
    expect(await verifyBody(blobValue(data), file.source)).toEqual({ bytes: 0, problem: { kind: 'unreadable-blob', detail: 'cannot read blob file: i/o error' } });
    expect(file.closed).toBe(true);
  });
});
