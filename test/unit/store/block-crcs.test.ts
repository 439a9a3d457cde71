import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BLOCK_BYTES, BlockCrcBuilder, blockCrcsOf, coveringSpan, decodeBlockCrcs, encodeBlockCrcs, firstBadBlock, fitsSize } from '../../../src/store/block-crcs.js';
import { crc32 } from '../../../src/util/crc.js';

describe('block CRCs', () => {
  it('are the CRC32 of each block, the short last one included, however the body is chunked', () => {
    const data = randomBytes(3 * 1000 + 7);
    const blocks = blockCrcsOf(data, 1000);
    expect([...blocks.crcs]).toEqual([0, 1, 2, 3].map((i) => crc32(data.subarray(i * 1000, Math.min((i + 1) * 1000, data.length)))));
    for (const step of [1, 7, 999, 1000, 1001, 4096]) {
      const builder = new BlockCrcBuilder(1000);
      for (let at = 0; at < data.length; at += step) builder.update(data.subarray(at, at + step));
      expect([...builder.finish().crcs], `chunks of ${step}`).toEqual([...blocks.crcs]);
    }
  });

  it('has one CRC per block: none for an empty body, one for exactly one block', () => {
    expect(blockCrcsOf(new Uint8Array(0)).crcs.length).toBe(0);
    expect(blockCrcsOf(new Uint8Array(BLOCK_BYTES)).crcs.length).toBe(1);
    expect(blockCrcsOf(new Uint8Array(BLOCK_BYTES + 1)).crcs.length).toBe(2);
    expect(fitsSize(blockCrcsOf(new Uint8Array(2500), 1000), 2500)).toBe(true);
    expect(fitsSize(blockCrcsOf(new Uint8Array(2500), 1000), 3001)).toBe(false);
  });

  it('covers a range with whole blocks, clipped to the body', () => {
    expect(coveringSpan({ start: 0, end: 0 }, 5000, 1000)).toEqual({ start: 0, end: 999 });
    expect(coveringSpan({ start: 999, end: 1000 }, 5000, 1000)).toEqual({ start: 0, end: 1999 });
    expect(coveringSpan({ start: 1000, end: 1999 }, 5000, 1000)).toEqual({ start: 1000, end: 1999 });
    expect(coveringSpan({ start: 4500, end: 4999 }, 5000, 1000)).toEqual({ start: 4000, end: 4999 });
    expect(coveringSpan({ start: 4500, end: 4600 }, 4601, 1000)).toEqual({ start: 4000, end: 4600 });
  });

  it('finds the first block that no longer matches', () => {
    const data = randomBytes(4000);
    const blocks = blockCrcsOf(data, 1000);
    expect(firstBadBlock(data, blocks)).toBe(-1);
    const bad = Buffer.from(data);
    bad[2500] = bad[2500]! ^ 1;
    expect(firstBadBlock(bad, blocks)).toBe(2);
    expect(firstBadBlock(bad.subarray(2000), blocks, 2)).toBe(2);
    expect(firstBadBlock(bad.subarray(3000), blocks, 3)).toBe(-1);
  });

  it('round-trips through the record encoding and refuses malformed ones', () => {
    const blocks = blockCrcsOf(randomBytes(5 * 1000 + 1), 1000);
    const encoded = encodeBlockCrcs(blocks);
    expect(JSON.parse(JSON.stringify(encoded))).toEqual(encoded);
    const back = decodeBlockCrcs(JSON.parse(JSON.stringify(encoded)));
    expect(back?.blockBytes).toBe(1000);
    expect([...(back?.crcs ?? [])]).toEqual([...blocks.crcs]);
    expect(decodeBlockCrcs([1000, 'AAA='])).toBeUndefined();
    expect(decodeBlockCrcs([0, ''])).toBeUndefined();
    expect(decodeBlockCrcs('x')).toBeUndefined();
  });
  it('uses 1 MiB blocks by default, for the builder and for bodies in memory', () => {
    expect(BLOCK_BYTES).toBe(1024 * 1024);
    const data = randomBytes(BLOCK_BYTES + 3);
    const builder = new BlockCrcBuilder();
    builder.update(data.subarray(0, 10));
    builder.update(data.subarray(10));
    const built = builder.finish();
    expect(built.blockBytes).toBe(BLOCK_BYTES);
    expect([...built.crcs]).toEqual([crc32(data.subarray(0, BLOCK_BYTES)), crc32(data.subarray(BLOCK_BYTES))]);
    expect([...blockCrcsOf(data).crcs]).toEqual([...built.crcs]);
    // finish() can be called again and sees later bytes too.
    builder.update(Buffer.from('x'));
    expect([...builder.finish().crcs]).toEqual([crc32(data.subarray(0, BLOCK_BYTES)), crc32(Buffer.concat([data.subarray(BLOCK_BYTES), Buffer.from('x')]))]);
  });

  it('fits a size only with exactly one CRC per block and a positive block size', () => {
    expect(fitsSize({ blockBytes: 1000, crcs: new Uint32Array(3) }, 3000)).toBe(true);
    expect(fitsSize({ blockBytes: 1000, crcs: new Uint32Array(3) }, 2001)).toBe(true);
    expect(fitsSize({ blockBytes: 1000, crcs: new Uint32Array(3) }, 2000)).toBe(false);
    expect(fitsSize({ blockBytes: 1000, crcs: new Uint32Array(0) }, 0)).toBe(true);
    expect(fitsSize({ blockBytes: 0, crcs: new Uint32Array(0) }, 0)).toBe(false);
    expect(fitsSize({ blockBytes: -1, crcs: new Uint32Array(0) }, 0)).toBe(false);
  });

  it('covers a range inside one block, at its edges, and over several blocks', () => {
    expect(coveringSpan({ start: 5, end: 7 }, 5000, 1000)).toEqual({ start: 0, end: 999 });
    expect(coveringSpan({ start: 1999, end: 2000 }, 5000, 1000)).toEqual({ start: 1000, end: 2999 });
    expect(coveringSpan({ start: 0, end: 4999 }, 5000, 1000)).toEqual({ start: 0, end: 4999 });
    expect(coveringSpan({ start: 2500, end: 2500 }, 2501, 1000)).toEqual({ start: 2000, end: 2500 });
  });

  it('checks a short last block on its own bytes', () => {
    const data = randomBytes(2500);
    const blocks = blockCrcsOf(data, 1000);
    const bad = Buffer.from(data);
    bad[2499] = bad[2499]! ^ 1;
    expect(firstBadBlock(bad, blocks)).toBe(2);
    expect(firstBadBlock(bad.subarray(0, 2000), blocks)).toBe(-1);
    expect(firstBadBlock(new Uint8Array(0), blocks)).toBe(-1);
  });

  it('stores CRCs as big-endian u32s in base64 and reads back exactly those', () => {
    const encoded = encodeBlockCrcs({ blockBytes: 4096, crcs: Uint32Array.from([1, 0xffffffff, 0x01020304]) });
    expect(encoded).toEqual([4096, Buffer.from([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]).toString('base64')]);
    const back = decodeBlockCrcs(encoded);
    expect(back?.blockBytes).toBe(4096);
    expect([...(back?.crcs ?? [])]).toEqual([1, 0xffffffff, 0x01020304]);
    expect([...(decodeBlockCrcs([7, ''])?.crcs ?? [9])]).toEqual([]);
  });

  it.each([
    ['a non-array', { blockBytes: 1, crcs: '' }],
    ['a short array', [1000]],
    ['a long array', [1000, '', '']],
    ['a fractional block size', [1.5, '']],
    ['a negative block size', [-1000, '']],
    ['a string block size', ['1000', '']],
    ['a non-string CRC list', [1000, [1, 2]]],
    ['a CRC list that is not whole u32s', [1000, Buffer.from([1, 2, 3, 4, 5]).toString('base64')]],
    ['an unsafe block size', [2 ** 53, '']],
  ])('decodes %s as no block CRCs', (_name, encoded) => {
    expect(decodeBlockCrcs(encoded)).toBeUndefined();
  });
});
