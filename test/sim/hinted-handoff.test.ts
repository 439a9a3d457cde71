/**
 * Hinted handoff in one process: five nodes (N=3, W=2, strict) on the in-memory transport, one of
 * them down while writes go on. Every acknowledged write is then on W owners, and once the node is
 * back its own store holds every write it missed, delivered by the fallbacks' hint-delivery
 * workers (read repair off, and the owner's store read directly, so no read could have helped);
 * the fallbacks drop their hints and the copies of keys they do not own.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { Readable } from 'node:stream';
import { startNode, type RunningNode } from '../../src/node.js';
import { MemoryTransport } from '../../src/rpc/transport.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { ObjectMeta } from '../../src/store/types.js';
import { compareVersions } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { SIM_EPOCH_MS, seededRandom, simNodeConfig } from '../helpers/sim.js';

const IDS = ['n1', 'n2', 'n3', 'n4', 'n5'];
const members = IDS.map((id, i) => ({ id, address: `sim:${i}`, zone: `z${i}`, capacity: 1 }));

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function waitFor(what: string, done: () => Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('hinted handoff, five nodes in one process', () => {
  const nodes: RunningNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it('every write acknowledged while an owner was down is in that owner’s own store once it is back, without read repair', async () => {
    const now = (): number => SIM_EPOCH_MS;
    const transport = new MemoryTransport({ clock: { now } });
    const stores = new Map<string, MemoryStore>();
    for (const [i, id] of IDS.entries()) {
      const store = new MemoryStore({ inlineThreshold: 1024, clock: { now } });
      stores.set(id, store);
      transport.register(id, store);
      const config = simNodeConfig(id, { cluster: { members }, replication: { readRepairPercent: 0 } });
      nodes.push(await startNode(config, { store, transport, logger: silentLogger, metrics: null, random: seededRandom(10 + i), clock: { now } }));
    }
    const down = 'n3';
    transport.setDown(down, true);
    // The start-up pings have answered by now (they would mark it up again); the next come a minute later.
    await new Promise((r) => setTimeout(r, 100));
    for (const n of nodes) if (n.config.nodeId !== down) n.membership.setLiveness(down, 'down');

    // Writes (small and staged bodies, overwrites, deletes) coordinated by the live nodes.
    const acked = new Map<string, ObjectMeta | 'deleted'>();
    const bodies = new Map<string, Buffer>();
    const live = nodes.filter((n) => n.config.nodeId !== down);
    for (let i = 0; i < 60; i++) {
      const key = `k${i % 40}`;
      const coordinator = live[i % live.length]!.coordinator;
      if (i % 13 === 12) {
        await coordinator.deleteObject('sim', key);
        acked.set(key, 'deleted');
        continue;
      }
      const data = Buffer.alloc(i % 3 === 0 ? 5000 + i : 100 + i, i);
      const meta = await coordinator.putObject({ bucket: 'sim', key, contentType: 'x', userMeta: {}, body: Readable.from([data]), seal: () => ({ etag: `e${i}` }) });
      acked.set(key, meta);
      bodies.set(key, data);
    }
    const ring = nodes[0]!.membership.ring;
    const ownersOf = (key: string): string[] => ring.preferenceList('sim', key, 3).replicas.map((m) => m.id);
    const missed = [...acked.keys()].filter((key) => ownersOf(key).includes(down));
    expect(missed.length).toBeGreaterThan(5);

    // Every missed write is held as a hint by a live fallback.
    for (const key of missed) {
      const held = await Promise.all(IDS.map(async (id) => (await stores.get(id)!.hints({ owner: down, limit: 1000 })).entries.some((h) => h.key === key)));
      expect(held.filter(Boolean), key).toHaveLength(1);
    }
    transport.setDown(down, false);
    for (const n of nodes) n.membership.setLiveness(down, 'up');
    const ownerHolds = async (owner: string, key: string): Promise<boolean> => {
      const head = await stores.get(owner)!.head('sim', key);
      const want = acked.get(key)!;
      if (head === undefined) return false;
      if (want === 'deleted') return head.record.tombstone;
      return compareVersions(head.record.version, want.version) === 0;
    };
    await waitFor('the returning owner to hold every write it missed', async () => (await Promise.all(missed.map((k) => ownerHolds(down, k)))).every(Boolean), 10_000);

    // Every acknowledged write is on every one of its owners, body included, read from their stores.
    for (const [key, want] of acked) {
      for (const owner of ownersOf(key)) {
        expect(await ownerHolds(owner, key), `${key} on ${owner}`).toBe(true);
        if (want !== 'deleted') expect((await readAll(await stores.get(owner)!.read('sim', key, want.version))).equals(bodies.get(key)!)).toBe(true);
      }
    }
    // The fallbacks hold no hint any more, nor copies of keys they do not own.
    await waitFor('the fallbacks to drop their hints', async () => (await Promise.all(IDS.map(async (id) => (await stores.get(id)!.hints({ limit: 1 })).entries.length))).every((n) => n === 0), 5000);
    for (const key of acked.keys()) {
      for (const id of IDS) if (!ownersOf(key).includes(id)) expect(await stores.get(id)!.head('sim', key), `${key} on non-owner ${id}`).toBeUndefined();
    }
  });
});
