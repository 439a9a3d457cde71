/**
 * `Coordinator.repairKey` (what scrub calls on a corrupt copy): heads every replica of the key and
 * waits until each stale one holds the newest version, with no client read and no read-repair
 * coin (readRepairChance 0): a quarantined blob gets its body back, a replica that missed a delete
 * gets the tombstone, one that missed a multipart completion gets the manifest; replicas already
 * current are not written to.
 */
import { describe, expect, it } from 'vitest';
import { IDS, bodyOf, plant, readAll, replicaHarness } from '../../helpers/replica-faults.js';

describe('repairKey', () => {
  it('gives a quarantined copy its body back, same version, byte-identical', async () => {
    const h = await replicaHarness({ readRepairChance: 0 });
    const data = bodyOf(5000, 4);
    for (const id of IDS) await plant(h.stores[id], 'k', 2000, data);
    h.stores.n2.corruptForTest('b', 'k', 4000);
    await readAll(await h.stores.n2.read('b', 'k', { hlc: 2000, node: 'n9' })).catch(() => undefined);
    expect((await h.stores.n2.head('b', 'k'))?.record.storage).toBe('quarantined');
    await h.coordinator.repairKey('b', 'k');
    expect((await h.stores.n2.head('b', 'k'))?.record.storage).toBe('blob');
    expect((await readAll(await h.stores.n2.read('b', 'k', { hlc: 2000, node: 'n9' }))).equals(data)).toBe(true);
    expect(h.replicas.n1.applied.length + h.replicas.n3.applied.length).toBe(0);
  });

  it.each(['tombstone', 'manifest'] as const)('brings a stale replica the newest %s', async (kind) => {
    const h = await replicaHarness({ readRepairChance: 0 });
    const extra = kind === 'manifest' ? { size: 12, etag: 'abc-2', parts: [{ bucket: '.parts', key: 'u\u000000001', version: { hlc: 2990, node: 'n1' }, size: 12, etag: 'p1' }] } : {};
    await plant(h.stores.n3, 'k', 1000, Buffer.from('old body'));
    for (const id of ['n1', 'n2'] as const) await plant(h.stores[id], 'k', 3000, kind === 'tombstone' ? null : Buffer.alloc(0), extra);
    await h.coordinator.repairKey('b', 'k');
    const got = (await h.stores.n3.head('b', 'k'))!.record;
    expect(got.version.hlc).toBe(3000);
    expect(got.tombstone).toBe(kind === 'tombstone');
    expect(got.parts).toEqual(kind === 'manifest' ? extra.parts : undefined);
    expect(h.replicas.n3.applied).toHaveLength(1);
  });
});
