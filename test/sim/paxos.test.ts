/**
 * Per-key Paxos (src/consensus) in an in-memory simulation (test/helpers/paxos-sim.ts): the real
 * acceptor transitions and conditional-write loop, a network that loses, delays, reorders and
 * duplicates messages, acceptors restarting with their state kept. Every history must be
 * linearizable (test/helpers/linearizability.ts); a planted bug (an acceptor that forgets its
 * promises on restart) must be caught; 20 contenders on one key all decide within 1 s.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { checkLinearizable } from '../helpers/linearizability.js';
import { runPaxosSim, type PaxosSimOptions } from '../helpers/paxos-sim.js';

const faults = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  acceptors: fc.constantFrom(3, 5),
  clients: fc.integer({ min: 2, max: 4 }),
  opsPerClient: fc.integer({ min: 2, max: 5 }),
  keys: fc.integer({ min: 1, max: 2 }),
  loss: fc.double({ min: 0, max: 0.15, noNaN: true }),
  duplicate: fc.double({ min: 0, max: 0.15, noNaN: true }),
  maxDelayMs: fc.double({ min: 0.5, max: 8, noNaN: true }),
  restartEveryMs: fc.constantFrom(0, 5, 20),
  clockOffsetMs: fc.constantFrom(0, 3, 50),
});

/** Why a run is wrong, or undefined. */
async function violation(options: PaxosSimOptions): Promise<string | undefined> {
  const run = await runPaxosSim(options);
  const check = checkLinearizable(run.history, { budget: 500_000 });
  if (check.ok === false) return check.description;
  if (check.ok === 'unknown') return `checker: ${check.reason}`;
  for (const key of new Set(run.history.map((h) => h.key))) {
    const winners = run.history.filter((h) => h.key === key && h.op.kind === 'put-if-none-match' && h.result.status === 'ok');
    const creates = run.history.filter((h) => h.key === key && h.op.kind === 'put-if-none-match');
    if (options.workload === 'create' && winners.length > 1) return `key ${key}: ${winners.length} If-None-Match winners of ${creates.length}`;
  }
  return undefined;
}

describe('per-key Paxos under message loss, reordering, duplication and restarts', () => {
  it('every history is linearizable (mixed conditional, plain and read operations)', async () => {
    await fc.assert(
      fc.asyncProperty(faults, async (f) => {
        expect(await violation({ ...f, workload: 'mixed', plainWrites: f.clockOffsetMs === 0 })).toBeUndefined();
      }),
      { numRuns: 120 },
    );
  });

  it('If-None-Match racers: exactly one winner per key when nothing is lost, the stored value is the winner’s', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const run = await runPaxosSim({ seed, workload: 'create', clients: 6, opsPerClient: 1, keys: 2, maxDelayMs: 3 });
      expect(checkLinearizable(run.history).ok).toBe(true);
      for (const key of ['k0', 'k1']) {
        const creates = run.outcomes.filter((o) => o.key === key);
        if (creates.length === 0) continue;
        const winners = creates.filter((o) => o.outcome.kind === 'applied');
        expect(winners).toHaveLength(1);
        expect(creates.every((o) => ['applied', 'refused', 'conflict'].includes(o.outcome.kind))).toBe(true);
        const final = run.history.find((h) => h.key === key && h.client === 'final');
        expect(final?.result).toEqual({ status: 'ok', value: `${winners[0]!.client}.0` });
      }
    }
  });

  it('catches the planted bug: an acceptor that forgets its promises on restart', async () => {
    const result = await fc.check(
      fc.asyncProperty(faults, async (f) => (await violation({ ...f, workload: 'create', clients: 5, opsPerClient: 2, restartEveryMs: 3, forgetPromiseOnRestart: true })) === undefined),
      { numRuns: 400, seed: 12 },
    );
    expect(result.failed).toBe(true);
  });

  it('the same runs without the bug pass', async () => {
    await fc.assert(
      fc.asyncProperty(faults, async (f) => (await violation({ ...f, workload: 'create', clients: 5, opsPerClient: 2, restartEveryMs: 3 })) === undefined),
      { numRuns: 120, seed: 12 },
    );
  });
});

describe('contention', () => {
  it('20 clients racing If-None-Match on one key all decide within 1 s, one winner', async () => {
    let slowest = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const run = await runPaxosSim({ seed, workload: 'create', clients: 20, opsPerClient: 1, keys: 1, minDelayMs: 0.2, maxDelayMs: 1 });
      expect(run.outcomes).toHaveLength(20);
      expect(run.outcomes.filter((o) => o.outcome.kind === 'applied')).toHaveLength(1);
      for (const o of run.outcomes) {
        expect(['applied', 'refused', 'conflict']).toContain(o.outcome.kind);
        slowest = Math.max(slowest, o.endedAt - o.startedAt);
      }
    }
    expect(slowest).toBeLessThan(1000);
  });
});
