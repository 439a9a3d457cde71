import { describe, it, expect } from 'vitest';
import { mergeReplicaPages } from '../../../src/replication/list-merge.js';
import type { ObjectRecord } from '../../../src/store/types.js';

function rec(key: string, hlc: number, tombstone = false): ObjectRecord {
  return { bucket: 'b', key, version: { hlc, node: 'n1' }, tombstone, size: 0, etag: '', contentType: '', userMeta: {}, crc32: 0, storage: 'inline' };
}

describe('mergeReplicaPages', () => {
  it('keeps the newest version of each key, tombstones included', () => {
    const merged = mergeReplicaPages([
      { records: [rec('a', 1), rec('b', 5, true)], truncated: false },
      { records: [rec('a', 3), rec('b', 2), rec('c', 1)], truncated: false },
    ]);
    expect(merged.bound).toBeUndefined();
    expect(merged.records.map((r) => [r.key, r.version.hlc, r.tombstone])).toEqual([
      ['a', 3, false],
      ['b', 5, true],
      ['c', 1, false],
    ]);
  });

  it('cuts at the smallest last key of a truncated page', () => {
    const merged = mergeReplicaPages([
      { records: [rec('a', 1), rec('b', 1)], truncated: true },
      { records: [rec('a', 1), rec('c', 1), rec('d', 1)], truncated: false },
    ]);
    expect(merged.bound).toBe('b');
    expect(merged.records.map((r) => r.key)).toEqual(['a', 'b']);
  });

  it('orders keys by UTF-8 bytes, as S3 lists them', () => {
    // U+FF5E (3 UTF-8 bytes) sorts before U+1F600 (4 bytes), unlike UTF-16 order.
    const merged = mergeReplicaPages([{ records: [rec('\uff5e', 1), rec('\u{1F600}', 1)], truncated: false }]);
    expect(merged.records.map((r) => r.key)).toEqual(['\uff5e', '\u{1F600}']);
  });
});
