/**
 * Hint delivery over the in-memory transport, on a settable clock: once the owner is up, a
 * fallback's hint is copied to it with the same version (body included), the hint is dropped and
 * the fallback's own copy forgotten (it does not own the key); hints beyond the queue's age or
 * size bound are dropped, counted and their partitions handed to `onDropped`.
 */
import { describe, it, expect } from 'vitest';
import { Registry } from 'prom-client';
import { ReplicaCopier } from '../../../src/antientropy/replica-copier.js';
import { HintDelivery } from '../../../src/handoff/hint-delivery.js';
import { hintsBeyondBounds } from '../../../src/handoff/bounds.js';
import { createMetrics } from '../../../src/metrics/definitions.js';
import { silentLogger } from '../../../src/util/logger.js';
import { handoffCluster } from '../../helpers/handoff-cluster.js';
import { bodyOf, chunked, putInput, readAll } from '../../helpers/replica-faults.js';

const never = new AbortController().signal;

async function setup(keys: readonly string[], bounds = { maxBytes: 1 << 30, maxAgeMs: 3_600_000 }) {
  const c = await handoffCluster();
  // Keys whose first fallback is the same member, written while one of their owners is down.
  const probe = c.membership('n1');
  const plan = keys.map((key) => {
    const list = probe.ring.preferenceList('b', key, 3);
    return { key, owners: list.replicas.map((m) => m.id), fallback: list.fallbacks[0]!.id };
  });
  const metrics = createMetrics(new Registry(), { version: 't', commit: 't' });
  const dropped: number[] = [];
  const deliveryOn = (self: string, isUp: (id: string) => boolean) =>
    new HintDelivery({
      selfId: self,
      store: c.stores[self]!,
      copier: new ReplicaCopier((id) => c.replicaOf(self, id)),
      isUp,
      ownsKey: (bucket, key) => probe.ring.preferenceList(bucket, key, 3).replicas.some((m) => m.id === self),
      partitionOf: (bucket, key) => probe.ring.partitionOf(bucket, key),
      clock: c.clock,
      bounds,
      metrics,
      logger: silentLogger,
      onDropped: (p) => dropped.push(p),
    });
  return { c, plan, metrics, dropped, deliveryOn, probe };
}

async function counter(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string> = {}): Promise<number> {
  const json = await metrics.registry.getSingleMetric(name)!.get();
  return json.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
}

describe('hint delivery', () => {
  it('delivers a hinted write to its owner once it is up (same version and body), drops the hint and forgets the fallback copy', async () => {
    const { c, plan, metrics, deliveryOn } = await setup(['d1']);
    const { owners, fallback } = plan[0]!;
    const down = owners[2]!;
    const membership = c.membership(owners[0]!);
    c.setDown(down, true, membership);
    const coordinator = c.coordinator(membership);
    const data = bodyOf(200 * 1024, 9);
    const meta = await coordinator.putObject(putInput('d1', chunked(data)));
    await coordinator.drain();
    expect((await c.stores[fallback]!.hints({ limit: 10 })).entries).toHaveLength(1);

    // While the owner is down, a pass delivers nothing and keeps the hint.
    let up = false;
    const delivery = deliveryOn(fallback, (id) => id !== down || up);
    await delivery.runOnce(never);
    expect((await c.stores[fallback]!.hints({ limit: 10 })).entries).toHaveLength(1);
    expect(delivery.snapshot()).toMatchObject({ queued: { [down]: { count: 1, bytes: data.length } }, queuedBytes: data.length, delivered: 0 });

    c.setDown(down, false, membership);
    up = true;
    await delivery.runOnce(never);
    const held = await c.stores[down]!.head('b', 'd1');
    expect(held?.record.version).toEqual(meta.version);
    expect((await readAll(await c.stores[down]!.read('b', 'd1', meta.version))).equals(data)).toBe(true);
    expect((await c.stores[fallback]!.hints({ limit: 10 })).entries).toEqual([]);
    expect(await c.stores[fallback]!.head('b', 'd1')).toBeUndefined();
    expect(delivery.snapshot()).toMatchObject({ queued: {}, queuedBytes: 0, delivered: 1, deliveredBytes: data.length, dropped: 0 });
    expect(await counter(metrics, 'ringstore_hints_delivered_total')).toBe(1);
    expect(await counter(metrics, 'ringstore_hint_queue_bytes')).toBe(0);
  });

  it('keeps the copy of a key with a hint for a second owner still down, and forgets it once that one is delivered too', async () => {
    const { c, plan, deliveryOn } = await setup(['d2']);
    const { owners } = plan[0]!;
    const membership = c.membership(owners[0]!);
    c.setDown(owners[1]!, true, membership);
    c.setDown(owners[2]!, true, membership);
    // A fallback holding the write for two down owners (one hint each, in the record's batch).
    const holder = c.members.map((m) => m.id).find((id) => !owners.includes(id))!;
    const meta = { bucket: 'b', key: 'd2', version: { hlc: 5000, node: 'n1' }, tombstone: false, size: 15, etag: 'e', contentType: 'x', userMeta: {} };
    const sideWrites = [owners[1]!, owners[2]!].map((owner) => ({ kind: 'hint' as const, owner }));
    await c.stores[holder]!.commit(meta, { kind: 'inline', data: Buffer.from('two owners down') }, undefined, sideWrites);
    expect((await c.stores[holder]!.hints({ limit: 10 })).entries).toHaveLength(2);

    const back = owners[1]!;
    const first = deliveryOn(holder, (id) => id !== owners[2]);
    c.setDown(back, false, membership);
    await first.runOnce(never);
    expect((await c.stores[back]!.head('b', 'd2'))?.record.version).toEqual(meta.version);
    expect((await c.stores[holder]!.hints({ limit: 10 })).entries.map((h) => h.owner)).toEqual([owners[2]]);
    expect((await c.stores[holder]!.head('b', 'd2'))?.record.version).toEqual(meta.version);

    c.setDown(owners[2]!, false, membership);
    await deliveryOn(holder, () => true).runOnce(never);
    expect((await c.stores[owners[2]!]!.head('b', 'd2'))?.record.version).toEqual(meta.version);
    expect((await c.stores[holder]!.hints({ limit: 10 })).entries).toEqual([]);
    expect(await c.stores[holder]!.head('b', 'd2')).toBeUndefined();
  });

  it('drops hints older than maxAgeMs: counted, and their partitions handed to onDropped', async () => {
    const { c, plan, metrics, dropped, deliveryOn, probe } = await setup(['a1'], { maxBytes: 1 << 30, maxAgeMs: 60_000 });
    const { owners, fallback } = plan[0]!;
    const membership = c.membership(owners[0]!);
    c.setDown(owners[2]!, true, membership);
    const coordinator = c.coordinator(membership);
    await coordinator.putObject(putInput('a1', [Buffer.from('old')]));
    await coordinator.drain();
    const delivery = deliveryOn(fallback, (id) => id !== owners[2]);
    c.clock.ms += 30_000;
    await delivery.runOnce(never);
    expect(dropped).toEqual([]);
    c.clock.ms += 31_000;
    await delivery.runOnce(never);
    expect(dropped).toEqual([probe.ring.partitionOf('b', 'a1')]);
    expect((await c.stores[fallback]!.hints({ limit: 10 })).entries).toEqual([]);
    expect(await counter(metrics, 'ringstore_hints_dropped_total', { reason: 'age' })).toBe(1);
    expect(delivery.snapshot().dropped).toBe(1);
  });

  it('drops the oldest hints beyond maxBytes', async () => {
    const { c, metrics, dropped, deliveryOn, probe } = await setup([], { maxBytes: 2500, maxAgeMs: 3_600_000 });
    const store = c.stores['n5']!;
    const keys = ['s1', 's2', 's3'];
    for (const [i, key] of keys.entries()) {
      c.clock.ms += 1000;
      const meta = { bucket: 'b', key, version: { hlc: (i + 1) * 1000, node: 'n1' }, tombstone: false, size: 1000, etag: 'e', contentType: 'x', userMeta: {} };
      await store.commit(meta, { kind: 'inline', data: Buffer.alloc(1000, i) }, undefined, [{ kind: 'hint', owner: 'n1' }]);
    }
    await deliveryOn('n5', () => false).runOnce(never);
    expect((await store.hints({ limit: 10 })).entries.map((h) => h.key)).toEqual(['s2', 's3']);
    expect(dropped).toEqual([probe.ring.partitionOf('b', 's1')]);
    expect(await counter(metrics, 'ringstore_hints_dropped_total', { reason: 'size' })).toBe(1);
    expect(await counter(metrics, 'ringstore_hint_queue_bytes')).toBe(2000);
  });
});

describe('hintsBeyondBounds', () => {
  const hint = (key: string, createdMs: number, size: number) => ({ owner: 'o', bucket: 'b', key, version: { hlc: 1, node: 'n' }, size, createdMs });
  it('drops by age first, then the oldest until the bytes fit', () => {
    const hints = [hint('a', 0, 10), hint('b', 50, 10), hint('c', 60, 10), hint('d', 70, 10)];
    const { drop, keptBytes } = hintsBeyondBounds(hints, 100, { maxAgeMs: 60, maxBytes: 15 });
    expect(drop.map((d) => [d.hint.key, d.reason])).toEqual([
      ['a', 'age'],
      ['b', 'size'],
      ['c', 'size'],
    ]);
    expect(keptBytes).toBe(10);
  });
});
