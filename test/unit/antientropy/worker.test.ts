/** The anti-entropy worker over three in-memory replicas, in virtual time. */
import { beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { SharedPartitions } from '../../../src/antientropy/shared.js';
import { AntiEntropyWorker, type AntiEntropySettings, type AntiEntropyWorkerOptions } from '../../../src/antientropy/worker.js';
import type { PartitionPlacement } from '../../../src/antientropy/types.js';
import { createMetrics } from '../../../src/metrics/definitions.js';
import { createHasher, type Hasher } from '../../../src/ring/hasher.js';
import { silentLogger } from '../../../src/util/logger.js';
import { FakeRepairer, FakeReplica, entry, link, newTraffic, placement } from './fakes.js';
import { VirtualTime } from './virtual-time.js';

const NOW = 1_800_000_000_000;
const DAY = 86_400_000;
const IDS = ['n1', 'n2', 'n3'];
let hasher: Hasher;

beforeAll(async () => {
  hasher = await createHasher();
});

const SETTINGS: AntiEntropySettings = { intervalMs: 600_000, maxPartitionsPerSecond: 1_000_000, maxBytesPerSecond: 1e12, batchPartitions: 64, tombstoneGraceMs: DAY };

function cluster(keys: number, settings: Partial<AntiEntropySettings> = {}, layout: PartitionPlacement = placement(IDS), extra: Pick<AntiEntropyWorkerOptions, 'direction'> = {}) {
  const time = new VirtualTime(NOW);
  const base = new FakeReplica('n1', hasher);
  for (let i = 0; i < keys; i++) base.set(entry('b', `k${i}`, { hlc: (NOW - 60_000) * 1024 + i, node: 'n1' }, { size: 1000 }));
  const replicas = IDS.map((id) => base.clone(id));
  const traffic = newTraffic();
  const down = new Set<string>();
  const repairer = new FakeRepairer(replicas);
  const metrics = createMetrics(new Registry(), { version: 'test', commit: 'test' });
  const byId = new Map(replicas.map((r) => [r.id, r]));
  const workers = replicas.map(
    (r) =>
      new AntiEntropyWorker({
        self: r.id,
        source: r,
        placement: () => layout,
        shared: new SharedPartitions(r.id),
        peer: (id) =>
          link(
            byId.get(id)!,
            () => layout,
            traffic,
            () => down.has(id),
          ),
        isUp: (id) => !down.has(id),
        repairer,
        clock: time,
        timers: time,
        logger: silentLogger,
        metrics,
        settings: { ...SETTINGS, ...settings },
        ...extra,
      }),
  );
  const run = (w: number): Promise<void> => time.run(workers[w]!.runOnce(new AbortController().signal));
  const counter = async (name: string): Promise<number> => (await metrics.registry.getSingleMetric(name)!.get()).values.reduce((n, v) => n + v.value, 0);
  return { time, replicas, traffic, down, repairer, workers, run, counter };
}

describe('AntiEntropyWorker', () => {
  it('in sync: compares every shared partition, repairs nothing, moves a few hundred bytes', async () => {
    const c = cluster(5000);
    await c.run(0);
    const p = c.workers[0]!.progress();
    expect(p).toMatchObject({ passes: 1, running: false, partitionsTotal: 2 * 65_536, partitionsCompared: 2 * 65_536, partitionsDiffering: 0, keysRepaired: 0 });
    expect(c.repairer.copies).toEqual([]);
    expect(c.traffic.bytes).toBeLessThan(400);
    expect(await c.counter('ringstore_antientropy_partitions_compared_total')).toBe(2 * 65_536);
  });

  it('one missing key: exactly that key is pulled', async () => {
    const c = cluster(5000);
    c.replicas[0]!.delete('b', 'k77');
    await c.run(0);
    expect(c.repairer.copies.map((i) => [i.key, i.source, i.target, i.reason])).toEqual([['k77', 'n2', 'n1', 'missing']]);
    expect(c.replicas[0]!.get('b', 'k77')).toEqual(c.replicas[1]!.get('b', 'k77'));
    expect(c.workers[0]!.progress()).toMatchObject({ keysRepaired: 1, bytesRepaired: 1000, partitionsDiffering: 1 });
    expect(await c.counter('ringstore_antientropy_keys_repaired_total')).toBe(1);
    expect(await c.counter('ringstore_antientropy_bytes_repaired_total')).toBe(1000);
  });

  it('a wiped replica is refilled with every key by its own pass', async () => {
    const c = cluster(3000);
    c.replicas[2]!.wipe();
    await c.run(2);
    expect(c.replicas[2]!.all()).toEqual(c.replicas[0]!.all());
    // Pulled once from the first peer; the second finds nothing left to do.
    expect(c.repairer.copies).toHaveLength(3000);
    expect(c.workers[2]!.progress()).toMatchObject({ keysRepaired: 3000, bytesRepaired: 3_000_000 });
  });

  it('a wiped replica is also refilled by a peer pushing to it', async () => {
    const c = cluster(2000);
    c.replicas[2]!.wipe();
    await c.run(0);
    expect(c.replicas[2]!.all()).toEqual(c.replicas[0]!.all());
    expect(c.repairer.copies.every((i) => i.source === 'n1' && i.target === 'n3' && i.reason === 'missing')).toBe(true);
  });

  it('replaces a quarantined copy with the good body of the same version', async () => {
    const c = cluster(1000);
    const good = c.replicas[1]!.get('b', 'k5')!;
    c.replicas[1]!.set({ ...good, storage: 'quarantined' });
    await c.run(1);
    expect(c.replicas[1]!.get('b', 'k5')).toEqual(good);
    expect(c.repairer.copies.map((i) => i.reason)).toEqual(['quarantined']);
  });

  it('does not bring back a tombstone older than the grace to a replica without it', async () => {
    const c = cluster(100);
    const old = entry('b', 'gone', { hlc: (NOW - 2 * DAY) * 1024, node: 'n1' }, { tombstone: true, size: 0 });
    const recent = entry('b', 'just-gone', { hlc: (NOW - 1000) * 1024, node: 'n1' }, { tombstone: true, size: 0 });
    c.replicas[0]!.set(old);
    c.replicas[1]!.set(old);
    c.replicas[0]!.set(recent);
    await c.run(0);
    await c.run(2);
    expect(c.replicas[2]!.get('b', 'gone')).toBeUndefined();
    expect(c.replicas[2]!.get('b', 'just-gone')).toEqual(recent);
    expect(c.replicas[1]!.get('b', 'just-gone')).toEqual(recent);
    expect(c.repairer.copies.map((i) => i.key).sort()).toEqual(['just-gone', 'just-gone']);
  });

  it('paces differing partitions and bytes at the configured rates, on the injected timers', async () => {
    const c = cluster(400, { maxPartitionsPerSecond: 50, maxBytesPerSecond: 100_000, batchPartitions: 10 });
    c.replicas[0]!.wipe();
    const started = c.time.now();
    await c.run(0);
    const elapsed = c.time.now() - started;
    const { partitionsDiffering, bytesRepaired } = c.workers[0]!.progress();
    expect(bytesRepaired).toBe(400_000);
    // One second of each may run ahead of the rate.
    expect(elapsed).toBeGreaterThanOrEqual(((partitionsDiffering - 50) / 50) * 1000);
    expect(elapsed).toBeGreaterThanOrEqual(((bytesRepaired - 100_000) / 100_000) * 1000);
    expect(elapsed).toBeLessThan(60_000);
    expect(c.time.sleeps.length).toBeGreaterThan(0);
  });

  it('runs a pass only when due or asked for, and resolves repairNow at its end', async () => {
    const c = cluster(100);
    await c.run(0);
    expect(c.workers[0]!.progress().passes).toBe(1);
    await c.run(0);
    expect(c.workers[0]!.progress().passes).toBe(1);
    c.replicas[0]!.delete('b', 'k1');
    const done = c.workers[0]!.repairNow();
    await c.run(0);
    await expect(done).resolves.toMatchObject({ passes: 2, keysRepaired: 1, running: false });
    c.time.advance(600_000);
    await c.run(0);
    expect(c.workers[0]!.progress().passes).toBe(3);
  });

  it('compares a prioritized partition with its peers before any pass is due', async () => {
    const c = cluster(100);
    await c.run(0);
    c.replicas[0]!.delete('b', 'k9');
    const before = c.traffic.summaryRequests;
    c.workers[0]!.prioritize(c.replicas[0]!.partitionOf('b', 'k9'));
    expect(c.workers[0]!.progress().queued).toBe(1);
    await c.run(0);
    expect(c.replicas[0]!.get('b', 'k9')).toBeDefined();
    expect(c.traffic.summaryRequests).toBe(before);
    expect(c.workers[0]!.progress()).toMatchObject({ queued: 0, passes: 1 });
  });

  it('skips a down peer and one whose exchange fails, and reports it', async () => {
    const c = cluster(100);
    c.replicas[0]!.delete('b', 'k3');
    c.down.add('n2');
    await c.run(0);
    expect(c.workers[0]!.progress()).toMatchObject({ peersSkipped: 1, keysRepaired: 1 });
    expect(c.repairer.copies.map((i) => i.source)).toEqual(['n3']);
  });

  it('counts a failed copy and keeps going', async () => {
    const c = cluster(100);
    c.replicas[0]!.delete('b', 'k3');
    c.repairer.failWith = new Error('disk full');
    await c.run(0);
    expect(c.workers[0]!.progress()).toMatchObject({ repairFailures: 2, keysRepaired: 0, passes: 1 });
    expect(await c.counter('ringstore_antientropy_repair_failures_total')).toBe(2);
  });

  it('reports a rate and an ETA while a pass runs', async () => {
    const c = cluster(200, { maxPartitionsPerSecond: 20, batchPartitions: 5 });
    c.replicas[0]!.wipe();
    const signal = new AbortController().signal;
    const pass = c.workers[0]!.runOnce(signal);
    let seen: ReturnType<AntiEntropyWorker['progress']> | undefined;
    const watch = (async () => {
      while (!seen) {
        await new Promise((resolve) => setImmediate(resolve));
        const p = c.workers[0]!.progress();
        if (p.running && p.etaMs !== undefined && p.partitionsCompared > 0 && p.partitionsCompared < p.partitionsTotal) seen = p;
      }
    })();
    await c.time.run(pass);
    await watch;
    expect(seen!.partitionsPerSecond).toBeGreaterThan(0);
    expect(seen!.etaMs).toBeGreaterThan(0);
    expect(seen!.peer).toBe('n2');
  });

  it('stops a paced pass when aborted, and rejects the repairNow waiting for it', async () => {
    const c = cluster(200, { maxPartitionsPerSecond: 5, batchPartitions: 5 });
    c.replicas[0]!.wipe();
    const controller = new AbortController();
    const done = expect(c.workers[0]!.repairNow()).rejects.toThrow('stopping');
    const pass = c.workers[0]!.runOnce(controller.signal);
    const stopper = (async () => {
      while (c.time.sleeps.length === 0) await new Promise((resolve) => setImmediate(resolve));
      controller.abort(new Error('stopping'));
    })();
    await expect(c.time.run(pass)).rejects.toThrow('stopping');
    await stopper;
    await done;
    expect(c.workers[0]!.progress()).toMatchObject({ running: false, passes: 0 });
    expect(c.replicas[0]!.all().length).toBeLessThan(200);
  });

  it("direction 'pull' copies only what this node lacks, never to its peers", async () => {
    const c = cluster(1000, {}, placement(IDS), { direction: 'pull' });
    c.replicas[0]!.delete('b', 'k1');
    c.replicas[1]!.delete('b', 'k2');
    await c.run(0);
    expect(c.repairer.copies.map((i) => [i.key, i.target])).toEqual([['k1', 'n1']]);
    expect(c.replicas[1]!.get('b', 'k2')).toBeUndefined();
    expect(c.replicas[0]!.all()).toHaveLength(1000);
  });

  it('exchangeWith compares with that peer alone before any pass is due', async () => {
    const c = cluster(500);
    await c.run(0);
    c.replicas[0]!.delete('b', 'k9');
    c.workers[0]!.exchangeWith('n3');
    expect(c.workers[0]!.progress().queued).toBe(1);
    await c.run(0);
    expect(c.repairer.copies.map((i) => [i.key, i.source, i.target])).toEqual([['k9', 'n3', 'n1']]);
    expect(c.workers[0]!.progress()).toMatchObject({ passes: 1, queued: 0 });
  });

  it('with copies in flight at once, a wiped replica gets each key exactly once', async () => {
    const c = cluster(2000, { repairConcurrency: 16 });
    c.replicas[1]!.wipe();
    await c.run(1);
    expect(c.replicas[1]!.all()).toEqual(c.replicas[0]!.all());
    expect(c.repairer.copies).toHaveLength(2000);
    expect(c.workers[1]!.progress()).toMatchObject({ keysRepaired: 2000, bytesRepaired: 2_000_000, bytesMoved: 2_000_000 });
  });
});
