import { describe, it, expect } from 'vitest';
import { RECENT_COMMITS, type RecordView } from '../../../src/consensus/acceptor.js';
import type { Ballot } from '../../../src/consensus/ballot.js';
import { decide, evaluateCondition, highestRejection, openProposal, type ReceivedPromise } from '../../../src/consensus/proposer.js';

const b = (hlc: number, node = 'p'): Ballot => ({ hlc, node });
const rec = (hlc: number, etag = `e${hlc}`, tombstone = false): RecordView => ({ version: b(hlc, 'w'), tombstone, etag });
const INM = { kind: 'if-none-match' } as const;
const ifMatch = (etag: string) => ({ kind: 'if-match', etag }) as const;

describe('evaluateCondition', () => {
  it.each([
    ['If-None-Match on a missing key', INM, undefined, undefined],
    ['If-None-Match on a tombstone', INM, rec(1, '', true), undefined],
    ['If-None-Match on an object', INM, rec(1), 'precondition-failed'],
    ['If-Match on a missing key', ifMatch('e1'), undefined, 'no-such-key'],
    ['If-Match on a tombstone', ifMatch('e1'), rec(1, '', true), 'no-such-key'],
    ['If-Match with the etag', ifMatch('e1'), rec(1), undefined],
    ['If-Match with another etag', ifMatch('e2'), rec(1), 'precondition-failed'],
    ['If-Match: * on an object', ifMatch('*'), rec(1), undefined],
  ])('%s', (_name, condition, current, expected) => {
    expect(evaluateCondition(condition, current)).toBe(expected);
  });
});

describe('decide', () => {
  it('proposes when the condition holds on the newest record of the quorum', () => {
    const promises: ReceivedPromise<string>[] = [
      { from: 'a', record: rec(5) },
      { from: 'b', record: rec(7) },
    ];
    expect(decide(promises, 'r', ifMatch('e7'))).toEqual({ kind: 'propose', current: rec(7) });
    expect(decide(promises, 'r', ifMatch('e5'))).toEqual({ kind: 'refuse', refusal: 'precondition-failed', current: rec(7), catchUp: ['a'] });
  });

  it('a refusal names the promisers to bring the newest record to (absent ones too)', () => {
    const promises: ReceivedPromise<string>[] = [{ from: 'a' }, { from: 'b', record: rec(3) }, { from: 'c', record: rec(3) }];
    expect(decide(promises, 'r', INM)).toMatchObject({ kind: 'refuse', catchUp: ['a'] });
  });

  it('repairs the highest open proposal first, even when the condition would fail', () => {
    const promises: ReceivedPromise<string>[] = [
      { from: 'a', record: rec(5), accepted: { ballot: b(8), proposal: { id: 'x', value: 'vx' } } },
      { from: 'b', record: rec(5), accepted: { ballot: b(9), proposal: { id: 'y', value: 'vy' } } },
    ];
    expect(decide(promises, 'r', INM)).toEqual({ kind: 'repair', proposal: { id: 'y', value: 'vy' }, mine: false });
    expect(decide(promises, 'y', INM)).toEqual({ kind: 'repair', proposal: { id: 'y', value: 'vy' }, mine: true });
  });

  it('ignores an accepted proposal at or below a commit or record seen elsewhere in the quorum (finished)', () => {
    const promises: ReceivedPromise<string>[] = [
      { from: 'a', accepted: { ballot: b(8), proposal: { id: 'x', value: 'vx' } } },
      { from: 'b', committed: { ballot: b(9), id: 'y' }, record: { ...rec(9), version: b(9) } },
    ];
    expect(openProposal(promises)).toBeUndefined();
    expect(decide(promises, 'r', INM)).toMatchObject({ kind: 'refuse', refusal: 'precondition-failed' });
    const noopAbove: ReceivedPromise<string>[] = [promises[0]!, { from: 'b', committed: { ballot: b(9), id: 'q#noop' } }];
    expect(decide(noopAbove, 'r', INM)).toEqual({ kind: 'propose', current: undefined });
  });

  it('answers a retry of a request already committed with its success, not 412', () => {
    const promises: ReceivedPromise<string>[] = [
      { from: 'a', committed: { ballot: b(9), id: 'r' }, record: { ...rec(9), version: b(9) } },
      { from: 'b', record: rec(4) },
    ];
    expect(decide(promises, 'r', INM)).toEqual({ kind: 'already-applied' });
    // …also once a later write replaced it, as long as a promiser remembers the commit.
    const later: ReceivedPromise<string>[] = [
      { from: 'a', committed: { ballot: b(12), id: 'q' }, earlier: [{ ballot: b(9), id: 'r' }], record: rec(12) },
      { from: 'b', record: rec(12) },
    ];
    expect(decide(later, 'r', INM)).toEqual({ kind: 'already-applied' });
    expect(decide(later, 'other', INM)).toMatchObject({ kind: 'refuse' });
    // A record written by this request's commit (finished by another proposer) is its success too.
    expect(decide([{ from: 'a', record: { ...rec(9), writer: 'r' } }], 'r', INM)).toEqual({ kind: 'already-applied' });
  });

  it('indeterminate when this request sent its value and a promiser forgot commits back beyond it', () => {
    const earlier = Array.from({ length: RECENT_COMMITS - 1 }, (_, i) => ({ ballot: b(100 - i), id: `x${i}` }));
    const promises: ReceivedPromise<string>[] = [
      { from: 'a', committed: { ballot: b(200), id: 'y' }, earlier, record: rec(200) },
      { from: 'b', record: rec(200) },
    ];
    expect(decide(promises, 'r', INM, b(50))).toEqual({ kind: 'indeterminate' });
    expect(decide(promises, 'r', INM, b(90))).toMatchObject({ kind: 'refuse' });
    expect(decide(promises, 'r', INM)).toMatchObject({ kind: 'refuse' });
  });

  it('the highest rejection is the ballot to beat', () => {
    expect(highestRejection([{ higher: b(3) }, { higher: b(9) }, { higher: b(5) }])).toEqual(b(9));
    expect(highestRejection([])).toBeUndefined();
  });
});
