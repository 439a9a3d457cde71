/**
 * Read repair's rules, pinned by what the replicas and the metrics show: the newest version
 * seen by any answer (late ones included) is what stale replicas get; a small body goes along
 * inline; a quarantined copy is never a source; a corrupt copy is replaced only by a body that
 * matches its record, one job per replica and key at a time, retried by the next read; only
 * repairs that changed a replica are counted; and a failed repair discards what it staged.
 */
import { describe, it, expect } from 'vitest';
import { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { createMetrics, type Metrics } from '../../../src/metrics/definitions.js';
import { ReadRepairer } from '../../../src/replication/read-repair.js';
import type { FanoutTarget } from '../../../src/replication/fanout.js';
import type { ObjectRecord, ReplicaApi } from '../../../src/store/types.js';
import { silentLogger } from '../../../src/util/logger.js';
import { HARNESS_NOW, IDS, bodyOf, deferred, eventually, injected, plant, readAll, replicaHarness, settle, type Harness, type NodeId } from '../../helpers/replica-faults.js';

const NEW = (HARNESS_NOW - 10) * 1024;
const OLD = NEW - 5000 * 1024;
const BIG = bodyOf(5000, 4);

function metrics(): Metrics {
  return createMetrics(new Registry(), { version: 'test', commit: 'test' });
}

async function total(counter: Metrics['readRepairs']): Promise<number> {
  return (await counter.get()).values.reduce((n, v) => n + v.value, 0);
}

async function hlcOn(h: Harness, id: NodeId, key = 'k'): Promise<number | undefined> {
  return (await h.stores[id].head('b', key))?.record.version.hlc;
}

async function quarantine(h: Harness, id: NodeId, key = 'k'): Promise<void> {
  h.stores[id].corruptForTest('b', key, 5);
  await readAll(await h.stores[id].read('b', key, (await h.stores[id].head('b', key))!.record.version)).catch(() => undefined);
  expect((await h.stores[id].head('b', key))!.record.storage).toBe('quarantined');
}

function target(h: Harness, id: NodeId): FanoutTarget {
  return { id, api: h.replicas[id] };
}

/** n1..n3 hold BIG at NEW under `keys`, n1's copies quarantined; returns the good record of each. */
async function corruptOnN1(h: Harness, keys: string[] = ['k']): Promise<ObjectRecord[]> {
  const out: ObjectRecord[] = [];
  for (const key of keys) {
    for (const id of IDS) await plant(h.stores[id], key, NEW, BIG);
    await quarantine(h, 'n1', key);
    out.push((await h.stores.n2.head('b', key))!.record);
  }
  return out;
}

describe('read repair: what the stale replicas get', () => {
  it('a newer version that arrives after the quorum is what every replica is brought up to', async () => {
    const h = await replicaHarness({ readRepairChance: 1 });
    await plant(h.stores.n1, 'k', OLD, Buffer.from('old'));
    await plant(h.stores.n2, 'k', OLD, Buffer.from('old'));
    await plant(h.stores.n3, 'k', NEW, Buffer.from('new'));
    const gate = deferred();
    h.replicas.n3.headGate = gate.promise;
    expect((await h.coordinator.headObject('b', 'k')).record.version.hlc).toBe(OLD);
    gate.resolve();
    await eventually(async () => (await hlcOn(h, 'n1')) === NEW && (await hlcOn(h, 'n2')) === NEW);
    expect((await readAll(await h.stores.n1.read('b', 'k', { hlc: NEW, node: 'n9' }))).toString()).toBe('new');
  });

  it('a small body goes along inline: no holder is read', async () => {
    const h = await replicaHarness({ readRepairChance: 1 });
    await plant(h.stores.n1, 'k', NEW, Buffer.from('new'));
    await plant(h.stores.n2, 'k', NEW, Buffer.from('new'));
    await plant(h.stores.n3, 'k', OLD, Buffer.from('old'));
    await h.coordinator.headObject('b', 'k');
    await eventually(async () => (await hlcOn(h, 'n3')) === NEW);
    for (const id of IDS) expect(h.replicas[id].count('read')).toBe(0);
  });

  it('a quarantined copy of the newest version is never the source of a repair', async () => {
    const h = await replicaHarness({ readRepairChance: 1 });
    await plant(h.stores.n1, 'k', NEW, BIG);
    await quarantine(h, 'n1');
    await plant(h.stores.n2, 'k', NEW, BIG);
    await plant(h.stores.n3, 'k', OLD, Buffer.from('old'));
    await h.coordinator.findObject('b', 'k');
    await eventually(async () => (await hlcOn(h, 'n3')) === NEW);
    expect((await readAll(await h.stores.n3.read('b', 'k', { hlc: NEW, node: 'n9' }))).equals(BIG)).toBe(true);
    expect(h.replicas.n1.count('read')).toBe(0);
  });

  it('a replica that already got the version is not counted as repaired', async () => {
    const m = metrics();
    const h = await replicaHarness();
    await plant(h.stores.n1, 'k', NEW, Buffer.from('new'));
    await plant(h.stores.n2, 'k', NEW, Buffer.from('new'));
    const newest = (await h.stores.n1.head('b', 'k', { inlineUpTo: 1024 }))!;
    const repairer = new ReadRepairer({ logger: silentLogger, metrics: m });
    // n2 answered "nothing" but holds the version by the time the repair reaches it.
    await repairer.afterRead([Promise.resolve({ target: target(h, 'n1'), result: newest }), Promise.resolve({ target: target(h, 'n2'), result: undefined })], newest);
    expect(h.replicas.n2.count('commit:kept')).toBe(1);
    expect(await total(m.readRepairs)).toBe(0);
  });

  it('without metrics, a blob repair commits and discards nothing after it', async () => {
    const h = await replicaHarness();
    await plant(h.stores.n1, 'k', NEW, BIG);
    const newest = (await h.stores.n1.head('b', 'k'))!;
    const repairer = new ReadRepairer({ logger: silentLogger, metrics: null });
    await repairer.afterRead([Promise.resolve({ target: target(h, 'n1'), result: newest }), Promise.resolve({ target: target(h, 'n2'), result: undefined })], newest);
    expect(await hlcOn(h, 'n2')).toBe(NEW);
    expect(h.replicas.n2.count('discard')).toBe(0);
  });

  it('an inline repair whose commit fails discards nothing (nothing was staged)', async () => {
    const h = await replicaHarness();
    await plant(h.stores.n1, 'k', NEW, Buffer.from('new'));
    const newest = (await h.stores.n1.head('b', 'k', { inlineUpTo: 1024 }))!;
    expect(newest.inlineBody).toBeDefined();
    h.replicas.n2.commitFault = () => injected('n2 commit');
    const repairer = new ReadRepairer({ logger: silentLogger, metrics: null });
    await repairer.afterRead([Promise.resolve({ target: target(h, 'n1'), result: newest }), Promise.resolve({ target: target(h, 'n2'), result: undefined })], newest);
    expect(h.replicas.n2.count('commit:failed')).toBe(1);
    expect(h.replicas.n2.count('discard')).toBe(0);
  });
});

describe('replacing a corrupt copy', () => {
  it('two keys of one replica are replaced at the same time', async () => {
    const h = await replicaHarness();
    const [r1, r2] = await corruptOnN1(h, ['k1', 'k2']);
    const repairer = new ReadRepairer({ logger: silentLogger, metrics: null });
    await Promise.all([repairer.replaceCorrupt(target(h, 'n1'), r1!, [target(h, 'n2')]), repairer.replaceCorrupt(target(h, 'n1'), r2!, [target(h, 'n2')])]);
    for (const key of ['k1', 'k2']) expect((await h.stores.n1.head('b', key))!.record.storage).toBe('blob');
  });

  it('one copy is replaced by one job at a time', async () => {
    const h = await replicaHarness();
    const [r] = await corruptOnN1(h);
    const repairer = new ReadRepairer({ logger: silentLogger, metrics: null });
    await Promise.all([repairer.replaceCorrupt(target(h, 'n1'), r!, [target(h, 'n2')]), repairer.replaceCorrupt(target(h, 'n1'), r!, [target(h, 'n2')])]);
    expect(h.replicas.n1.count('stage:ok')).toBe(1);
    expect(h.replicas.n2.count('read')).toBe(1);
  });

  it('a later read tries again after a failed replacement', async () => {
    const h = await replicaHarness();
    const [r] = await corruptOnN1(h);
    const repairer = new ReadRepairer({ logger: silentLogger, metrics: null });
    h.replicas.n2.readFault = { error: injected('n2 read') };
    await repairer.replaceCorrupt(target(h, 'n1'), r!, [target(h, 'n2')]);
    expect((await h.stores.n1.head('b', 'k'))!.record.storage).toBe('quarantined');
    h.replicas.n2.heal();
    await repairer.replaceCorrupt(target(h, 'n1'), r!, [target(h, 'n2')]);
    expect((await h.stores.n1.head('b', 'k'))!.record.storage).toBe('blob');
  });

  it('a fetched body with the wrong CRC is discarded and the next source is used', async () => {
    const h = await replicaHarness();
    const [r] = await corruptOnN1(h);
    const wrong = Buffer.from(BIG);
    wrong[100] = wrong[100]! ^ 0xff;
    const liar: FanoutTarget = { id: 'liar', api: { read: async () => Readable.from([wrong]) } as unknown as ReplicaApi };
    const repairer = new ReadRepairer({ logger: silentLogger, metrics: null });
    await repairer.replaceCorrupt(target(h, 'n1'), r!, [liar, target(h, 'n2')]);
    expect(h.replicas.n1.count('discard')).toBe(1);
    expect(h.replicas.n1.count('commit:applied')).toBe(1);
    expect((await readAll(await h.stores.n1.read('b', 'k', r!.version))).equals(BIG)).toBe(true);
  });

  it('a fetched body of the wrong size is discarded even when its CRC matches', async () => {
    const h = await replicaHarness();
    const [r] = await corruptOnN1(h);
    const repairer = new ReadRepairer({ logger: silentLogger, metrics: null });
    await repairer.replaceCorrupt(target(h, 'n1'), { ...r!, size: r!.size + 1 }, [target(h, 'n2')]);
    expect(h.replicas.n1.count('discard')).toBe(1);
    expect(h.replicas.n1.count('commit')).toBe(0);
    expect((await h.stores.n1.head('b', 'k'))!.record.storage).toBe('quarantined');
  });

  it('a replacement that changed nothing is not counted', async () => {
    const m = metrics();
    const h = await replicaHarness();
    for (const id of IDS) await plant(h.stores[id], 'k', NEW, BIG);
    const r = (await h.stores.n2.head('b', 'k'))!.record;
    const repairer = new ReadRepairer({ logger: silentLogger, metrics: m });
    await repairer.replaceCorrupt(target(h, 'n1'), r, [target(h, 'n2')]);
    expect(h.replicas.n1.count('commit:kept')).toBe(1);
    expect(await total(m.corruptRepairs)).toBe(0);
  });

  it('without metrics, a successful replacement stops at the first good source', async () => {
    const h = await replicaHarness();
    const [r] = await corruptOnN1(h);
    const repairer = new ReadRepairer({ logger: silentLogger, metrics: null });
    await repairer.replaceCorrupt(target(h, 'n1'), r!, [target(h, 'n2'), target(h, 'n3')]);
    await settle();
    expect(h.replicas.n1.count('stage:ok')).toBe(1);
    expect(h.replicas.n3.count('read')).toBe(0);
  });
});
