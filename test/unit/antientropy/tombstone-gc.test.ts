/**
 * Tombstone GC over three real MemoryStores (n1..n3, N=3): a tombstone is purged only once it is
 * older than the grace and every other replica holds that same tombstone or nothing; a replica
 * that cannot be asked, or holds another version, keeps it everywhere. Then the resurrection
 * case end to end through the coordinators (one per node, as gateways): a replica is down for a
 * delete, the grace passes, it returns holding the old live version, and the key stays deleted
 * on every gateway before, during and after the purge, which waits until the returned replica
 * holds the tombstone too. The anti-entropy plan agrees: it copies an expired tombstone over an
 * older live version, and never to a replica that holds nothing.
 */
import { describe, expect, it } from 'vitest';
import { planPartition } from '../../../src/antientropy/plan.js';
import { TombstoneGcWorker } from '../../../src/antientropy/tombstone-gc.js';
import type { MemoryStore } from '../../../src/store/memory-store.js';
import type { ReplicaApi } from '../../../src/store/types.js';
import { silentLogger } from '../../../src/util/logger.js';
import { HARNESS_NOW, IDS, holdings, plant, putInput, replicaHarness, type NodeId } from '../../helpers/replica-faults.js';

const GRACE = 86_400_000;
/** An HLC at a wall-clock ms (util/clock.ts keeps 1024 logical ticks per ms). */
const hlcAt = (wallMs: number): number => wallMs * 1024;

function gcOn(self: NodeId, stores: Record<NodeId, MemoryStore>, replicas: Record<NodeId, ReplicaApi>, now: () => number, owners: readonly string[] = IDS) {
  return new TombstoneGcWorker({
    self,
    source: stores[self],
    ownersOf: () => owners,
    headOn: async (owner, bucket, key, signal) => (await replicas[owner as NodeId].head(bucket, key, {}, signal))?.record,
    clock: { now },
    logger: silentLogger,
    metrics: null,
    settings: { graceMs: GRACE, intervalMs: 60_000 },
  });
}

const signal = new AbortController().signal;

describe('tombstone GC', () => {
  it('purges an expired tombstone once every replica holds it; the others then purge theirs too', async () => {
    const h = await replicaHarness();
    for (const id of IDS) await plant(h.stores[id], 'k', hlcAt(HARNESS_NOW), null);
    let now = HARNESS_NOW + GRACE;
    const gc = Object.fromEntries(IDS.map((id) => [id, gcOn(id, h.stores, h.replicas, () => now)])) as Record<NodeId, TombstoneGcWorker>;
    // Not older than the grace yet.
    expect((await gc.n1.pass(signal)).purged).toBe(0);
    now += 1;
    expect(await gc.n1.pass(signal)).toMatchObject({ expired: 1, purged: 1 });
    expect(await h.stores.n1.head('b', 'k')).toBeUndefined();
    // n1 answers "nothing" now, which is no obstacle: its tombstone went only once all held it.
    expect((await gc.n2.pass(signal)).purged).toBe(1);
    expect((await gc.n3.pass(signal)).purged).toBe(1);
    expect(await holdings(h.stores, 'k')).toEqual({ n1: null, n2: null, n3: null });
  });

  it('keeps it while a replica cannot be asked or holds another version', async () => {
    const h = await replicaHarness();
    const now = HARNESS_NOW + GRACE + 10;
    await plant(h.stores.n1, 'k', hlcAt(HARNESS_NOW), null);
    await plant(h.stores.n2, 'k', hlcAt(HARNESS_NOW), null);
    await plant(h.stores.n3, 'k', hlcAt(HARNESS_NOW - 5000), Buffer.from('old live body'));
    const gc = gcOn('n1', h.stores, h.replicas, () => now);
    expect(await gc.pass(signal)).toMatchObject({ expired: 1, purged: 0, keptDiffering: 1 });
    h.replicas.n3.down = true;
    expect(await gc.pass(signal)).toMatchObject({ expired: 1, purged: 0, keptUnreachable: 1 });
    // A different tombstone version is another version too.
    h.replicas.n3.down = false;
    await plant(h.stores.n3, 'k', hlcAt(HARNESS_NOW) + 1, null);
    expect(await gc.pass(signal)).toMatchObject({ purged: 0, keptDiffering: 1 });
    expect((await h.stores.n1.head('b', 'k'))?.record.tombstone).toBe(true);
  });

  it('leaves alone the keys of partitions this node does not own (a fallback copy is hint delivery’s)', async () => {
    const h = await replicaHarness();
    await plant(h.stores.n1, 'k', hlcAt(HARNESS_NOW), null);
    const gc = gcOn('n1', h.stores, h.replicas, () => HARNESS_NOW + 2 * GRACE, ['n2', 'n3']);
    expect(await gc.pass(signal)).toMatchObject({ expired: 0, purged: 0 });
    expect(await h.stores.n1.head('b', 'k')).toBeDefined();
  });

  it('a replica that missed a delete and returns after the grace never resurrects it, on any gateway', async () => {
    let now = HARNESS_NOW;
    const h = await replicaHarness({ now: () => now });
    const gateways = await Promise.all(IDS.map((id) => h.coordinatorOn(id, { now: () => now })));
    await h.coordinator.putObject(putInput('k', Buffer.from('the value that was deleted')));
    expect(Object.values(await holdings(h.stores, 'k')).every((x) => x !== null && !x.tombstone)).toBe(true);
    // n3 is down for the delete; the delete is acknowledged by n1 and n2 (W=2).
    h.replicas.n3.down = true;
    now += 1000;
    await h.coordinator.deleteObject('b', 'k');
    const gc = Object.fromEntries(IDS.map((id) => [id, gcOn(id, h.stores, h.replicas, () => now)])) as Record<NodeId, TombstoneGcWorker>;

    // The grace passes while n3 is away: nothing is purged, since n3 cannot be asked.
    now += GRACE + 60_000;
    for (const id of ['n1', 'n2'] as const) expect(await gc[id].pass(signal)).toMatchObject({ expired: 1, purged: 0, keptUnreachable: 1 });

    // n3 returns holding the old live version: still kept (n3 holds another version).
    h.replicas.n3.heal();
    for (const id of ['n1', 'n2'] as const) expect(await gc[id].pass(signal)).toMatchObject({ purged: 0, keptDiffering: 1 });
    expect((await h.stores.n3.head('b', 'k'))?.record.tombstone).toBe(false);
    // The anti-entropy plan (n1 against n3) copies the expired tombstone over the old version.
    const entries = async (id: NodeId) => (await h.stores[id].scanPartition(h.membership.ring.partitionOf('b', 'k'), { limit: 10 })).entries;
    const plan = planPartition(await entries('n1'), await entries('n3'), { partition: 0, self: 'n1', peer: 'n3', nowMs: now, tombstoneGraceMs: GRACE });
    expect(plan).toMatchObject([{ key: 'k', tombstone: true, source: 'n1', target: 'n3', reason: 'stale' }]);

    // Every gateway reads the key as deleted (n3's own gateway included), and read repair gives n3 the tombstone.
    for (const g of gateways) expect(await g.findObject('b', 'k')).toBeUndefined();
    await Promise.all(gateways.map((g) => g.drain()));
    expect((await h.stores.n3.head('b', 'k'))?.record.tombstone).toBe(true);

    // Now every replica holds it: it is purged everywhere, and the key stays deleted.
    for (const id of IDS) expect((await gc[id].pass(signal)).purged).toBe(1);
    expect(await holdings(h.stores, 'k')).toEqual({ n1: null, n2: null, n3: null });
    for (const g of gateways) expect(await g.findObject('b', 'k')).toBeUndefined();
    // With nothing left anywhere, anti-entropy has nothing to copy either.
    expect(planPartition(await entries('n1'), await entries('n3'), { partition: 0, self: 'n1', peer: 'n3', nowMs: now, tombstoneGraceMs: GRACE })).toEqual([]);
  });

  it('one replica that purged does not get the tombstone back from anti-entropy (expired tombstones are not copied to a replica lacking them)', async () => {
    const h = await replicaHarness();
    for (const id of ['n2', 'n3'] as const) await plant(h.stores[id], 'k', hlcAt(HARNESS_NOW), null);
    const p = h.membership.ring.partitionOf('b', 'k');
    const theirs = (await h.stores.n2.scanPartition(p, { limit: 10 })).entries;
    expect(planPartition([], theirs, { partition: p, self: 'n1', peer: 'n2', nowMs: HARNESS_NOW + GRACE + 1, tombstoneGraceMs: GRACE })).toEqual([]);
  });
});
