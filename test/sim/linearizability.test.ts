/** The linearizability checker (test/helpers/linearizability.ts): known good and bad histories, each able to fail. */
import { describe, it, expect } from 'vitest';
import { checkLinearizable, type HistoryOp, type OpResult, type RegisterOp } from '../helpers/linearizability.js';

const op = (client: string, call: number, ret: number | undefined, o: RegisterOp, result: OpResult, key = 'k'): HistoryOp => ({ key, client, call, ret, op: o, result });
const read = (v: string | null): [RegisterOp, OpResult] => [{ kind: 'read' }, { status: 'ok', value: v }];
const write = (v: string | null): [RegisterOp, OpResult] => [{ kind: 'write', value: v }, { status: 'ok' }];
const create = (v: string, status: OpResult['status'] = 'ok'): [RegisterOp, OpResult] => [{ kind: 'put-if-none-match', value: v }, { status }];
const swap = (etag: string, v: string | null, status: OpResult['status'] = 'ok'): [RegisterOp, OpResult] => [{ kind: 'put-if-match', etag, value: v }, { status }];
const at = (client: string, call: number, ret: number | undefined, [o, r]: [RegisterOp, OpResult], key?: string): HistoryOp => op(client, call, ret, o, r, key);

function expectFails(history: HistoryOp[], mention?: RegExp): string {
  const result = checkLinearizable(history);
  expect(result.ok).toBe(false);
  if (result.ok !== false) return '';
  if (mention) expect(result.description).toMatch(mention);
  return result.description;
}

describe('linearizable histories pass', () => {
  it('sequential writes and reads', () => {
    const h = [at('a', 0, 1, write('x')), at('b', 2, 3, read('x')), at('a', 4, 5, write('y')), at('b', 6, 7, read('y'))];
    expect(checkLinearizable(h).ok).toBe(true);
  });

  it('a read concurrent with a write may see either value', () => {
    for (const seen of ['x', 'y']) {
      const h = [at('a', 0, 1, write('x')), at('a', 2, 10, write('y')), at('b', 3, 4, read(seen))];
      expect(checkLinearizable(h).ok).toBe(true);
    }
  });

  it('one winner of If-None-Match among concurrent creators, the others 412 or 409', () => {
    const h = [at('a', 0, 5, create('A')), at('b', 0, 6, create('B', 'precondition-failed')), at('c', 1, 7, create('C', 'conflict')), at('d', 8, 9, read('A'))];
    expect(checkLinearizable(h).ok).toBe(true);
  });

  it('If-Match chains, a 404 on a missing key, a conditional delete', () => {
    const h = [
      at('a', 0, 1, swap('x', 'y', 'no-such-key')),
      at('a', 2, 3, create('x')),
      at('b', 4, 5, swap('x', 'y')),
      at('c', 4, 6, swap('x', 'z', 'precondition-failed')),
      at('a', 7, 8, swap('y', null)),
      at('b', 9, 10, read(null)),
    ];
    expect(checkLinearizable(h).ok).toBe(true);
  });

  it('an indeterminate write may have happened (seen later) or not (never seen)', () => {
    const happened = [at('a', 0, undefined, [{ kind: 'write', value: 'x' }, { status: 'unknown' }]), at('b', 5, 6, read('x'))];
    const didNot = [at('a', 0, undefined, [{ kind: 'write', value: 'x' }, { status: 'unknown' }]), at('b', 5, 6, read(null))];
    expect(checkLinearizable(happened).ok).toBe(true);
    expect(checkLinearizable(didNot).ok).toBe(true);
    // …and it may take effect long after its call, between two reads.
    const late = [...didNot, at('b', 7, 8, read('x'))];
    expect(checkLinearizable(late).ok).toBe(true);
  });

  it('keys are independent (P-compositionality)', () => {
    const h = [at('a', 0, 1, write('x'), 'k1'), at('a', 0, 1, write('y'), 'k2'), at('b', 2, 3, read('y'), 'k2'), at('b', 2, 3, read('x'), 'k1')];
    expect(checkLinearizable(h).ok).toBe(true);
  });
});

describe('non-linearizable histories fail, with a minimal counter-example', () => {
  it('a stale read: an older value after a newer one was read', () => {
    const h = [at('a', 0, 1, write('x')), at('a', 2, 3, write('y')), at('b', 4, 5, read('y')), at('c', 6, 7, read('x')), at('d', 8, 9, read('y'))];
    const d = expectFails(h, /stale|read/);
    expect(d).toContain('read → "x"');
    expect(d).not.toContain('[8, 9]'); // shrunk away: not needed for the failure
  });

  it('a lost write: an acknowledged write never seen by a read after it', () => {
    const h = [at('a', 0, 1, write('x')), at('b', 2, 3, write('y')), at('c', 4, 5, read('x'))];
    expectFails(h, /write "y"/);
  });

  it('two winners of If-None-Match: *', () => {
    const h = [at('a', 0, 5, create('A')), at('b', 1, 6, create('B')), at('c', 7, 8, read('B'))];
    expectFails(h, /If-None-Match/);
  });

  it('an If-None-Match that won although the key existed', () => {
    const h = [at('a', 0, 1, write('x')), at('b', 2, 3, create('B'))];
    expectFails(h);
  });

  it('a 412 for If-Match when the etag did match, and a 404 on an existing key', () => {
    expectFails([at('a', 0, 1, write('x')), at('b', 2, 3, swap('x', 'y', 'precondition-failed'))]);
    expectFails([at('a', 0, 1, write('x')), at('b', 2, 3, swap('q', 'y', 'no-such-key'))]);
  });

  it('an indeterminate write cannot explain a value read before it was called', () => {
    const h = [at('b', 0, 1, read('x')), at('a', 2, undefined, [{ kind: 'write', value: 'x' }, { status: 'unknown' }])];
    expectFails(h);
  });

  it('an indeterminate write cannot take effect twice', () => {
    const h = [at('a', 0, undefined, [{ kind: 'write', value: 'x' }, { status: 'unknown' }]), at('b', 1, 2, read('x')), at('b', 3, 4, write('y')), at('b', 5, 6, read('x'))];
    expectFails(h);
  });

  it('a 409 or a refused op observed nothing and had no effect', () => {
    const h = [at('a', 0, 1, create('A', 'conflict')), at('b', 2, 3, read('A'))];
    expectFails(h);
  });
});

describe('bounds', () => {
  it('answers unknown, not a guess, when the step budget runs out', () => {
    const h: HistoryOp[] = [];
    for (let i = 0; i < 14; i++) h.push(at(`c${i}`, 0, 100, write(`v${i}`)));
    h.push(at('r', 101, 102, read('nope')));
    const result = checkLinearizable(h, { budget: 1000 });
    expect(result.ok).toBe('unknown');
  });

  it('checks 200 ops of 5 concurrent clients on one key in well under a second', () => {
    const h: HistoryOp[] = [];
    let value: string | null = null;
    for (let i = 0; i < 200; i++) {
      const t = i * 10;
      if (i % 3 === 0) {
        value = `v${i}`;
        h.push(at(`c${i % 5}`, t, t + 25, write(value)));
      } else h.push(at(`c${i % 5}`, t + 26, t + 30, read(value)));
    }
    const started = performance.now();
    expect(checkLinearizable(h).ok).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
