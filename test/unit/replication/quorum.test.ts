import { describe, it, expect } from 'vitest';
import { QuorumSetTracker } from '../../../src/replication/quorum.js';
import { RingstoreError } from '../../../src/util/errors.js';

describe('QuorumSetTracker, one set', () => {
  it('reaches the quorum at exactly `needed` successes', () => {
    const q = new QuorumSetTracker<number>({ op: 'PutObject', sets: [['n1', 'n2', 'n3']], needed: 2 });
    expect(q.succeed('n1', 1)).toBe('pending');
    expect(q.succeed('n2', 2)).toBe('reached');
    expect([...q.successes.keys()]).toEqual(['n1', 'n2']);
  });

  it('fails as soon as the quorum cannot be reached any more', () => {
    const q = new QuorumSetTracker<number>({ op: 'PutObject', sets: [['n1', 'n2', 'n3']], needed: 2 });
    expect(q.fail('n1', new Error('boom'))).toBe('pending');
    expect(q.fail('n2', new RingstoreError('RpcTimeout', 'no answer in 5000 ms'))).toBe('failed');
  });

  it('ignores a second outcome from the same peer', () => {
    const q = new QuorumSetTracker<number>({ op: 'GetObject', sets: [['n1', 'n2']], needed: 2 });
    q.succeed('n1', 1);
    q.fail('n1', new Error('late'));
    q.succeed('n1', 3);
    expect(q.state).toBe('pending');
    expect(q.failures.size).toBe(0);
  });

  it('explains a failure: needed, got and each peer error', () => {
    const q = new QuorumSetTracker<number>({ op: 'PutObject', sets: [['n1', 'n2', 'n3']], needed: 2 });
    q.succeed('n1', 1);
    q.fail('n2', new RingstoreError('PeerUnavailable', 'connect ECONNREFUSED 127.0.0.1:9101'));
    const err = q.error();
    expect(err.code).toBe('QuorumNotReached');
    expect(err.message).toContain('needed 2 of 3 replicas, got 1');
    expect(err.message).toContain('n2: PeerUnavailable: connect ECONNREFUSED');
    expect(err.message).toContain('1 replica(s) did not answer');
    expect(err.details['errors']).toEqual({ n2: 'PeerUnavailable: connect ECONNREFUSED 127.0.0.1:9101' });
  });

  it('rejects a quorum of zero', () => {
    expect(() => new QuorumSetTracker({ op: 'x', sets: [['n1', 'n2', 'n3']], needed: 0 })).toThrow(/≥ 1/);
  });
});
