/**
 * The pure rules under the replication core, pinned precisely: a peer's first outcome is the one
 * that counts, a quorum error says exactly who failed and how many never answered, and a listing
 * merge is complete only up to the smallest last key of any truncated page, keeping the first
 * (local) copy of a version seen twice.
 */
import { describe, it, expect } from 'vitest';
import { QuorumSetTracker } from '../../../src/replication/quorum.js';
import { mergeReplicaPages } from '../../../src/replication/list-merge.js';
import type { ObjectRecord } from '../../../src/store/types.js';
import { RingstoreError } from '../../../src/util/errors.js';

function rec(key: string, hlc: number, storage: ObjectRecord['storage'] = 'inline'): ObjectRecord {
  return { bucket: 'b', key, version: { hlc, node: 'n1' }, tombstone: false, size: 0, etag: '', contentType: '', userMeta: {}, crc32: 0, storage };
}

describe('quorum tracker rules', () => {
  it('a peer that failed cannot later count as a success, and a success keeps its first value', () => {
    const q = new QuorumSetTracker<number>({ op: 'GetObject', sets: [['n1', 'n2', 'n3']], needed: 2 });
    q.fail('n1', new Error('boom'));
    expect(q.succeed('n1', 1)).toBe('pending');
    expect(q.successes.size).toBe(0);
    expect(q.succeed('n2', 2)).toBe('pending');
    expect(q.succeed('n2', 3)).toBe('pending');
    expect(q.successes.get('n2')).toBe(2);
    expect(q.state).toBe('pending');
  });

  it('the quorum error lists each failing peer and only mentions unanswered replicas when there are some', () => {
    const all = new QuorumSetTracker<number>({ op: 'PutObject', sets: [['n1', 'n2']], needed: 2 });
    all.fail('n1', new RingstoreError('PeerUnavailable', 'down'));
    all.fail('n2', new Error('boom'));
    const e = all.error();
    expect(e.code).toBe('QuorumNotReached');
    expect(e.message).toBe('PutObject: needed 2 of 2 replicas, got 0 (n1: PeerUnavailable: down; n2: boom)');
    expect(e.details).toEqual({ op: 'PutObject', needed: 2, got: 0, total: 2, errors: { n1: 'PeerUnavailable: down', n2: 'boom' } });

    const some = new QuorumSetTracker<number>({ op: 'GetObject', sets: [['n1', 'n2', 'n3']], needed: 2 });
    some.fail('n3', new Error('x'));
    expect(some.error().message).toBe('GetObject: needed 2 of 3 replicas, got 0 (n3: x; 2 replica(s) did not answer)');
  });

  it('a quorum error with no failures and no missing replicas says "no errors"', () => {
    const q = new QuorumSetTracker<number>({ op: 'GetObject', sets: [['n1', 'n2']], needed: 3 });
    q.succeed('n1', 1);
    q.succeed('n2', 2);
    expect(q.error().message).toBe('GetObject: needed 3 of 2 replicas, got 2 (no errors)');
  });

  it('a needed count below one is refused with the value named', () => {
    expect(() => new QuorumSetTracker({ op: 'x', sets: [['n1', 'n2', 'n3']], needed: 0 })).toThrow('quorum needed must be ≥ 1, got 0');
  });
});

describe('listing merge rules', () => {
  it('an empty truncated page sets no bound', () => {
    const merged = mergeReplicaPages([
      { records: [], truncated: true },
      { records: [rec('a', 1), rec('b', 1)], truncated: false },
    ]);
    expect(merged.bound).toBeUndefined();
    expect(merged.records.map((r) => r.key)).toEqual(['a', 'b']);
  });

  it('the bound is the smallest last key of the truncated pages, whatever their order', () => {
    for (const order of [0, 1]) {
      const pages = [
        { records: [rec('a', 1), rec('c', 1)], truncated: true },
        { records: [rec('b', 1), rec('d', 1)], truncated: true },
      ];
      if (order) pages.reverse();
      const merged = mergeReplicaPages(pages);
      expect(merged.bound).toBe('c');
      expect(merged.records.map((r) => r.key)).toEqual(['a', 'b', 'c']);
    }
    const later = mergeReplicaPages([
      { records: [rec('a', 1), rec('d', 1)], truncated: true },
      { records: [rec('b', 1)], truncated: true },
    ]);
    expect(later.bound).toBe('b');
    expect(later.records.map((r) => r.key)).toEqual(['a', 'b']);
  });

  it('of two copies of the same version, the first page (the local replica) wins', () => {
    const local = rec('k', 5, 'blob');
    const remote = rec('k', 5, 'quarantined');
    const merged = mergeReplicaPages([
      { records: [local], truncated: false },
      { records: [remote], truncated: false },
    ]);
    expect(merged.records).toHaveLength(1);
    expect(merged.records[0]).toBe(local);
  });
});
