import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { AcceptorState } from '../../../src/consensus/acceptor.js';
import { DEFAULT_BACKOFF, retryDelayMs, withinBudget } from '../../../src/consensus/backoff.js';
import { decodeAcceptorState, encodeAcceptorState, stringValues } from '../../../src/consensus/codec.js';
import { seededRandom } from '../../../src/util/random.js';
import { isErrorCode } from '../../../src/util/errors.js';

describe('retryDelayMs', () => {
  it('is jittered under a cap that doubles per attempt up to maxMs', () => {
    const random = seededRandom(7);
    for (let attempt = 1; attempt <= 12; attempt++) {
      const cap = Math.min(DEFAULT_BACKOFF.maxMs, DEFAULT_BACKOFF.baseMs * 2 ** (attempt - 1));
      const delays = Array.from({ length: 200 }, () => retryDelayMs(attempt, random));
      expect(Math.max(...delays)).toBeLessThanOrEqual(cap);
      expect(Math.max(...delays)).toBeGreaterThan(cap * 0.8);
      expect(Math.min(...delays)).toBeLessThan(cap * 0.2);
    }
  });

  it('stays within the budget', () => {
    expect(withinBudget(0, 900, 50)).toBe(true);
    expect(withinBudget(0, 990, 50)).toBe(false);
  });
});

const ballot = fc.record({ hlc: fc.maxSafeNat(), node: fc.string() });
const state: fc.Arbitrary<AcceptorState<string>> = fc.record(
  {
    promised: ballot,
    accepted: fc.record({ ballot, proposal: fc.record({ id: fc.string(), value: fc.option(fc.string(), { nil: null }) }) }),
    committed: fc.oneof(fc.record({ ballot, id: fc.string() }), fc.record({ ballot, id: fc.string(), noop: fc.constant(true as const) })),
    earlier: fc.array(fc.record({ ballot, id: fc.string() }), { minLength: 1, maxLength: 15 }),
  },
  { requiredKeys: [] },
);

describe('acceptor state codec', () => {
  it('round-trips every state', () => {
    fc.assert(
      fc.property(state, (s) => {
        expect(decodeAcceptorState(encodeAcceptorState(s, stringValues), stringValues)).toEqual(s);
      }),
    );
  });

  it('an empty state is two bytes; a settled one a few dozen', () => {
    expect(encodeAcceptorState({}, stringValues)).toHaveLength(2);
    const settled = { promised: { hlc: 1_800_000_000_000 * 1024, node: 'n1' }, committed: { ballot: { hlc: 1_800_000_000_000 * 1024, node: 'n1' }, id: 'a'.repeat(36) } };
    expect(encodeAcceptorState(settled, stringValues).length).toBeLessThan(70);
  });

  it('refuses truncated, trailing, unknown and malformed bytes with RpcProtocol', () => {
    const good = encodeAcceptorState({ accepted: { ballot: { hlc: 5, node: 'n' }, proposal: { id: 'i', value: 'v' } } }, stringValues);
    const bad = [good.subarray(0, good.length - 1), Uint8Array.from([...good, 0]), Uint8Array.from([2, 0]), Uint8Array.from([1, 64]), Uint8Array.from([1, 4]), Uint8Array.from([1, 1, 5, 1, 0xff])];
    for (const bytes of bad) {
      let caught: unknown;
      try {
        decodeAcceptorState(bytes, stringValues);
      } catch (err) {
        caught = err;
      }
      expect(isErrorCode(caught, 'RpcProtocol')).toBe(true);
    }
  });
});
