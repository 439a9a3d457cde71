/**
 * Listing over replicas (coverage query, N=3 R=2): each key appears once at its newest version,
 * tombstoned keys are dropped, pages are exact, and a replica failing in the middle of a listing
 * is replaced without losing keys. Buckets, listed and checked on the same paths.
 */
import { describe, it, expect } from 'vitest';
import { Buckets } from '../../../src/model/buckets.js';
import { HARNESS_NOW, IDS, injected, plant, putInput, replicaHarness, within, type Harness, type NodeId } from '../../helpers/replica-faults.js';

const OLD = 1000 * 1024;
const NEW = 2000 * 1024;

/** Plants `key` on `on` at `hlc` (null data: a tombstone). */
async function on(h: Harness, ids: readonly NodeId[], key: string, hlc: number, data: string | null): Promise<void> {
  for (const id of ids) await plant(h.stores[id], key, hlc, data === null ? null : Buffer.from(data));
}

const keys = (page: { records: { key: string }[] }): string[] => page.records.map((r) => r.key);

describe('listPage', () => {
  it.each(IDS)('coordinated by %s: newest version per key, tombstones dropped, whichever two replicas it asks', async (self) => {
    const h = await replicaHarness({ self });
    // Each key is on at least two replicas, as a write at W=2 leaves it.
    await on(h, ['n1', 'n2', 'n3'], 'a', OLD, 'a-old');
    await on(h, ['n2', 'n3'], 'a', NEW, 'a-new');
    await on(h, ['n1', 'n3'], 'b', OLD, 'b-live');
    await on(h, ['n1', 'n2'], 'b', NEW, null);
    await on(h, ['n1', 'n2'], 'c', OLD, 'c');
    await on(h, ['n2', 'n3'], 'd', NEW, null);
    await on(h, ['n1', 'n3'], 'e', NEW, 'e');
    const page = await h.coordinator.listPage('b', { limit: 10 });
    expect(page.records.map((r) => [r.key, r.version.hlc])).toEqual([
      ['a', NEW],
      ['c', OLD],
      ['e', NEW],
    ]);
    expect(page.exhausted).toBe(true);
  });

  it('pages: limit, startAfter and prefix; exhausted only on the last page', async () => {
    const h = await replicaHarness();
    for (const k of ['p/1', 'p/2', 'p/3', 'q/1']) await on(h, IDS, k, NEW, k);
    const first = await h.coordinator.listPage('b', { prefix: 'p/', limit: 2 });
    expect([keys(first), first.exhausted]).toEqual([['p/1', 'p/2'], false]);
    const second = await h.coordinator.listPage('b', { prefix: 'p/', startAfter: 'p/2', limit: 2 });
    expect([keys(second), second.exhausted]).toEqual([['p/3'], true]);
    const exact = await h.coordinator.listPage('b', { prefix: 'p/', limit: 3 });
    expect([keys(exact), exact.exhausted]).toEqual([['p/1', 'p/2', 'p/3'], true]);
  });

  it('a replica failing in the middle of a listing is replaced; no key is lost or doubled', async () => {
    const h = await replicaHarness();
    // 150 tombstones ahead of the live keys: the listing needs more than one round of replica calls.
    const live: string[] = [];
    for (let i = 0; i < 300; i++) {
      const key = `k${String(i).padStart(4, '0')}`;
      if (i < 150) await on(h, IDS, key, NEW, null);
      else {
        await on(h, IDS, key, NEW, key);
        live.push(key);
      }
    }
    // Whichever peer is asked fails its second call (once).
    let failed = false;
    const fault = (call: number): Error | undefined => {
      if (call !== 1 || failed) return undefined;
      failed = true;
      return injected('list');
    };
    h.replicas.n2.listFault = fault;
    h.replicas.n3.listFault = fault;
    const page = await within(h.coordinator.listPage('b', { limit: 100 }), 2000, 'list');
    expect(keys(page)).toEqual(live.slice(0, 100));
    expect(page.exhausted).toBe(false);
    expect(h.replicas.n2.count('list:failed') + h.replicas.n3.count('list:failed')).toBe(1);
    const rest = await h.coordinator.listPage('b', { startAfter: live[99]!, limit: 100 });
    expect([keys(rest), rest.exhausted]).toEqual([live.slice(100), true]);
  });

  it('a listing with no replica answering is QuorumNotReached naming them', async () => {
    const h = await replicaHarness();
    await on(h, IDS, 'a', NEW, 'a');
    for (const id of IDS) h.replicas[id].down = true;
    await expect(within(h.coordinator.listPage('b', { limit: 10 }), 2000, 'list')).rejects.toMatchObject({
      code: 'QuorumNotReached',
      message: expect.stringMatching(/ListObjects: some keys have no live replica \(failed: n\d, n\d, n\d\)/),
    });
  });
});

describe('buckets', () => {
  it('create, exists, list, not empty, remove', async () => {
    const h = await replicaHarness();
    const buckets = new Buckets(h.coordinator, { now: () => HARNESS_NOW });
    await buckets.create('alpha');
    await buckets.create('beta');
    await expect(buckets.create('alpha')).rejects.toMatchObject({ code: 'BucketAlreadyOwnedByYou' });
    await buckets.assertExists('alpha');
    await expect(buckets.assertExists('gamma')).rejects.toMatchObject({ code: 'NoSuchBucket' });
    expect((await buckets.list()).map((b) => b.name)).toEqual(['alpha', 'beta']);
    await h.coordinator.putObject(putInput('k', Buffer.from('x'), 'e', 'alpha'));
    await expect(buckets.remove('alpha')).rejects.toMatchObject({ code: 'BucketNotEmpty' });
    await h.coordinator.deleteObject('alpha', 'k');
    await buckets.remove('alpha');
    await expect(buckets.assertExists('alpha')).rejects.toMatchObject({ code: 'NoSuchBucket' });
    expect((await buckets.list()).map((b) => b.name)).toEqual(['beta']);
    // A bucket record is on at least W=2 replicas.
    expect(IDS.filter((id) => h.replicas[id].applied.some((m) => m.bucket === '.buckets' && m.key === 'beta')).length).toBeGreaterThanOrEqual(2);
  });

  it('a bucket created through one gateway exists at once for another, and a removed one is gone for it after its cache', async () => {
    let now = HARNESS_NOW;
    const h = await replicaHarness();
    const one = new Buckets(h.coordinator, { now: () => now });
    const other = new Buckets(await h.coordinatorOn('n2'), { now: () => now });
    await expect(other.assertExists('x')).rejects.toMatchObject({ code: 'NoSuchBucket' });
    await one.create('x');
    await other.assertExists('x');
    await one.remove('x');
    // Positive answers are cached for 2 s.
    await other.assertExists('x');
    now += 2000;
    await expect(other.assertExists('x')).rejects.toMatchObject({ code: 'NoSuchBucket' });
  });
});
