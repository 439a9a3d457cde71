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
});
