/**
 * What the replication core counts: every operation that misses its quorum once under its own
 * op label, every stale replica read repair updated, every corrupt copy a read went around and
 * every one it replaced (checked on the replaced store by version and bytes).
 */
import { describe, it, expect } from 'vitest';
import { Registry } from 'prom-client';
import { createMetrics, type Metrics } from '../../../src/metrics/definitions.js';
import { RingstoreError } from '../../../src/util/errors.js';
import { IDS, bodyOf, eventually, injected, plant, putInput, readAll, replicaHarness, within } from '../../helpers/replica-faults.js';

function metrics(): Metrics {
  return createMetrics(new Registry(), { version: 'test', commit: 'test' });
}

async function count(counter: Metrics['readRepairs'] | Metrics['quorumFailures'], labels: Record<string, string> = {}): Promise<number> {
  const { values } = await counter.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, string | number | undefined>)[k] === x)).reduce((n, v) => n + v.value, 0);
}

describe('replication metrics', () => {
  it('counts each missed quorum once, under its operation', async () => {
    const m = metrics();
    const h = await replicaHarness({ metrics: m });
    await plant(h.stores.n1, 'k', 1000 * 1024, Buffer.from('x'));
    h.replicas.n2.down = true;
    h.replicas.n3.down = true;
    await expect(within(h.coordinator.putObject(putInput('k', Buffer.from('small'))), 2000, 'PUT')).rejects.toMatchObject({ code: 'QuorumNotReached' });
    await expect(within(h.coordinator.putObject(putInput('k', bodyOf(5000, 1))), 2000, 'PUT')).rejects.toMatchObject({ code: 'QuorumNotReached' });
    await expect(within(h.coordinator.deleteObject('b', 'k'), 2000, 'DELETE')).rejects.toMatchObject({ code: 'QuorumNotReached' });
    await expect(within(h.coordinator.headObject('b', 'k'), 2000, 'GET')).rejects.toMatchObject({ code: 'QuorumNotReached' });
    h.replicas.n1.down = true;
    await expect(within(h.coordinator.listPage('b', { limit: 10 }), 2000, 'LIST')).rejects.toMatchObject({ code: 'QuorumNotReached' });
    expect(await count(m.quorumFailures, { op: 'PutObject' })).toBe(2);
    expect(await count(m.quorumFailures, { op: 'DeleteObject' })).toBe(1);
    expect(await count(m.quorumFailures, { op: 'GetObject' })).toBe(1);
    expect(await count(m.quorumFailures, { op: 'ListObjects' })).toBe(1);
    expect(await count(m.quorumFailures)).toBe(5);
  });

  it('does not count a PUT whose own body failed (the client error, not a quorum)', async () => {
    const m = metrics();
    const h = await replicaHarness({ metrics: m });
    const body = (async function* () {
      yield bodyOf(5000, 2);
      throw new RingstoreError('BadDigest', 'injected');
    })();
    await expect(h.coordinator.putObject({ ...putInput('k', []), body })).rejects.toMatchObject({ code: 'BadDigest' });
    expect(await count(m.quorumFailures)).toBe(0);
  });

  it('counts a write refused for a ring too small for W', async () => {
    const m = metrics();
    const h = await replicaHarness({ metrics: m });
    h.membership.adopt({ version: 2, members: [{ id: 'n1', address: 'sim:0', zone: 'z0', capacity: 1, state: 'active' }] });
    await expect(h.coordinator.deleteObject('b', 'k')).rejects.toMatchObject({ code: 'QuorumNotReached' });
    expect(await count(m.quorumFailures, { op: 'DeleteObject' })).toBe(1);
  });

  it('counts each replica read repair updated, and none when all agree', async () => {
    const m = metrics();
    const h = await replicaHarness({ metrics: m, readRepairChance: 1 });
    await plant(h.stores.n2, 'k', 2000 * 1024, Buffer.from('new'));
    await h.coordinator.headObject('b', 'k');
    await eventually(async () => (await count(m.readRepairs)) === 2);
    await h.coordinator.headObject('b', 'k');
    await new Promise((r) => setTimeout(r, 20));
    expect(await count(m.readRepairs)).toBe(2);
  });

  it('counts a corrupt copy read around, and its replacement on the corrupt replica', async () => {
    const m = metrics();
    const h = await replicaHarness({ metrics: m, readRepairChance: 1 });
    const data = bodyOf(3 * 1024 * 1024 + 5, 8);
    const meta = await h.coordinator.putObject(putInput('k', data));
    await eventually(() => IDS.every((id) => h.stores[id].stats().records === 1));
    h.stores.n1.corruptForTest('b', 'k', data.length - 3);
    const found = await h.coordinator.headObject('b', 'k');
    expect((await readAll(await h.coordinator.openBody(found))).equals(data)).toBe(true);
    expect(await count(m.corruptReads)).toBe(1);
    await eventually(async () => (await count(m.corruptRepairs)) === 1);
    const restored = (await h.stores.n1.head('b', 'k'))!.record;
    expect([restored.version, restored.storage]).toEqual([meta.version, 'blob']);
    expect((await readAll(await h.stores.n1.read('b', 'k', meta.version))).equals(data)).toBe(true);
  });

  it('a replacement whose fetched body differs from the record is discarded, not committed', async () => {
    const m = metrics();
    const h = await replicaHarness({ metrics: m, readRepairChance: 1 });
    const data = bodyOf(3 * 1024 * 1024 + 5, 8);
    const meta = await h.coordinator.putObject(putInput('k', data));
    await eventually(() => IDS.every((id) => h.stores[id].stats().records === 1));
    h.stores.n1.corruptForTest('b', 'k', 10);
    // The other holders send a body that is cut short: its size and CRC do not match the record.
    for (const id of ['n2', 'n3'] as const) h.replicas[id].readFault = { error: injected('cut'), afterBytes: data.length };
    const found = await h.coordinator.headObject('b', 'k');
    await readAll(await h.coordinator.openBody(found)).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    expect(await count(m.corruptRepairs)).toBe(0);
    expect((await h.stores.n1.head('b', 'k'))?.record.storage).toBe('quarantined');
    expect(h.stores.n1.stats().staged).toBe(0);
    expect((await h.stores.n1.head('b', 'k'))?.record.version).toEqual(meta.version);
  });
});
