import { describe, it, expect } from 'vitest';
import { RECENT_COMMITS, accept, admitPlainWrite, commit, isEmptyState, prepare, purgeable, type AcceptorState, type RecordView } from '../../../src/consensus/acceptor.js';
import { ballotAtWallMs, type Ballot } from '../../../src/consensus/ballot.js';

const b = (hlc: number, node = 'n1'): Ballot => ({ hlc, node });
const record = (hlc: number, tombstone = false): RecordView => ({ version: b(hlc, 'w'), tombstone, etag: tombstone ? '' : `e${hlc}` });
const empty: AcceptorState<string> = {};
const QUIET = b(1000, '');

describe('prepare', () => {
  it('promises a first ballot and reports nothing accepted', () => {
    const { state, reply } = prepare(empty, b(10));
    expect(reply).toEqual({ kind: 'promise' });
    expect(state.promised).toEqual(b(10));
  });

  it('refuses a ballot at or below its promise, naming the promise', () => {
    const { state } = prepare(empty, b(10, 'n2'));
    expect(prepare(state, b(10, 'n1')).reply).toEqual({ kind: 'reject', higher: b(10, 'n2') });
    expect(prepare(state, b(10, 'n2')).reply).toEqual({ kind: 'reject', higher: b(10, 'n2') });
    expect(prepare(state, b(9, 'n3')).state).toBe(state);
    expect(prepare(state, b(10, 'n3')).reply.kind).toBe('promise');
  });

  it('carries the accepted proposal of the open instance, its latest commit and its record', () => {
    let s = accept(prepare(empty, b(10)).state, b(10), { id: 'r1', value: 'v1' }).state;
    s = commit(s, b(10), { id: 'r1', value: 'v1' }).state;
    s = accept(prepare(s, b(20)).state, b(20), { id: 'r2', value: 'v2' }).state;
    const { reply } = prepare(s, b(30), { record: record(10) });
    expect(reply).toEqual({ kind: 'promise', accepted: { ballot: b(20), proposal: { id: 'r2', value: 'v2' } }, committed: { ballot: b(10), id: 'r1' }, record: record(10) });
  });

  it('hides an accepted proposal at or below the record version or the horizon (it is finished)', () => {
    const s = accept(prepare(empty, b(10)).state, b(10), { id: 'r1', value: 'v1' }).state;
    expect(prepare(s, b(30), { record: record(15) }).reply).toEqual({ kind: 'promise', record: record(15) });
    expect(prepare(s, b(30), { horizon: b(10, 'z') }).reply).toEqual({ kind: 'promise' });
    expect(prepare(s, b(30), { record: record(5) }).reply).toMatchObject({ accepted: { ballot: b(10) } });
  });

  it('refuses a ballot at or below the record version (a plain write above it), or the horizon, marked settled (no contention)', () => {
    expect(prepare(empty, b(10), { record: record(10) }).reply).toEqual({ kind: 'reject', higher: record(10).version, settled: true });
    expect(prepare(empty, b(10), { record: record(12) }).reply).toEqual({ kind: 'reject', higher: record(12).version, settled: true });
    expect(prepare(empty, b(10), { horizon: ballotAtWallMs(1) }).reply).toEqual({ kind: 'reject', higher: ballotAtWallMs(1), settled: true });
    expect(prepare(prepare(empty, b(20)).state, b(15), { record: record(12) }).reply).toEqual({ kind: 'reject', higher: b(20) });
    expect(prepare(empty, b(2000), { horizon: ballotAtWallMs(1) }).reply.kind).toBe('promise');
  });
});

describe('accept', () => {
  it('accepts at the promised ballot or above, and the accept is a promise too', () => {
    const promised = prepare(empty, b(10)).state;
    const { state, reply } = accept(promised, b(10), { id: 'r', value: 'v' });
    expect(reply).toEqual({ kind: 'accepted' });
    expect(state).toEqual({ promised: b(10), accepted: { ballot: b(10), proposal: { id: 'r', value: 'v' } } });
    expect(accept(promised, b(11), { id: 'r', value: 'v' }).state.promised).toEqual(b(11));
    expect(prepare(state, b(10)).reply.kind).toBe('reject');
  });

  it('refuses below its promise', () => {
    const promised = prepare(empty, b(10)).state;
    expect(accept(promised, b(9, 'n9'), { id: 'r', value: 'v' })).toEqual({ state: promised, reply: { kind: 'reject', higher: b(10) } });
  });

  it('refuses at or below its latest commit or record (a late accept of a finished instance)', () => {
    const s = commit(empty, b(10), { id: 'r', value: 'v' }).state;
    expect(accept(s, b(10), { id: 'x', value: 'x' }).reply).toEqual({ kind: 'reject', higher: b(10) });
    expect(accept(empty, b(10), { id: 'x', value: 'x' }, { record: record(10) }).reply).toEqual({ kind: 'reject', higher: record(10).version });
    expect(accept(empty, b(10), { id: 'x', value: 'x' }, { horizon: ballotAtWallMs(1) }).reply.kind).toBe('reject');
  });
});

describe('commit', () => {
  it('records the commit, drops the accepted proposal it finishes, and applies a value', () => {
    const s = accept(prepare(empty, b(10)).state, b(10), { id: 'r', value: 'v' }).state;
    const done = commit(s, b(10), { id: 'r', value: 'v' });
    expect(done).toEqual({ state: { promised: b(10), committed: { ballot: b(10), id: 'r' } }, applies: true });
  });

  it('is taken whatever was promised since, and keeps a higher accepted proposal', () => {
    let s = accept(prepare(empty, b(20)).state, b(20), { id: 'r2', value: 'v2' }).state;
    s = commit(s, b(10), { id: 'r1', value: 'v1' }).state;
    expect(s).toEqual({ promised: b(20), accepted: { ballot: b(20), proposal: { id: 'r2', value: 'v2' } }, committed: { ballot: b(10), id: 'r1' } });
  });

  it('never moves the latest commit down; a no-op applies nothing', () => {
    const s = commit(empty, b(20), { id: 'r2', value: 'v2' }).state;
    expect(commit(s, b(10), { id: 'r1', value: 'v1' }).state.committed).toEqual({ ballot: b(20), id: 'r2' });
    expect(commit(empty, b(10), { id: 'n', value: null }).applies).toBe(false);
  });
});

describe('recent commits', () => {
  it('are remembered newest first, RECENT_COMMITS of them, late ones in their place', () => {
    let s: AcceptorState<string> = {};
    for (let i = 1; i <= RECENT_COMMITS + 3; i++) if (i !== 5) s = commit(s, b(i * 10), { id: `r${i}`, value: 'v' }).state;
    s = commit(s, b(50), { id: 'r5', value: 'v' }).state; // late
    s = commit(s, b(50), { id: 'r5', value: 'v' }).state; // duplicate
    const ids = [s.committed!, ...s.earlier!].map((c) => c.id);
    expect(ids).toHaveLength(RECENT_COMMITS);
    expect(ids[0]).toBe(`r${RECENT_COMMITS + 3}`);
    expect(ids).not.toContain('r1');
    expect(new Set(ids).size).toBe(ids.length);
    expect(prepare(s, b(10_000)).reply).toMatchObject({ committed: s.committed, earlier: s.earlier });
  });

  it('a no-op is kept only while it is the latest commit', () => {
    let s = commit({}, b(10), { id: 'r1', value: 'v' }).state;
    s = commit(s, b(20), { id: 'n1', value: null }).state;
    expect(s.committed).toEqual({ ballot: b(20), id: 'n1', noop: true });
    s = commit(s, b(30), { id: 'n2', value: null }).state;
    s = commit(s, b(40), { id: 'r2', value: 'v' }).state;
    expect([s.committed, ...s.earlier!].map((c) => c!.id)).toEqual(['r2', 'r1']);
  });
});

describe('plain writes', () => {
  it('are refused at or below the promise (the proposer read without them), taken above it or with no state', () => {
    const promised = prepare(empty, b(10)).state;
    expect(admitPlainWrite(promised, b(9, 'w'))).toEqual({ kind: 'reject', higher: b(10) });
    expect(admitPlainWrite(promised, b(10))).toEqual({ kind: 'reject', higher: b(10) });
    expect(admitPlainWrite(promised, b(11, 'w'))).toEqual({ kind: 'accepted' });
    expect(admitPlainWrite(empty, b(1, 'w'))).toEqual({ kind: 'accepted' });
  });
});

describe('purgeable', () => {
  const done = commit(accept(prepare(empty, b(10)).state, b(10), { id: 'r', value: 'v' }).state, b(10), { id: 'r', value: 'v' }).state;

  it('once the commit is on all replicas and the record covers every ballot of the state', () => {
    expect(purgeable(done, { record: { ...record(10), version: b(10) }, committedOnAll: true, quietBefore: QUIET })).toBe(true);
    expect(purgeable(done, { record: { ...record(10), version: b(10) }, committedOnAll: false, quietBefore: QUIET })).toBe(false);
  });

  it('not while a conditional write may still be running (its commit is newer than the quiet bound)', () => {
    expect(purgeable(done, { record: { ...record(10), version: b(10) }, committedOnAll: true, quietBefore: b(9, '') })).toBe(false);
  });

  it('not while a promise or an accepted proposal lies above the record (an instance is open)', () => {
    const promisedAbove = prepare(done, b(20)).state;
    expect(purgeable(promisedAbove, { record: { ...record(10), version: b(10) }, committedOnAll: true, quietBefore: QUIET })).toBe(false);
    expect(purgeable(promisedAbove, { record: record(25), committedOnAll: true, quietBefore: QUIET })).toBe(true);
  });

  it('not for a no-op commit above the record until the horizon passes it', () => {
    const noop = commit(done, b(30), { id: 'x#noop', value: null }).state;
    expect(purgeable(noop, { record: { ...record(10), version: b(10) }, committedOnAll: true, quietBefore: QUIET })).toBe(false);
    expect(purgeable(noop, { record: { ...record(10), version: b(10) }, horizon: b(31, ''), committedOnAll: true, quietBefore: QUIET })).toBe(true);
  });

  it('not once the record is gone (tombstone GC) unless the horizon covers the state', () => {
    expect(purgeable(done, { committedOnAll: true, quietBefore: QUIET })).toBe(false);
    expect(purgeable(done, { horizon: b(11, ''), committedOnAll: true, quietBefore: QUIET })).toBe(true);
  });

  it('a purged key refuses every ballot the forgotten state refused (the floor outlives the state)', () => {
    const open = accept(prepare(done, b(20)).state, b(20), { id: 'late', value: 'late' }).state;
    const ctx = { record: record(25) };
    expect(purgeable(open, { ...ctx, committedOnAll: true, quietBefore: QUIET })).toBe(true);
    for (const ballot of [b(10), b(20), b(25, 'w')]) {
      expect(prepare(empty, ballot, ctx).reply.kind).toBe('reject');
      expect(accept(empty, ballot, { id: 'late', value: 'late' }, ctx).reply.kind).toBe('reject');
    }
    expect(isEmptyState(empty)).toBe(true);
    expect(isEmptyState(open)).toBe(false);
  });
});
