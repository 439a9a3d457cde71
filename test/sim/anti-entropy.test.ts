/**
 * Anti-entropy wired into real nodes, in one process (memory stores, in-memory transport, the
 * Merkle endpoints served by `transport.serve`): a node that comes back with an empty store is
 * refilled by its own pass, byte for byte, and a write a replica missed reaches it without any read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { startNode, type RunningNode } from '../../src/node.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { silentLogger } from '../../src/util/logger.js';
import { MemoryTransport, type ReplicaResolver } from '../../src/rpc/transport.js';
import type { ConfigOverrides } from '../helpers/config.js';
import { seededRandom, simNodeConfig, startSimCluster } from '../helpers/sim.js';

/** Node `id`'s own view of the shared transport: stopping the node must not close it for the others. */
function viewOf(transport: MemoryTransport): ReplicaResolver {
  return {
    replica: (peer, address) => transport.replica(peer, address),
    call: (peer, address, endpoint, request, signal) => transport.call(peer, address, endpoint, request, signal),
    ping: (peer, address, signal) => transport.ping(peer, address, signal),
    serve: (nodeId, endpoints) => transport.serve(nodeId, endpoints),
    close: async () => {},
  };
}

/** Starts node `id` of the 3-node sim cluster on `store` (registered on `transport` under its id). */
async function startOn(id: string, store: MemoryStore, transport: MemoryTransport, overrides: ConfigOverrides): Promise<RunningNode> {
  transport.register(id, store);
  const i = Number(id.slice(1)) - 1;
  return startNode(simNodeConfig(id, overrides), { store, transport: viewOf(transport), logger: silentLogger, metrics: null, random: seededRandom(40 + i), clock: { now: () => Date.now() + i } });
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function bodyOf(i: number): Buffer {
  // Small ones stay inline (threshold 1024), the others are blobs.
  return Buffer.alloc(i % 2 === 0 ? 300 + i : 3000 + i * 37, i);
}

describe('anti-entropy between in-process nodes', () => {
  const nodes: RunningNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it('refills a node restarted with an empty store, byte-identical, with each key copied once', async () => {
    // A real clock: the worker paces on it.
    const overrides = { antiEntropy: { intervalMs: 600_000 } };
    const transport = new MemoryTransport({ clock: { now: () => Date.now() } });
    const stores = ['n1', 'n2', 'n3'].map(() => new MemoryStore({ inlineThreshold: 1024 }));
    for (const [i, store] of stores.entries()) nodes.push(await startOn(`n${i + 1}`, store, transport, overrides));
    const n1 = nodes[0]!;
    const puts = [];
    for (let i = 0; i < 40; i++) {
      puts.push(
        await n1.coordinator.putObject({ bucket: 'ae', key: `k${i}`, contentType: 'application/octet-stream', userMeta: {}, body: Readable.from([bodyOf(i)]), seal: () => ({ etag: `e${i}` }) }),
      );
    }
    await until('every replica to hold every key', async () => stores.every((s) => s.stats().records === 40));

    // n3 loses its disk: stopped, and started again on an empty store.
    await nodes.splice(2, 1)[0]!.stop();
    const empty = new MemoryStore({ inlineThreshold: 1024 });
    let commits = 0;
    const commit = empty.commit.bind(empty);
    empty.commit = (...args) => {
      commits++;
      return commit(...args);
    };
    nodes.push(await startOn('n3', empty, transport, overrides));
    await until('n3 to be refilled', async () => empty.stats().records === 40);
    for (const [i, put] of puts.entries()) {
      const held = await empty.head('ae', `k${i}`);
      expect(held?.record.version).toEqual(put.version);
      expect((await bytesOf(await empty.read('ae', `k${i}`, put.version))).equals(bodyOf(i))).toBe(true);
    }
    // Pulled from one peer only (the second then finds every partition equal), and nobody pushed.
    await new Promise((r) => setTimeout(r, 1000));
    expect(commits).toBe(40);
  });

  it('repairs a write a replica missed, without any read', async () => {
    const overrides = { antiEntropy: { intervalMs: 300 } };
    const { nodes: started, stores, transport } = await startSimCluster({ seed: 5, overrides, now: () => Date.now() });
    nodes.push(...started);
    transport.setDown('n3', true);
    const put = await started[0].coordinator.putObject({
      bucket: 'ae',
      key: 'missed',
      contentType: 'text/plain',
      userMeta: {},
      body: Readable.from([Buffer.alloc(2000, 5)]),
      seal: () => ({ etag: 'e' }),
    });
    expect(await stores[2].head('ae', 'missed')).toBeUndefined();
    transport.setDown('n3', false);
    // Nobody reads the key; n3's next pass pulls it.
    await until('n3 to hold the write', async () => (await stores[2].head('ae', 'missed'))?.record.version.hlc === put.version.hlc);
    expect((await bytesOf(await stores[2].read('ae', 'missed', put.version))).equals(Buffer.alloc(2000, 5))).toBe(true);
  });
});
