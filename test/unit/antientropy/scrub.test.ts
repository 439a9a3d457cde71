/**
 * The scrub worker over a real MemoryStore in virtual time: a pass reads every body (tombstones
 * and manifests have none), finds a corrupt copy through the store's checked read (which
 * quarantines it) and reports it, reports an already quarantined copy again, keeps to its byte
 * rate, resumes a pass stopped half-way, and starts passes only when due or asked for.
 */
import { describe, expect, it } from 'vitest';
import { ScrubWorker, SEEK_COST_BYTES, type ScrubSettings } from '../../../src/antientropy/scrub.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { silentLogger } from '../../../src/util/logger.js';
import { bodyOf, fixedRandom, plant } from '../../helpers/replica-faults.js';
import { VirtualTime } from './virtual-time.js';

const START = 1_800_000_000_000;

async function storeWith(keys: number, size: number): Promise<MemoryStore> {
  const store = new MemoryStore({ inlineThreshold: 1024, random: fixedRandom(3) });
  await store.open();
  for (let i = 0; i < keys; i++) await plant(store, `k${i}`, 1000 + i, bodyOf(size, i));
  return store;
}

function scrubber(store: MemoryStore, time: VirtualTime, settings: Partial<ScrubSettings> = {}) {
  const corrupt: { bucket: string; key: string; partition: number }[] = [];
  const worker = new ScrubWorker({
    source: store,
    clock: time,
    timers: time,
    logger: silentLogger,
    metrics: null,
    settings: { intervalMs: 7 * 86_400_000, maxBytesPerSecond: 1024 * 1024 * 1024, ...settings },
    onCorrupt: (bucket, key, partition) => corrupt.push({ bucket, key, partition }),
  });
  return { worker, corrupt };
}

describe('scrub worker', () => {
  it('reads every body once per pass and skips tombstones and multipart manifests', async () => {
    const store = await storeWith(40, 3000);
    await plant(store, 'gone', 5000, null);
    await plant(store, 'multi', 5001, Buffer.alloc(0), { size: 12, etag: 'x-2', parts: [{ bucket: '.parts', key: 'p1', version: { hlc: 1, node: 'n1' }, size: 12, etag: 'p' }] });
    const time = new VirtualTime(START);
    const { worker, corrupt } = scrubber(store, time);
    await time.run(worker.runOnce(new AbortController().signal));
    const p = worker.progress();
    expect(p).toMatchObject({ passes: 1, running: false, partitionsDone: 65_536, objectsChecked: 40, bytesChecked: 40 * 3000, corruptions: 0, readErrors: 0 });
    expect(corrupt).toEqual([]);
  });

  it('finds a corrupt copy, which the store quarantines, and reports it with its partition; the next pass reports it again until repaired', async () => {
    const store = await storeWith(20, 5000);
    store.corruptForTest('b', 'k7', 4321);
    const time = new VirtualTime(START);
    const { worker, corrupt } = scrubber(store, time, { intervalMs: 1000 });
    await time.run(worker.runOnce(new AbortController().signal));
    const [partition] = await partitionsOf(store, 'k7');
    expect(corrupt).toEqual([{ bucket: 'b', key: 'k7', partition }]);
    expect(worker.progress()).toMatchObject({ objectsChecked: 19, corruptions: 1, corruptionsTotal: 1 });
    expect((await store.head('b', 'k7'))?.record.storage).toBe('quarantined');
    time.advance(1000);
    await time.run(worker.runOnce(new AbortController().signal));
    expect(corrupt).toHaveLength(2);
    expect(worker.progress()).toMatchObject({ passes: 2, corruptions: 0, quarantinedSeen: 1, corruptionsTotal: 1 });
  });

  it('keeps to its byte rate (each object charged its bytes plus a seek)', async () => {
    const store = await storeWith(50, 100_000);
    const time = new VirtualTime(START);
    const rate = 1024 * 1024;
    const { worker } = scrubber(store, time, { maxBytesPerSecond: rate });
    await time.run(worker.runOnce(new AbortController().signal));
    const charged = 50 * (100_000 + SEEK_COST_BYTES);
    // Up to one second of work runs ahead of the rate.
    expect(time.now() - START).toBeGreaterThanOrEqual((charged / rate) * 1000 - 1000);
    expect(worker.progress().bytesPerSecond).toBeLessThanOrEqual(rate * 1.5);
  });

  it('resumes a pass stopped half-way instead of starting over', async () => {
    const store = await storeWith(60, 50_000);
    const time = new VirtualTime(START);
    const { worker } = scrubber(store, time, { maxBytesPerSecond: 200_000 });
    const stop = new AbortController();
    const step = worker.runOnce(stop.signal).then(
      () => 'finished',
      (err: unknown) => (err as Error).message,
    );
    // Abort once the pass is part-way (the limiter then sleeps on a virtual timer).
    await time.run(
      (async () => {
        while (worker.progress().objectsChecked < 20) await new Promise((r) => setImmediate(r));
        stop.abort(new Error('stopped'));
      })(),
    );
    expect(await step).toBe('stopped');
    const half = worker.progress();
    expect(half.passes).toBe(0);
    expect(half.partitionsDone).toBeGreaterThan(0);
    expect(half.partitionsDone).toBeLessThan(65_536);
    await time.run(worker.runOnce(new AbortController().signal));
    const p = worker.progress();
    expect(p.passes).toBe(1);
    expect(p.startedMs).toBe(half.startedMs);
    // At most the page in progress is read twice.
    expect(p.objectsChecked).toBeGreaterThanOrEqual(60);
    expect(p.objectsChecked).toBeLessThan(60 + 20);
  });

  it('starts a pass only when due or asked for; scrubNow resolves when the asked-for pass ends', async () => {
    const store = await storeWith(5, 2000);
    const time = new VirtualTime(START);
    const { worker } = scrubber(store, time, { intervalMs: 60_000 });
    const signal = new AbortController().signal;
    await time.run(worker.runOnce(signal));
    time.advance(1000);
    await time.run(worker.runOnce(signal));
    expect(worker.progress().passes).toBe(1);
    const asked = worker.scrubNow();
    expect(worker.progress().requested).toBe(1);
    await time.run(worker.runOnce(signal));
    const done = await asked;
    expect(done).toMatchObject({ passes: 2, running: false, objectsChecked: 5, requested: 0 });
    time.advance(60_000);
    await time.run(worker.runOnce(signal));
    expect(worker.progress().passes).toBe(3);
  });
});

async function partitionsOf(store: MemoryStore, key: string): Promise<number[]> {
  const found: number[] = [];
  const digests = store.partitionDigests();
  for (let p = 0; p < 65_536; p++) {
    if (digests[p] === 0n) continue;
    const page = await store.scanPartition(p, { limit: 1000 });
    if (page.entries.some((e) => e.key === key)) found.push(p);
  }
  return found;
}
