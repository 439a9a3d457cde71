import { describe, expect, it } from 'vitest';
import { entriesRequestCodec, entriesResponseCodec, summariesRequestCodec, summariesResponseCodec } from '../../../src/antientropy/codec.js';
import type { EntriesResponse } from '../../../src/antientropy/types.js';

describe('merkle codecs', () => {
  it('round-trip every message', () => {
    const sreq = {
      layoutVersion: 7,
      from: 'n1',
      nodes: [
        { level: 0, index: 0 },
        { level: 3, index: 4095 },
      ],
    };
    expect(summariesRequestCodec.decode(summariesRequestCodec.encode(sreq))).toEqual(sreq);
    const children = Array.from({ length: 16 }, (_, i) => (i % 3 === 0 ? 0n : (1n << 63n) | BigInt(i)));
    const sres = { layoutVersion: 7, summaries: [children, children.map(() => 0n)] };
    expect(summariesResponseCodec.decode(summariesResponseCodec.encode(sres))).toEqual(sres);
    const ereq = { layoutVersion: 7, partitions: [0, 300, 65_535], after: 'b\0k', limit: 4096 };
    expect(entriesRequestCodec.decode(entriesRequestCodec.encode(ereq))).toEqual(ereq);
    const eres: EntriesResponse = {
      groups: [
        {
          partition: 5,
          entries: [
            { bucket: 'b', key: 'k1', version: { hlc: 1_800_000_000_000 * 1024 + 5, node: 'n1' }, tombstone: false, storage: 'blob', size: 5 * 1024 ** 3 },
            { bucket: 'b', key: 'k2 ✓', version: { hlc: 2, node: 'n1' }, tombstone: true, storage: 'inline', size: 0 },
          ],
        },
        { partition: 9, entries: [{ bucket: 'c', key: 'x', version: { hlc: 3, node: 'n2' }, tombstone: false, storage: 'quarantined', size: 4 }] },
        { partition: 10, entries: [] },
      ],
      next: { partition: 10, after: 'c\0y' },
    };
    expect(entriesResponseCodec.decode(entriesResponseCodec.encode(eres))).toEqual(eres);
  });

  it('keeps the in-sync answer small: 16 summaries in 132 bytes, empty ranges in none', () => {
    const full = summariesResponseCodec.encode({ layoutVersion: 1, summaries: [Array.from({ length: 16 }, (_, i) => BigInt(i + 1))] });
    expect(full.length).toBe(1 + 1 + 1 + 2 + 16 * 8);
    const empty = summariesResponseCodec.encode({ layoutVersion: 1, summaries: [Array.from({ length: 16 }, () => 0n)] });
    expect(empty.length).toBe(5);
  });

  it('rejects malformed messages with RpcProtocol', () => {
    const good = summariesRequestCodec.encode({ layoutVersion: 1, from: 'n1', nodes: [{ level: 0, index: 0 }] });
    expect(() => summariesRequestCodec.decode(good.subarray(0, good.length - 1))).toThrow(expect.objectContaining({ code: 'RpcProtocol' }));
    expect(() => summariesRequestCodec.decode(new Uint8Array([...good, 0]))).toThrow(/trailing bytes/);
    expect(() => summariesResponseCodec.decode(good)).toThrow(/expected message type 2/);
    const leaf = summariesRequestCodec.encode({ layoutVersion: 1, from: 'n1', nodes: [{ level: 4, index: 0 }] });
    expect(() => summariesRequestCodec.decode(leaf)).toThrow(/not an interior tree node/);
    const outOfRange = entriesRequestCodec.encode({ layoutVersion: 1, partitions: [65_536], limit: 1 });
    expect(() => entriesRequestCodec.decode(outOfRange)).toThrow(/partition 65536 out of range/);
    const noLimit = entriesRequestCodec.encode({ layoutVersion: 1, partitions: [1], limit: 0 });
    expect(() => entriesRequestCodec.decode(noLimit)).toThrow(/limit/);
    // An entry that says "same bucket as before" with no entry before it.
    const orphan = new Uint8Array([4, 1, 0, 1, 8 | 16, 1, 0x6b, 1, 0, 0]);
    expect(() => entriesResponseCodec.decode(orphan)).toThrow(/previous entry/);
  });
});
