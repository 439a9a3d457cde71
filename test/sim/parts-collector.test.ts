/**
 * The parts collector against three in-process nodes (memory stores, memory transport): it keeps
 * every part of an upload in progress, keeps the parts a completed object references, tombstones
 * them once the object is overwritten, and leaves alone parts it cannot judge (no owner recorded,
 * younger than the grace period).
 */
import { describe, it, expect, afterEach } from 'vitest';
import { Readable } from 'node:stream';
import type { RunningNode } from '../../src/node.js';
import { Multipart, PARTS_NAMESPACE } from '../../src/model/multipart.js';
import { PartsCollector } from '../../src/model/parts-collector.js';
import { silentLogger } from '../../src/util/logger.js';
import { SIM_EPOCH_MS, seededRandom, startSimCluster } from '../helpers/sim.js';

// The node's own workers stay out of the way: the test drives a collector by hand.
const overrides = { store: { gcIntervalMs: 86_400_000, partGraceMs: 86_400_000, blobDeleteDelayMs: 0 } };

const part = (n: number, size = 2000) => ({ body: Readable.from([Buffer.alloc(size, n)]), seal: () => ({ etag: `${n}`.repeat(32).slice(0, 32) }) });

describe('parts collector', () => {
  const nodes: RunningNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it('keeps parts of an upload in progress and of the current object, and deletes them once it is overwritten', async () => {
    let now = SIM_EPOCH_MS;
    const { nodes: started, stores } = await startSimCluster({ seed: 21, overrides, now: () => now });
    nodes.push(...started);
    const n1 = nodes[0]!;
    const multipart = new Multipart(n1.coordinator, seededRandom(99));
    const collector = (graceMs: number) => new PartsCollector({ coordinator: n1.coordinator, local: stores[0]!, clock: { now: () => now }, logger: silentLogger, metrics: null, graceMs });
    const liveParts = async () => (await n1.coordinator.listPage(PARTS_NAMESPACE, { limit: 100 })).records.map((r) => r.key);

    const uploadId = await multipart.create('b', 'k', { contentType: 'x/y', userMeta: {} });
    const etags = [(await multipart.uploadPart('b', 'k', uploadId, 1, part(1, 5 * 1024 * 1024))).etag, (await multipart.uploadPart('b', 'k', uploadId, 2, part(2))).etag];
    now += 10_000;
    expect(await collector(0).collect()).toBe(0);
    expect(await liveParts()).toHaveLength(2);

    await multipart.complete(
      'b',
      'k',
      uploadId,
      etags.map((etag, i) => ({ partNumber: i + 1, etag })),
    );
    now += 10_000;
    expect(await collector(0).collect()).toBe(0);
    const found = await n1.coordinator.headObject('b', 'k');
    expect((await n1.coordinator.openBody(found)) instanceof Uint8Array).toBe(false);

    // A part without owner metadata (written some other way) cannot be judged: it stays.
    await n1.coordinator.putObject({ bucket: PARTS_NAMESPACE, key: `${'f'.repeat(32)}\u000000001`, contentType: 'x/y', userMeta: {}, ...part(3) });
    await n1.coordinator.putObject({ bucket: 'b', key: 'k', contentType: 'x/y', userMeta: {}, body: Readable.from([Buffer.from('small')]), seal: () => ({ etag: 'e' }) });
    now += 10_000;
    // Within the grace period nothing goes, whatever the lookups say.
    expect(await collector(60_000).collect()).toBe(0);
    expect(await collector(0).collect()).toBe(2);
    expect(await liveParts()).toEqual([`${'f'.repeat(32)}\u000000001`]);
    // Other replicas see the tombstones and have nothing left to do.
    expect(await new PartsCollector({ coordinator: nodes[1]!.coordinator, local: stores[1]!, clock: { now: () => now }, logger: silentLogger, metrics: null, graceMs: 0 }).collect()).toBe(0);
  });
});
