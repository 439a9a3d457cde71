/**
 * The seeded deterministic simulator (test/helpers/simulation.ts): a run is a function of its
 * seed; 200 seeds of the faults today's code survives find no broken rule; and the checker
 * does find a planted quorum bug, so a clean run means something.
 *
 * CI runs SURVIVABLE_FAULTS (network partitions, one-way cuts, drops, delays, duplicates;
 * crashes with the disk kept; pauses). `wipe` (a disk lost) and `corrupt` (a flipped byte)
 * join once self-healing (hinted handoff, anti-entropy) lands; `clock` joins once a write that
 * loses to a version from a clock ahead within the bound is no longer acknowledged as is (the
 * last test shows the case).
 */
import { describe, expect, it } from 'vitest';
import { replayCommand, runSimulation, SURVIVABLE_FAULTS, type SimOptions } from '../helpers/simulation.js';

const SEEDS = Number(process.env['SIM_SEEDS'] ?? 200);

async function failing(seeds: Iterable<number>, base: Omit<SimOptions, 'seed'>): Promise<string[]> {
  const found: string[] = [];
  for (const seed of seeds) {
    const options = { ...base, seed };
    const result = await runSimulation(options);
    if (result.violations.length > 0) found.push(`seed ${seed}: ${result.violations[0]!.kind}: ${result.violations[0]!.message}\n  replay: ${replayCommand(options)}`);
  }
  return found;
}

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

describe('deterministic simulation', () => {
  it('replays a seed exactly: same schedule, same outcome; another seed differs', async () => {
    const a = await runSimulation({ seed: 42, faults: ['net', 'crash', 'pause', 'clock'], trace: true });
    const b = await runSimulation({ seed: 42, faults: ['net', 'crash', 'pause', 'clock'], trace: true });
    expect(b.trace).toEqual(a.trace);
    expect(b.digest).toBe(a.digest);
    expect(a.faults.length).toBeGreaterThan(0);
    const c = await runSimulation({ seed: 43, faults: ['net', 'crash', 'pause', 'clock'] });
    expect(c.digest).not.toBe(a.digest);
  });

  it(`keeps every acknowledged write over ${SEEDS} seeds of network faults, crashes and pauses`, { timeout: 240_000 }, async () => {
    const found = await failing(range(1, SEEDS), { faults: SURVIVABLE_FAULTS });
    expect(found, found.join('\n')).toEqual([]);
  });

  it('catches a planted bug: R=1, W=1 on N=3 (R+W <= N) returns stale reads and loses writes', async () => {
    const found = await failing(range(1, 10), { faults: ['net'], overrides: { replication: { writeQuorum: 1, readQuorum: 1 } } });
    expect(found.length).toBeGreaterThan(0);
    expect(found.join('\n')).toMatch(/stale-read|lost-write/);
  });

  it('injects wipes and corruption without breaking the simulator (not asserted clean until self-healing lands)', async () => {
    const result = await runSimulation({ seed: 3, faults: ['wipe', 'corrupt', 'net'] });
    expect((result.counts['fault.wipe'] ?? 0) + (result.counts['fault.corrupt'] ?? 0)).toBeGreaterThan(0);
    expect(result.counts['get.ok']).toBeGreaterThan(0);
  });

  // A known issue the simulator found: node A's clock runs 68 ms ahead (within the 250 ms
  // bound); a PUT through A is acknowledged, then a later PUT of the key through B gets a lower
  // version, every replica keeps A's, and B still acknowledges its write, which nobody will ever
  // read. When the coordinator re-versions such a write above the one it lost to, this test
  // fails: move 'clock' into SURVIVABLE_FAULTS then.
  it('finds sequential writes reordered by clock offsets within the bound (known issue, not in CI)', async () => {
    const found = await failing(range(1, 10), { faults: ['clock'] });
    expect(found.join('\n')).toMatch(/an older write came back/);
  });
});
