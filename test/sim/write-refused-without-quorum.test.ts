/**
 * A write that fewer than W replicas can take is refused before anything is written: the live
 * replica (here the coordinator's own) must not apply a version the client was told failed, or a
 * later read returns it and read repair spreads it. The real-process version of this rule is in
 * test/fault/replication-rules.test.ts.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { Readable } from 'node:stream';
import type { RunningNode } from '../../src/node.js';
import { startSimCluster } from '../helpers/sim.js';

describe('a write refused for lack of live replicas', () => {
  const nodes: RunningNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it('leaves nothing on the live replica: a new key, an overwrite (inline and staged) and a delete', async () => {
    const { nodes: started, stores, transport } = await startSimCluster({ seed: 11 });
    nodes.push(...started);
    const n1 = nodes[0]!;
    const put = (key: string, data: Buffer, etag: string): Promise<unknown> =>
      n1.coordinator.putObject({ bucket: 'sim', key, contentType: 'text/plain', userMeta: {}, body: Readable.from([data]), seal: () => ({ etag }) });
    await put('kept', Buffer.from('v1'), 'etag-v1');
    await put('large', Buffer.alloc(5000, 1), 'etag-large-v1');
    await new Promise((r) => setTimeout(r, 20));

    transport.setDown('n2', true);
    transport.setDown('n3', true);
    n1.membership.setLiveness('n2', 'down');
    n1.membership.setLiveness('n3', 'down');
    for (const write of [
      put('new', Buffer.from('v1'), 'etag-new'),
      put('kept', Buffer.from('v2'), 'etag-v2'),
      put('large', Buffer.alloc(5000, 2), 'etag-large-v2'),
      n1.coordinator.deleteObject('sim', 'kept'),
    ]) {
      await expect(write).rejects.toMatchObject({ code: 'QuorumNotReached' });
    }
    const local = stores[0];
    expect(await local.head('sim', 'new')).toBeUndefined();
    expect((await local.head('sim', 'kept'))?.record).toMatchObject({ etag: 'etag-v1', tombstone: false });
    expect((await local.head('sim', 'large'))?.record.etag).toBe('etag-large-v1');
  });
});
