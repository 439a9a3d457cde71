/**
 * The pure set tracker: each replica set needs its own quorum, an ack counts for every set that
 * holds its node, the operation fails as soon as one set can no longer get its quorum, and a
 * fallback's ack counts for nobody under strict handoff but fills its owner's place when sloppy.
 */
import { describe, it, expect } from 'vitest';
import { QuorumSetTracker } from '../../../src/replication/quorum.js';
import { RingstoreError } from '../../../src/util/errors.js';

describe('QuorumSetTracker over several sets', () => {
  it('needs the quorum in every set, not in total', () => {
    const q = new QuorumSetTracker<true>({
      op: 'PutObject',
      sets: [
        ['a', 'b', 'c'],
        ['d', 'e', 'f'],
      ],
      needed: 2,
    });
    expect(q.succeed('a', true)).toBe('pending');
    expect(q.succeed('b', true)).toBe('pending');
    expect(q.succeed('c', true)).toBe('pending');
    expect(q.succeed('d', true)).toBe('pending');
    expect(q.succeed('e', true)).toBe('reached');
    expect(q.total).toBe(6);
  });

  it('counts one ack for every set holding its node (overlapping sets, as during a layout change)', () => {
    const q = new QuorumSetTracker<true>({
      op: 'PutObject',
      sets: [
        ['a', 'b', 'c'],
        ['b', 'c', 'd'],
      ],
      needed: 2,
    });
    expect(q.total).toBe(4);
    expect(q.succeed('b', true)).toBe('pending');
    expect(q.succeed('c', true)).toBe('reached');
  });

  it('an ack only in one of two overlapping sets leaves the other pending', () => {
    const q = new QuorumSetTracker<true>({
      op: 'PutObject',
      sets: [
        ['a', 'b', 'c'],
        ['b', 'c', 'd'],
      ],
      needed: 2,
    });
    q.succeed('a', true);
    expect(q.succeed('b', true)).toBe('pending');
    expect(q.succeed('d', true)).toBe('reached');
  });

  it('fails as soon as one set cannot reach its quorum, even when another set has it', () => {
    const q = new QuorumSetTracker<true>({
      op: 'PutObject',
      sets: [
        ['a', 'b', 'c'],
        ['c', 'd', 'e'],
      ],
      needed: 2,
    });
    q.succeed('a', true);
    q.succeed('b', true);
    expect(q.fail('d', new Error('down'))).toBe('pending');
    expect(q.fail('e', new RingstoreError('PeerUnavailable', 'gone'))).toBe('failed');
    const err = q.error();
    expect(err.code).toBe('QuorumNotReached');
    expect(err.message).toBe('PutObject: needed 2 in each of 2 replica sets ([a, b, c]: 2, [c, d, e]: 0), got 2 of 5 (d: down; e: PeerUnavailable: gone; 1 replica(s) did not answer)');
    expect(err.details).toMatchObject({ needed: 2, got: 2, total: 5, errors: { d: 'down', e: 'PeerUnavailable: gone' } });
  });

  it('a failure in the shared part of two sets counts against both', () => {
    const q = new QuorumSetTracker<true>({
      op: 'PutObject',
      sets: [
        ['a', 'b', 'c'],
        ['b', 'c', 'd'],
      ],
      needed: 2,
    });
    expect(q.fail('b', new Error('x'))).toBe('pending');
    expect(q.fail('c', new Error('y'))).toBe('failed');
  });

  it('a full disk anywhere makes the error InsufficientStorage', () => {
    const q = new QuorumSetTracker<true>({ op: 'PutObject', sets: [['a', 'b']], needed: 2 });
    q.fail('a', new RingstoreError('InsufficientStorage', 'disk full'));
    expect(q.state).toBe('failed');
    expect(q.error().code).toBe('InsufficientStorage');
  });

  it('says whether one more ack would complete every set', () => {
    const q = new QuorumSetTracker<true>({
      op: 'PutObject',
      sets: [
        ['a', 'b', 'c'],
        ['c', 'd', 'e'],
      ],
      needed: 2,
    });
    expect(q.wouldReach('c')).toBe(false);
    q.succeed('a', true);
    q.succeed('d', true);
    expect(q.wouldReach('c')).toBe(true);
    expect(q.wouldReach('b')).toBe(false);
    expect(q.wouldReach('x')).toBe(false);
  });

  it('refuses an empty list of sets', () => {
    expect(() => new QuorumSetTracker({ op: 'x', sets: [], needed: 1 })).toThrow(/at least one replica set/);
  });
});

describe('fallbacks (hinted handoff)', () => {
  const standIns = new Map([['f', 'c']]);

  it('strict: a fallback ack counts for nobody, so a down owner still costs the quorum', () => {
    const q = new QuorumSetTracker<true>({ op: 'PutObject', sets: [['a', 'b', 'c']], needed: 3, standIns });
    q.succeed('a', true);
    q.succeed('b', true);
    expect(q.succeed('f', true)).toBe('pending');
    expect(q.fail('c', new Error('down'))).toBe('failed');
    expect(q.total).toBe(4);
  });

  it('sloppy: a fallback ack fills its owner place in the owner set', () => {
    const q = new QuorumSetTracker<true>({ op: 'PutObject', sets: [['a', 'b', 'c']], needed: 3, standIns, sloppy: true });
    q.succeed('a', true);
    q.succeed('b', true);
    expect(q.fail('c', new Error('down'))).toBe('pending');
    expect(q.wouldReach('f')).toBe(true);
    expect(q.succeed('f', true)).toBe('reached');
  });

  it('sloppy: an owner and its fallback together count once', () => {
    const q = new QuorumSetTracker<true>({ op: 'PutObject', sets: [['a', 'b', 'c']], needed: 2, standIns, sloppy: true });
    q.succeed('c', true);
    expect(q.succeed('f', true)).toBe('pending');
    expect(q.wouldReach('f')).toBe(false);
    expect(q.succeed('a', true)).toBe('reached');
  });

  it('sloppy: the owner place is lost only when both the owner and its fallback failed', () => {
    const q = new QuorumSetTracker<true>({ op: 'PutObject', sets: [['a', 'b', 'c']], needed: 3, standIns, sloppy: true });
    q.succeed('a', true);
    q.succeed('b', true);
    expect(q.fail('c', new Error('down'))).toBe('pending');
    expect(q.fail('f', new Error('full'))).toBe('failed');
  });
});
