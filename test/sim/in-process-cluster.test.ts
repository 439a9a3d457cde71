/**
 * The composition root's seams: three nodes in one process, each with an in-memory store, all
 * talking through one in-memory transport (no peer sockets), a fixed clock source and a seeded
 * random source. This is the base a deterministic simulation builds on.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { Readable } from 'node:stream';
import type { RunningNode } from '../../src/node.js';
import type { ReplicaApi } from '../../src/store/types.js';
import { RingstoreError } from '../../src/util/errors.js';
import { startSimCluster } from '../helpers/sim.js';

const overrides = { replication: { readRepairPercent: 100 } };

async function body(data: Uint8Array | Readable): Promise<Buffer> {
  if (data instanceof Uint8Array) return Buffer.from(data);
  const chunks: Buffer[] = [];
  for await (const c of data) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('three nodes in one process', () => {
  const nodes: RunningNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it('replicates through the in-memory transport and survives a node marked down', async () => {
    // Pings answer on the nodes' simulated time base, or every node would see its peers' clocks 40 days off.
    const { nodes: started, stores, transport } = await startSimCluster({ seed: 1, overrides });
    nodes.push(...started);
    const [n1, n2] = nodes as [RunningNode, RunningNode, RunningNode];
    const small = Buffer.from('hello from the simulator');
    const large = Buffer.alloc(5000, 7);
    for (const [key, data] of [
      ['small', small],
      ['large', large],
    ] as const) {
      await n1.coordinator.putObject({ bucket: 'sim', key, contentType: 'text/plain', userMeta: {}, body: Readable.from([data]), seal: () => ({ etag: 'etag-' + key }) });
    }
    // Every replica holds both objects: W=2 acknowledged, the third commit completes right after.
    await new Promise((r) => setTimeout(r, 20));
    for (const store of stores.values()) {
      expect((await store.head('sim', 'small'))?.record.etag).toBe('etag-small');
      expect((await store.head('sim', 'large'))?.record.storage).toBe('blob');
    }
    // A version overwritten between lookup and read is reported as superseded (the GET handler
    // then looks the key up again) rather than as an unavailable replica.
    const stale = await n1.coordinator.headObject('sim', 'large');
    await n1.coordinator.putObject({ bucket: 'sim', key: 'large', contentType: 'text/plain', userMeta: {}, body: Readable.from([large]), seal: () => ({ etag: 'etag-large-2' }) });
    await new Promise((r) => setTimeout(r, 20));
    await expect(n1.coordinator.openBody(stale)).rejects.toMatchObject({ code: 'ServiceUnavailable', details: { superseded: true } });

    transport.setDown('n3', true);
    const found = await n2.coordinator.headObject('sim', 'large');
    expect(await body(await n2.coordinator.openBody(found))).toEqual(large);
    const page = await n2.coordinator.listPage('sim', { limit: 10 });
    expect(page.records.map((r) => r.key)).toEqual(['large', 'small']);
    await n2.coordinator.deleteObject('sim', 'small');
    await expect(n1.coordinator.headObject('sim', 'small')).rejects.toMatchObject({ code: 'NoSuchKey' });
  });

  it('reads around a corrupt copy (inline or blob) and restores it under the same version', async () => {
    const { nodes: started, stores } = await startSimCluster({ seed: 11, overrides });
    nodes.push(...started);
    const n1 = nodes[0]!;
    const local = stores[0];
    for (const [key, data] of [
      ['small', Buffer.from('x'.repeat(500))],
      ['large', Buffer.alloc(3 * 1024 * 1024 + 5, 9)],
    ] as const) {
      const put = await n1.coordinator.putObject({ bucket: 'sim', key, contentType: 'text/plain', userMeta: {}, body: Readable.from([data]), seal: () => ({ etag: 'e' }) });
      await new Promise((r) => setTimeout(r, 20));
      local.corruptForTest('sim', key, data.length - 3);
      // n1's own copy comes first; it is corrupt, so the body comes from the next holder.
      const found = await n1.coordinator.headObject('sim', key);
      expect((await body(await n1.coordinator.openBody(found, { start: data.length - 10, end: data.length - 1 }))).equals(data.subarray(data.length - 10))).toBe(true);
      // Restored on n1 under the same version, byte-identical.
      for (let i = 0; i < 50 && (await local.head('sim', key))?.record.storage === 'quarantined'; i++) await new Promise((r) => setTimeout(r, 10));
      const restored = await local.head('sim', key);
      expect(restored?.record.version).toEqual(put.version);
      expect(restored?.record.storage).toBe(key === 'small' ? 'inline' : 'blob');
      expect((await body(await local.read('sim', key, put.version))).equals(data)).toBe(true);
    }
    expect(local.quarantined).toBe(2);
  });

  it('still asks peers its failure detector has marked down when the others cannot make a quorum', async () => {
    // Pings answer on the nodes' simulated time base, or every node would see its peers' clocks 40 days off.
    const { nodes: started, transport } = await startSimCluster({ seed: 7, overrides });
    nodes.push(...started);
    const n1 = nodes[0]!;
    // What a node sees when it starts before its peers: every ping failed, both marked down.
    n1.membership.setLiveness('n2', 'down');
    n1.membership.setLiveness('n3', 'down');
    await n1.coordinator.putObject({ bucket: 'sim', key: 'k', contentType: 'text/plain', userMeta: {}, body: Readable.from([Buffer.from('v')]), seal: () => ({ etag: 'etag-k' }) });
    expect((await n1.coordinator.headObject('sim', 'k')).record.etag).toBe('etag-k');
    expect((await n1.coordinator.listPage('sim', { limit: 10 })).records.map((r) => r.key)).toEqual(['k']);
    // Really down: the read fails with a quorum error that names each peer's failure.
    transport.setDown('n2', true);
    transport.setDown('n3', true);
    await expect(n1.coordinator.headObject('sim', 'k')).rejects.toMatchObject({ code: 'QuorumNotReached', message: expect.stringMatching(/n2.*n3|n3.*n2/) });
  });

  it('discards the stage of a replica whose commit failed, so its body does not stay on disk', async () => {
    // n3 stages like any replica, but every commit it is sent fails (e.g. it timed out).
    const { nodes: started, stores } = await startSimCluster({
      seed: 11,
      overrides,
      replicaFor: (id, store): ReplicaApi =>
        id === 'n3'
          ? {
              stage: (b, sig) => store.stage(b, sig),
              discard: (x, sig) => store.discard(x, sig),
              head: (b, k, o, sig) => store.head(b, k, o, sig),
              read: (b, k, v, r, sig) => store.read(b, k, v, r, sig),
              list: (b, o, sig) => store.list(b, o, sig),
              commit: async () => {
                throw new RingstoreError('RpcTimeout', 'injected: commit timed out');
              },
            }
          : store,
    });
    nodes.push(...started);
    const n1 = nodes[0]!;
    await n1.coordinator.putObject({ bucket: 'sim', key: 'big', contentType: 'text/plain', userMeta: {}, body: Readable.from([Buffer.alloc(5000, 1)]), seal: () => ({ etag: 'etag-big' }) });
    const deadline = Date.now() + 5000;
    while (stores[2]!.stats().staged > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(stores.map((s) => s.stats())).toEqual([
      { records: 1, staged: 0 },
      { records: 1, staged: 0 },
      { records: 0, staged: 0 },
    ]);
  });
});
