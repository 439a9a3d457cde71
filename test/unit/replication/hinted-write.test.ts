/**
 * The write path with fallbacks (N=3, W=2, five members, over the in-memory transport): a write
 * for a down owner also goes to the next live fallback, which holds the record with a hint for
 * that owner; strict by default, so fallback acks never make up W (503), while with
 * replication.sloppyQuorum they do.
 */
import { describe, it, expect } from 'vitest';
import { handoffCluster } from '../../helpers/handoff-cluster.js';
import { bodyOf, chunked, putInput } from '../../helpers/replica-faults.js';

const SMALL = Buffer.from('a small body, committed inline');
const LARGE = bodyOf(300 * 1024 + 5, 3);

async function setup(key: string) {
  const c = await handoffCluster();
  const probe = c.membership('n1');
  const list = probe.ring.preferenceList('b', key, 3);
  const owners = list.replicas.map((m) => m.id);
  const fallbacks = list.fallbacks.map((m) => m.id);
  // Coordinate from the first owner, so its own copy is one of the W.
  const membership = c.membership(owners[0]!);
  return { c, owners, fallbacks, membership };
}

describe.each([
  ['inline', SMALL],
  ['staged', LARGE],
] as const)('a PUT (%s body) with owners down', (_kind, data) => {
  it('with one owner down is acknowledged by the other two, and the first fallback holds the record with a hint', async () => {
    const { c, owners, fallbacks, membership } = await setup('k1');
    const down = owners[2]!;
    c.setDown(down, true, membership);
    const coordinator = c.coordinator(membership);
    const meta = await coordinator.putObject(putInput('k1', chunked(data)));
    await coordinator.drain();
    for (const id of owners.slice(0, 2)) expect((await c.stores[id]!.head('b', 'k1'))?.record.version).toEqual(meta.version);
    expect(await c.stores[down]!.head('b', 'k1')).toBeUndefined();
    const fallback = c.stores[fallbacks[0]!]!;
    expect((await fallback.head('b', 'k1'))?.record.version).toEqual(meta.version);
    const { entries } = await fallback.hints({ limit: 10 });
    expect(entries).toEqual([expect.objectContaining({ owner: down, bucket: 'b', key: 'k1', version: meta.version, size: data.length })]);
    // Nobody else holds a hint.
    for (const id of fallbacks.slice(1)) expect((await c.stores[id]!.hints({ limit: 10 })).entries).toEqual([]);
  });

  it('strict (the default): with two owners down, the fallbacks acks do not make up W, so it fails with 503 and leaves no hint', async () => {
    const { c, owners, fallbacks, membership } = await setup('k2');
    c.setDown(owners[1]!, true, membership);
    c.setDown(owners[2]!, true, membership);
    const coordinator = c.coordinator(membership);
    await expect(coordinator.putObject(putInput('k2', chunked(data)))).rejects.toMatchObject({ code: 'QuorumNotReached' });
    await coordinator.drain();
    for (const id of [...owners, ...fallbacks]) {
      expect(await c.stores[id]!.head('b', 'k2')).toBeUndefined();
      expect((await c.stores[id]!.hints({ limit: 10 })).entries).toEqual([]);
    }
  });

  it('sloppy: with two owners down, the coordinator and one fallback make up W, and both fallbacks hold hints', async () => {
    const { c, owners, fallbacks, membership } = await setup('k3');
    c.setDown(owners[1]!, true, membership);
    c.setDown(owners[2]!, true, membership);
    const coordinator = c.coordinator(membership, { sloppyQuorum: true });
    const meta = await coordinator.putObject(putInput('k3', chunked(data)));
    await coordinator.drain();
    expect((await c.stores[owners[0]!]!.head('b', 'k3'))?.record.version).toEqual(meta.version);
    const hinted = await Promise.all(fallbacks.slice(0, 2).map(async (id) => (await c.stores[id]!.hints({ limit: 10 })).entries.map((h) => h.owner)));
    expect(hinted.flat().sort()).toEqual([owners[1]!, owners[2]!].sort());
  });
});

describe('a DELETE with an owner down', () => {
  it('writes its tombstone to the fallback with a hint', async () => {
    const { c, owners, fallbacks, membership } = await setup('k4');
    c.setDown(owners[1]!, true, membership);
    const coordinator = c.coordinator(membership);
    await coordinator.deleteObject('b', 'k4');
    await coordinator.drain();
    const fallback = c.stores[fallbacks[0]!]!;
    expect((await fallback.head('b', 'k4'))?.record.tombstone).toBe(true);
    expect((await fallback.hints({ limit: 10 })).entries.map((h) => h.owner)).toEqual([owners[1]]);
  });
});

describe('a PUT coordinated by the fallback itself', () => {
  it('commits its own copy with the hint', async () => {
    const { c, owners, fallbacks } = await setup('k5');
    const membership = c.membership(fallbacks[0]!);
    c.setDown(owners[1]!, true, membership);
    const coordinator = c.coordinator(membership);
    const meta = await coordinator.putObject(putInput('k5', [SMALL]));
    await coordinator.drain();
    const fallback = c.stores[fallbacks[0]!]!;
    expect((await fallback.head('b', 'k5'))?.record.version).toEqual(meta.version);
    expect((await fallback.hints({ limit: 10 })).entries.map((h) => h.owner)).toEqual([owners[1]]);
  });
});
