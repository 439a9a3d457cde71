/**
 * The store-gc worker (orphan-collector.ts): the start pass collects everything whatever its age,
 * periodic passes only what is older than the orphan age, and the counts reach status and metrics.
 * Over a real LevelStore: only blob files older than the age and referenced by no record go.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Metrics } from '../../../src/metrics/definitions.js';
import { LevelStore } from '../../../src/store/level-store.js';
import { OrphanCollector } from '../../../src/store/orphan-collector.js';
import type { LocalStore, OrphanCounts } from '../../../src/store/types.js';
import { cryptoRandom } from '../../../src/util/random.js';

const HOUR = 60 * 60 * 1000;

function fakeStore(results: OrphanCounts[]): { store: LocalStore; ages: (number | undefined)[] } {
  const ages: (number | undefined)[] = [];
  const store = {
    async collectOrphans(options?: { olderThanMs?: number }): Promise<OrphanCounts> {
      ages.push(options?.olderThanMs);
      return results.shift() ?? { temp: 0, staged: 0, unreferenced: 0 };
    },
  } as unknown as LocalStore;
  return { store, ages };
}

function fakeMetrics(): { metrics: Metrics; incs: [Record<string, string>, number | undefined][] } {
  const incs: [Record<string, string>, number | undefined][] = [];
  const metrics = { gcCollected: { inc: (labels: Record<string, string>, n?: number) => incs.push([labels, n]) } } as unknown as Metrics;
  return { metrics, incs };
}

describe('OrphanCollector', () => {
  it('collects at any age on the start pass and at the orphan age on each periodic pass', async () => {
    const { store, ages } = fakeStore([]);
    const collector = new OrphanCollector(store, { olderThanMs: 5 * HOUR, metrics: null });
    expect(collector.name).toBe('store-gc');
    await collector.startupPass();
    await collector.runOnce(new AbortController().signal);
    await collector.runOnce(new AbortController().signal);
    expect(ages).toEqual([0, 5 * HOUR, 5 * HOUR]);
  });

  it('does not collect when the pass is already aborted', async () => {
    const { store, ages } = fakeStore([]);
    const collector = new OrphanCollector(store, { olderThanMs: HOUR, metrics: null });
    const reason = new Error('stopping');
    await expect(collector.runOnce(AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(ages).toEqual([]);
    expect(collector.status()).toMatchObject({ runs: 0, lastRunMs: undefined });
  });

  it('returns each pass its counts, sums them in status and counts each non-zero kind in the metric', async () => {
    const { store } = fakeStore([
      { temp: 2, staged: 0, unreferenced: 5 },
      { temp: 0, staged: 3, unreferenced: 0 },
    ]);
    const { metrics, incs } = fakeMetrics();
    const collector = new OrphanCollector(store, { olderThanMs: HOUR, metrics });
    const before = Date.now();
    expect(await collector.startupPass()).toEqual({ temp: 2, staged: 0, unreferenced: 5 });
    await collector.runOnce(new AbortController().signal);
    const status = collector.status();
    expect(status).toMatchObject({ runs: 2, collected: { temp: 2, staged: 3, unreferenced: 5 } });
    expect(status['lastRunMs']).toBeGreaterThanOrEqual(before);
    expect(status['lastRunMs']).toBeLessThanOrEqual(Date.now());
    expect(incs).toEqual([
      [{ kind: 'temp' }, 2],
      [{ kind: 'unreferenced' }, 5],
      [{ kind: 'staged' }, 3],
    ]);
  });

  it('is a no-op for a store that cannot leak', async () => {
    const { metrics, incs } = fakeMetrics();
    const collector = new OrphanCollector({} as LocalStore, { olderThanMs: HOUR, metrics });
    expect(await collector.startupPass()).toEqual({ temp: 0, staged: 0, unreferenced: 0 });
    expect(collector.status()).toMatchObject({ runs: 1, collected: { temp: 0, staged: 0, unreferenced: 0 } });
    expect(incs).toEqual([]);
  });

  describe('over a LevelStore', () => {
    let dir = '';
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    async function blobFiles(): Promise<string[]> {
      return (await readdir(join(dir, 'blobs'), { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => e.name)
        .sort();
    }

    it('only removes blob files older than the orphan age that no record references', async () => {
      dir = await mkdtemp(join(tmpdir(), 'ringstore-gc-'));
      const store = new LevelStore({ dir, fsync: false, inlineThreshold: 1024, random: cryptoRandom });
      await store.open();
      try {
        const data = randomBytes(5000);
        const staged = await store.stage(
          (async function* () {
            yield data;
          })(),
        );
        await store.commit(
          { bucket: 'b', key: 'kept', version: { hlc: 1, node: 'n' }, tombstone: false, size: data.length, etag: 'e', contentType: 't', userMeta: {} },
          { kind: 'staged', id: staged.id },
        );
        const oldOrphan = 'a1'.repeat(16);
        const youngOrphan = 'b2'.repeat(16);
        await writeFile(join(dir, 'blobs', 'a1', oldOrphan), 'x');
        await writeFile(join(dir, 'blobs', 'b2', youngOrphan), 'y');
        const old = new Date(Date.now() - 3 * HOUR);
        await utimes(join(dir, 'blobs', 'a1', oldOrphan), old, old);
        await utimes(join(dir, 'blobs', staged.id.slice(0, 2), staged.id), old, old);
        const { metrics, incs } = fakeMetrics();
        const collector = new OrphanCollector(store, { olderThanMs: 2 * HOUR, metrics });

        await collector.runOnce(new AbortController().signal);
        expect(await blobFiles()).toEqual([staged.id, youngOrphan].sort());
        expect(incs).toEqual([[{ kind: 'unreferenced' }, 1]]);
        // The start pass takes every unreferenced file, young ones included, and never a referenced one.
        expect(await collector.startupPass()).toEqual({ temp: 0, staged: 0, unreferenced: 1 });
        expect(await blobFiles()).toEqual([staged.id]);
        expect((await store.head('b', 'kept'))?.record.storage).toBe('blob');
      } finally {
        await store.close();
      }
    });
  });
});
