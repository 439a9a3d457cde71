/**
 * Read repair: after a read, every replica asked that answered with an older version (or
 * nothing) ends up holding the newest one — the same version and the same bytes, checked on
 * its store — for inline bodies, blob-size bodies (staged from a holder), tombstones and
 * multipart manifests. Replicas already up to date, and replicas not asked, are left alone.
 */
import { describe, it, expect } from 'vitest';
import type { ObjectMeta } from '../../../src/store/types.js';
import { IDS, bodyOf, eventually, plant, readAll, replicaHarness, stagedLeft, type Harness, type NodeId } from '../../helpers/replica-faults.js';

const OLD = 1000 * 1024;
const NEW = 2000 * 1024;

type Kind = 'inline' | 'blob' | 'tombstone' | 'manifest';

/** Plants the newest version of `k` (of `kind`) on every replica but `stale`, which gets `staleHas`. */
async function disagree(h: Harness, kind: Kind, stale: NodeId, staleHas: 'older' | 'nothing'): Promise<{ meta: ObjectMeta; data: Buffer | null }> {
  const data = kind === 'inline' ? Buffer.from('the newest small body') : kind === 'blob' ? bodyOf(5000, 3) : null;
  const extra: Partial<ObjectMeta> =
    kind === 'manifest' ? { size: 12, etag: 'abc-2', parts: [{ bucket: '.parts', key: 'u\u000000001', version: { hlc: NEW - 5, node: 'n1' }, size: 12, etag: 'p1' }] } : {};
  let meta!: ObjectMeta;
  for (const id of IDS) {
    if (id === stale) {
      if (staleHas === 'older') await plant(h.stores[id], 'k', OLD, Buffer.from('old body'));
    } else meta = await plant(h.stores[id], 'k', NEW, kind === 'manifest' ? Buffer.alloc(0) : data, extra);
  }
  return { meta, data };
}

async function versionOn(h: Harness, id: NodeId): Promise<number | undefined> {
  return (await h.stores[id].head('b', 'k'))?.record.version.hlc;
}

describe('read repair', () => {
  const cases = (['inline', 'blob', 'tombstone', 'manifest'] as const).flatMap((kind) => IDS.flatMap((stale) => (['older', 'nothing'] as const).map((has) => [kind, stale, has] as const)));
  it.each(cases)('a %s: stale replica %s (holding %s) gets the newest version and its bytes', async (kind, stale, has) => {
    const h = await replicaHarness({ self: 'n1', readRepairChance: 1 });
    const { meta, data } = await disagree(h, kind, stale, has);
    if (kind === 'tombstone') expect(await h.coordinator.findObject('b', 'k')).toBeUndefined();
    else expect((await h.coordinator.headObject('b', 'k')).record.version).toEqual(meta.version);
    await eventually(async () => (await versionOn(h, stale)) === NEW);
    const repaired = (await h.stores[stale].head('b', 'k'))!.record;
    expect(repaired.version).toEqual(meta.version);
    expect(repaired.tombstone).toBe(kind === 'tombstone');
    expect(repaired.etag).toBe(meta.etag);
    expect(repaired.size).toBe(meta.size);
    expect(repaired.parts).toEqual(meta.parts);
    expect(repaired.storage).toBe(kind === 'blob' ? 'blob' : 'inline');
    if (data) expect((await readAll(await h.stores[stale].read('b', 'k', meta.version))).equals(data)).toBe(true);
    expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
    // Only the stale replica was written to.
    for (const id of IDS) expect(h.replicas[id].applied.length).toBe(id === stale ? 1 : 0);
  });

  it.each(['inline', 'blob'] as const)('a quarantined %s copy of the newest version is given its body back, same version', async (kind) => {
    const h = await replicaHarness({ self: 'n1', readRepairChance: 1 });
    const { meta, data } = await disagree(h, kind, 'n3', 'older');
    await plant(h.stores.n3, 'k', NEW, data);
    // n3 finds its copy corrupt on a read of its own and quarantines it: the version stays, the body goes.
    h.stores.n3.corruptForTest('b', 'k', 5);
    await readAll(await h.stores.n3.read('b', 'k', meta.version)).catch(() => undefined);
    expect((await h.stores.n3.head('b', 'k'))?.record.storage).toBe('quarantined');
    const found = await h.coordinator.headObject('b', 'k');
    expect(found.holders.map((t) => t.id)).not.toContain('n3');
    await eventually(async () => (await h.stores.n3.head('b', 'k'))?.record.storage === kind);
    expect((await h.stores.n3.head('b', 'k'))?.record.version).toEqual(meta.version);
    expect((await readAll(await h.stores.n3.read('b', 'k', meta.version))).equals(data!)).toBe(true);
  });

  it('repairs every stale replica, not just one', async () => {
    const h = await replicaHarness({ self: 'n1', readRepairChance: 1 });
    const data = bodyOf(4000, 9);
    await plant(h.stores.n1, 'k', OLD, Buffer.from('old'));
    await plant(h.stores.n2, 'k', NEW, data);
    await h.coordinator.headObject('b', 'k');
    await eventually(async () => (await versionOn(h, 'n1')) === NEW && (await versionOn(h, 'n3')) === NEW);
    for (const id of ['n1', 'n3'] as const) expect((await readAll(await h.stores[id].read('b', 'k', { hlc: NEW, node: 'n9' }))).equals(data)).toBe(true);
  });

  it('repairs only the replicas a read asked (R=2, no full reads)', async () => {
    const h = await replicaHarness({ self: 'n1', readRepairChance: 0 });
    // n3 is not asked: marked down for this read.
    h.membership.setLiveness('n3', 'down');
    await plant(h.stores.n1, 'k', NEW, Buffer.from('new'));
    await plant(h.stores.n2, 'k', OLD, Buffer.from('old'));
    await plant(h.stores.n3, 'k', OLD, Buffer.from('old'));
    await h.coordinator.headObject('b', 'k');
    await eventually(async () => (await versionOn(h, 'n2')) === NEW);
    await new Promise((r) => setTimeout(r, 20));
    expect(await versionOn(h, 'n3')).toBe(OLD);
    expect(h.replicas.n3.count('head')).toBe(0);
  });

  it('a failed repair of a blob-size body discards what it staged', async () => {
    const h = await replicaHarness({ self: 'n1', readRepairChance: 1 });
    await disagree(h, 'blob', 'n3', 'older');
    h.replicas.n3.commitFault = () => new Error('injected: repair commit failed');
    await h.coordinator.headObject('b', 'k');
    await eventually(() => h.replicas.n3.count('commit:failed') === 1);
    await eventually(() => h.replicas.n3.count('discard') === 1);
    expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
    expect(await versionOn(h, 'n3')).toBe(OLD);
  });

  it('replicas that agree are not written to', async () => {
    const h = await replicaHarness({ self: 'n1', readRepairChance: 1 });
    for (const id of IDS) await plant(h.stores[id], 'k', NEW, Buffer.from('same'));
    await h.coordinator.headObject('b', 'k');
    await new Promise((r) => setTimeout(r, 20));
    expect(IDS.map((id) => h.replicas[id].log.filter((l) => l.startsWith('commit') || l.startsWith('stage')))).toEqual([[], [], []]);
  });
});
