/**
 * The coordinator's replication rules, each pinned by what a caller or a replica sees: what a
 * PUT records, the order of commits (this node's copy last), which replicas a read asks and
 * when, which answer wins, how a body read moves between holders, and what a listing asks.
 */
import { describe, it, expect, vi, afterEach } from 'vitest';
import { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { createMetrics, type Metrics } from '../../../src/metrics/definitions.js';
import type { ObjectRecord, ReplicaApi } from '../../../src/store/types.js';
import type { FoundObject } from '../../../src/replication/coordinator.js';
import { RingstoreError } from '../../../src/util/errors.js';
import { HARNESS_NOW, IDS, bodyOf, deferred, eventually, injected, plant, putInput, readAll, replicaHarness, settle, stateOf, within } from '../../helpers/replica-faults.js';

const HLC = (ms: number): number => ms * 1024;
const BIG = bodyOf(5000, 1);

function metrics(): Metrics {
  return createMetrics(new Registry(), { version: 'test', commit: 'test' });
}

async function count(counter: Metrics['quorumFailures'], labels: Record<string, string> = {}): Promise<number> {
  const { values } = await counter.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, string | number | undefined>)[k] === x)).reduce((n, v) => n + v.value, 0);
}

function record(extra: Partial<ObjectRecord>): ObjectRecord {
  return { bucket: 'b', key: 'k', version: { hlc: HLC(HARNESS_NOW - 10), node: 'n1' }, tombstone: false, size: 0, etag: 'e', contentType: '', userMeta: {}, crc32: 0, storage: 'blob', ...extra };
}

/** A holder whose body read is answered by `read`, logging each call. */
function holder(id: string, read: ReplicaApi['read'], log: string[]): { id: string; api: ReplicaApi } {
  return {
    id,
    api: {
      read: async (...args: Parameters<ReplicaApi['read']>) => {
        const range = args[3];
        log.push(range ? `${id} read ${range.start}-${range.end}` : `${id} read`);
        return read(...args);
      },
    } as unknown as ReplicaApi,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('what a PUT records', () => {
  it.each([
    ['inline', Buffer.from('small')],
    ['staged', BIG],
  ] as const)('%s: extra headers and checksums are recorded when given and absent when empty', async (_kind, data) => {
    const h = await replicaHarness();
    const withExtras = { ...putInput('k1', data), headers: { 'cache-control': 'no-cache' }, seal: () => ({ etag: 'e1', checksums: { crc32: 'AAAAAA==' } }) };
    const meta = await h.coordinator.putObject(withExtras);
    expect(meta.headers).toEqual({ 'cache-control': 'no-cache' });
    expect(meta.checksums).toEqual({ crc32: 'AAAAAA==' });
    await eventually(async () => (await h.stores.n1.head('b', 'k1')) !== undefined);
    const stored = (await h.stores.n2.head('b', 'k1'))!.record;
    expect(stored.headers).toEqual({ 'cache-control': 'no-cache' });
    expect(stored.checksums).toEqual({ crc32: 'AAAAAA==' });

    const empty = { ...putInput('k2', data), headers: {}, seal: () => ({ etag: 'e2', checksums: {} }) };
    const bare = await h.coordinator.putObject(empty);
    expect(Object.keys(bare)).not.toContain('headers');
    expect(Object.keys(bare)).not.toContain('checksums');
    const plain = await h.coordinator.putObject(putInput('k3', data));
    expect(Object.keys(plain)).not.toContain('headers');
    expect(Object.keys(plain)).not.toContain('checksums');
  });

  it('a DELETE records a tombstone with an empty ETag and content type', async () => {
    const h = await replicaHarness();
    await h.coordinator.putObject(putInput('k', Buffer.from('x')));
    await h.coordinator.deleteObject('b', 'k');
    const r = (await h.stores.n2.head('b', 'k'))!.record;
    expect(r.tombstone).toBe(true);
    expect(r.etag).toBe('');
    expect(r.contentType).toBe('');
  });
});

describe('what a failed operation tells its caller', () => {
  it('PutObject, DeleteObject and putSmall name their operation in the error and the metric', async () => {
    const m = metrics();
    const h = await replicaHarness({ metrics: m });
    h.replicas.n2.down = true;
    h.replicas.n3.down = true;
    await expect(h.coordinator.putObject(putInput('k', Buffer.from('small')))).rejects.toThrow(
      /^PutObject: needed 2 of 3 replicas, got 0 \(n[23]: PeerUnavailable: injected: n[23] is down; n[23]: PeerUnavailable: injected: n[23] is down; 1 replica\(s\) did not answer\)$/,
    );
    await expect(h.coordinator.putObject(putInput('k', BIG))).rejects.toThrow(
      /^PutObject: needed 2 of 3 replicas, got [01] \(n[23]: PeerUnavailable: injected: n[23] is down; n[23]: PeerUnavailable: injected: n[23] is down[;)]/,
    );
    expect(await count(m.quorumFailures, { op: 'PutObject' })).toBe(2);
    await expect(h.coordinator.putSmall({ bucket: 'b', key: 's', tombstone: false, size: 1, etag: 'e', contentType: '', userMeta: {} }, Buffer.from('x'))).rejects.toThrow(
      /^PutObject: needed 2 of 3 replicas, got 0/,
    );
    expect(await count(m.quorumFailures, { op: 'PutObject' })).toBe(3);
    expect(await count(m.quorumFailures)).toBe(3);
    // A staged body whose commits fail: the commit round names the operation too.
    h.replicas.n2.heal();
    h.replicas.n3.heal();
    h.replicas.n2.commitFault = () => injected('n2 commit');
    h.replicas.n3.commitFault = () => injected('n3 commit');
    await expect(h.coordinator.putObject(putInput('k', BIG))).rejects.toThrow(
      /^PutObject: needed 2 of 3 replicas, got 0 \(n[23]: PeerUnavailable: injected: n[23] commit; n[23]: PeerUnavailable: injected: n[23] commit; 1 replica\(s\) did not answer\)$/,
    );
    expect(await count(m.quorumFailures, { op: 'PutObject' })).toBe(4);
  });

  it('a write the ring is too small for fails at once, named after its operation, asking no replica', async () => {
    const m = metrics();
    const h = await replicaHarness({ w: 4, metrics: m });
    await expect(h.coordinator.putObject(putInput('k', Buffer.from('x')))).rejects.toThrow('PutObject: needed 4 of 3 replicas, the ring has only 3');
    await expect(h.coordinator.putSmall({ bucket: 'b', key: 's', tombstone: false, size: 1, etag: 'e', contentType: '', userMeta: {} }, Buffer.from('x'))).rejects.toThrow(
      'PutObject: needed 4 of 3 replicas, the ring has only 3',
    );
    await expect(h.coordinator.deleteObject('b', 'k')).rejects.toThrow('DeleteObject: needed 4 of 3 replicas, the ring has only 3');
    expect(await count(m.quorumFailures, { op: 'PutObject' })).toBe(2);
    expect(await count(m.quorumFailures, { op: 'DeleteObject' })).toBe(1);
    for (const id of IDS) expect(h.replicas[id].log).toEqual([]);
  });

  it('a missing key is NoSuchKey with the S3 message and the bucket and key in its details', async () => {
    const h = await replicaHarness();
    const err = await h.coordinator.headObject('b', 'nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RingstoreError);
    expect(err).toMatchObject({ code: 'NoSuchKey', message: 'The specified key does not exist.', details: { bucket: 'b', key: 'nope' } });
  });

  it('findObject and a multipart part lookup fail as GetObject', async () => {
    const m = metrics();
    const h = await replicaHarness({ metrics: m });
    for (const id of IDS) h.replicas[id].headFault = injected(`${id} head`);
    await expect(h.coordinator.findObject('b', 'k')).rejects.toThrow(/^GetObject: needed 2 of 3 replicas/);
    expect(await count(m.quorumFailures, { op: 'GetObject' })).toBe(1);
    const manifest = record({ size: 5, parts: [{ bucket: '.parts', key: 'p1', version: { hlc: 1, node: 'n1' }, size: 5, etag: 'p' }] });
    const body = await h.coordinator.openBody({ record: manifest, holders: [] });
    await expect(readAll(body)).rejects.toThrow(/^GetObject: needed 2 of 3 replicas/);
    expect(await count(m.quorumFailures, { op: 'GetObject' })).toBe(2);
  });
});

describe('commit order: this node commits its copy last', () => {
  it('with W=3 the local copy waits for both peers; the peers are committed at once', async () => {
    const h = await replicaHarness({ w: 3 });
    const gate = deferred();
    h.replicas.n3.commitGate = gate.promise;
    const put = h.coordinator.putObject(putInput('k', Buffer.from('small')));
    await settle();
    expect(h.replicas.n2.applied).toHaveLength(1);
    expect(h.replicas.n1.applied).toHaveLength(0);
    expect(await stateOf(put)).toBe('pending');
    gate.resolve();
    await within(put, 2000, 'PUT');
    expect(h.replicas.n1.applied).toHaveLength(1);
    expect(h.replicas.n1.count('commit:')).toBe(1);
  });

  it('when this node staged late, no peer is held back as if it were the local copy', async () => {
    const h = await replicaHarness();
    const stageGate = deferred();
    h.replicas.n1.stageFault = { kind: 'pause', until: stageGate.promise };
    // Key k's replicas in ring order are n1, n3, n2: n3 is the first peer, and must not wait for n2.
    const commitGate = deferred();
    h.replicas.n2.commitGate = commitGate.promise;
    const put = h.coordinator.putObject(putInput('k', BIG));
    await eventually(() => h.replicas.n3.applied.length === 1);
    expect(await stateOf(put)).toBe('pending');
    commitGate.resolve();
    stageGate.resolve();
    await within(put, 2000, 'PUT');
    await eventually(() => h.replicas.n1.applied.length === 1);
  });

  it('a refused write discards the local staged body exactly once (W=3, both peers refuse)', async () => {
    const h = await replicaHarness({ w: 3 });
    h.replicas.n2.commitFault = () => injected('n2 commit');
    h.replicas.n3.commitFault = () => injected('n3 commit');
    await expect(within(h.coordinator.putObject(putInput('k', BIG)), 2000, 'PUT')).rejects.toMatchObject({ code: 'QuorumNotReached' });
    await settle();
    expect(IDS.map((id) => h.replicas[id].count('discard'))).toEqual([1, 1, 1]);
    expect(h.replicas.n1.count('commit')).toBe(0);
  });

  it('a local commit that fails is discarded once, not again when the quorum is lost', async () => {
    const h = await replicaHarness();
    h.replicas.n1.commitFault = () => injected('n1 commit');
    h.replicas.n3.commitFault = () => injected('n3 commit');
    await expect(within(h.coordinator.putObject(putInput('k', BIG)), 2000, 'PUT')).rejects.toMatchObject({ code: 'QuorumNotReached' });
    await settle();
    expect(h.replicas.n1.count('commit:failed')).toBe(1);
    expect(h.replicas.n1.count('discard')).toBe(1);
  });
});

describe('which replicas a read asks, and when', () => {
  it('with R=1 a read asks one more replica every 100 ms while none answers', async () => {
    const h = await replicaHarness({ r: 1 });
    for (const id of IDS) await plant(h.stores[id], 'k', HLC(HARNESS_NOW - 10), Buffer.from('v'));
    const g1 = deferred();
    const g2 = deferred();
    h.replicas.n1.headGate = g1.promise;
    // The ring orders key k's replicas n1, n3, n2: the first two hang, the third answers.
    h.replicas.n3.headGate = g2.promise;
    const found = await within(h.coordinator.headObject('b', 'k'), 2000, 'read');
    expect(found.record.version.hlc).toBe(HLC(HARNESS_NOW - 10));
    expect(IDS.map((id) => h.replicas[id].count('head'))).toEqual([1, 1, 1]);
    g1.resolve();
    g2.resolve();
  });

  it('a replica that fails after the read was answered makes it ask nobody else', async () => {
    const h = await replicaHarness({ r: 1 });
    for (const id of IDS) await plant(h.stores[id], 'k', HLC(HARNESS_NOW - 10), Buffer.from('v'));
    const gate = deferred();
    h.replicas.n1.headGate = gate.promise;
    h.replicas.n1.headFault = injected('n1 head');
    await within(h.coordinator.headObject('b', 'k'), 2000, 'read');
    const asked = IDS.filter((id) => h.replicas[id].count('head') > 0);
    expect(asked).toHaveLength(2);
    gate.resolve();
    await settle();
    expect(IDS.filter((id) => h.replicas[id].count('head') > 0)).toEqual(asked);
  });

  it('a finished read leaves no speculation timer behind', async () => {
    const h = await replicaHarness();
    for (const id of IDS) await plant(h.stores[id], 'k', HLC(HARNESS_NOW - 10), Buffer.from('v'));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    await h.coordinator.headObject('b', 'k');
    expect(vi.getTimerCount()).toBe(0);
  });

  it.each(IDS)('coordinating on %s with R=1, only its own replica is asked', async (self) => {
    const h = await replicaHarness({ r: 1 });
    for (const id of IDS) await plant(h.stores[id], 'k', HLC(HARNESS_NOW - 10), Buffer.from('v'));
    const c = await h.coordinatorOn(self);
    await c.headObject('b', 'k');
    expect(IDS.map((id) => h.replicas[id].count('head'))).toEqual(IDS.map((id) => (id === self ? 1 : 0)));
  });
});

describe('which answer a read takes', () => {
  async function quarantine(h: Awaited<ReturnType<typeof replicaHarness>>, id: (typeof IDS)[number], hlc: number): Promise<void> {
    h.stores[id].corruptForTest('b', 'k', 5);
    await readAll(await h.stores[id].read('b', 'k', { hlc, node: 'n9' })).catch(() => undefined);
    expect((await h.stores[id].head('b', 'k'))!.record.storage).toBe('quarantined');
  }

  it('of equal versions, the copy with a body wins over a quarantined one, whichever answers first', async () => {
    const h = await replicaHarness({ readRepairChance: 1 });
    const NEW = HLC(HARNESS_NOW - 10);
    for (const id of IDS) await plant(h.stores[id], 'k', NEW, BIG);
    await quarantine(h, 'n2', NEW);
    await quarantine(h, 'n3', NEW);
    expect((await h.coordinator.headObject('b', 'k')).record.storage).toBe('blob');
    const h2 = await replicaHarness({ readRepairChance: 1 });
    for (const id of IDS) await plant(h2.stores[id], 'k', NEW, BIG);
    await quarantine(h2, 'n2', NEW);
    const onN2 = await h2.coordinatorOn('n2');
    const found = await onN2.headObject('b', 'k');
    expect(found.record.storage).toBe('blob');
    expect(found.holders.map((t) => t.id)).not.toContain('n2');
  });

  it('a quarantined copy of the newest version still names the newest version over older copies', async () => {
    const h = await replicaHarness();
    const NEW = HLC(HARNESS_NOW - 10);
    await plant(h.stores.n2, 'k', NEW, BIG);
    await quarantine(h, 'n2', NEW);
    await plant(h.stores.n1, 'k', NEW - 5000, BIG);
    await plant(h.stores.n3, 'k', NEW - 5000, BIG);
    const found = await (await h.coordinatorOn('n2')).headObject('b', 'k');
    expect(found.record.version.hlc).toBe(NEW);
    expect(found.holders).toEqual([]);
  });

  it('the newest version wins when it answers first and older copies answer after it', async () => {
    const h = await replicaHarness({ readRepairChance: 1 });
    const NEW = HLC(HARNESS_NOW - 10);
    await plant(h.stores.n1, 'k', NEW, Buffer.from('new'));
    await plant(h.stores.n2, 'k', NEW - 5000, Buffer.from('old'));
    await plant(h.stores.n3, 'k', NEW - 5000, Buffer.from('old'));
    const found = await h.coordinator.headObject('b', 'k');
    expect(found.record.version.hlc).toBe(NEW);
    expect(found.holders.map((t) => t.id)).toEqual(['n1']);
  });

  it('a replica without the key is not a holder', async () => {
    const h = await replicaHarness();
    await plant(h.stores.n2, 'k', HLC(HARNESS_NOW - 10), BIG);
    await plant(h.stores.n3, 'k', HLC(HARNESS_NOW - 10), BIG);
    const found = await h.coordinator.headObject('b', 'k');
    expect(found.holders).toHaveLength(1);
    expect(found.holders[0]!.id).not.toBe('n1');
  });

  it('a read moves the clock past the version it found, so a DELETE after it wins', async () => {
    const h = await replicaHarness();
    // 100 ms ahead of this node's clock: within the skew bound, so it is adopted.
    for (const id of IDS) await plant(h.stores[id], 'k', HLC(HARNESS_NOW + 100), Buffer.from('v'));
    await h.coordinator.headObject('b', 'k');
    await h.coordinator.deleteObject('b', 'k');
    expect(await h.coordinator.findObject('b', 'k')).toBeUndefined();
    expect((await h.stores.n1.head('b', 'k'))!.record.tombstone).toBe(true);
  });
});

describe('how a body is read from its holders', () => {
  it('when every holder fails, the caller gets ServiceUnavailable naming each holder and why', async () => {
    const h = await replicaHarness();
    for (const id of IDS) await plant(h.stores[id], 'k', HLC(HARNESS_NOW - 10), BIG);
    const found = await h.coordinator.headObject('b', 'k');
    const [a, b] = found.holders.map((t) => t.id as (typeof IDS)[number]);
    h.replicas[a!].readFault = { error: injected(`${a} read`) };
    h.replicas[b!].readFault = { error: injected(`${b} read`) };
    const err = await h.coordinator.openBody(found).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RingstoreError);
    expect(err).toMatchObject({
      code: 'ServiceUnavailable',
      message: `no replica could serve the body (${a}: PeerUnavailable: injected: ${a} read; ${b}: PeerUnavailable: injected: ${b} read)`,
      details: { bucket: 'b', key: 'k', superseded: false },
    });
  });

  it('a version with no holder left is not reported as superseded', async () => {
    const h = await replicaHarness();
    const err = await h.coordinator.openBody({ record: record({ size: 10 }), holders: [] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ServiceUnavailable', details: { superseded: false } });
  });

  it('once the reader has gone, no other holder is asked', async () => {
    const h = await replicaHarness();
    const log: string[] = [];
    // h1 gives 5 bytes and fails, vouching for them; h2, asked for the rest, sends nothing yet.
    const failing = holder(
      'h1',
      async () =>
        Readable.from(
          (async function* () {
            yield Buffer.from('first');
            throw new RingstoreError('CorruptBody', 'bad block', { resumable: true });
          })(),
        ),
      log,
    );
    const stuck = holder('h2', async () => new Readable({ read() {} }), log);
    const spare = holder('h3', async () => Readable.from([Buffer.from('spare')]), log);
    const body = (await h.coordinator.openBody({ record: record({ size: 10 }), holders: [failing, stuck, spare] })) as Readable;
    const first = await new Promise<Buffer>((resolve) => body.once('data', resolve));
    expect(first.toString()).toBe('first');
    await eventually(() => log.includes('h2 read 5-9'));
    body.destroy();
    await settle(10);
    // (Whole-body reads of h2 and h3 come from the background repair of h1's copy.)
    expect(log.filter((l) => / \d+-\d+$/.test(l))).toEqual(['h2 read 5-9']);
  });

  it('chunks handed back by the reader go back to the holder stream that lent them', async () => {
    const h = await replicaHarness();
    const recycled: Uint8Array[] = [];
    const lender = holder('h1', async () => Object.assign(Readable.from([Buffer.from('abc')]), { recycle: (c: Uint8Array) => void recycled.push(c) }), []);
    const body = (await h.coordinator.openBody({ record: record({ size: 3 }), holders: [lender] })) as Readable & { recycle(c: Uint8Array): void };
    const chunk = Buffer.from('abc');
    body.recycle(chunk);
    expect(recycled).toEqual([chunk]);
    expect(recycled[0]).toBe(chunk);
  });

  it('a corrupt holder is not used as a source for its own repair', async () => {
    const h = await replicaHarness();
    const v = HLC(HARNESS_NOW - 10);
    for (const id of IDS) await plant(h.stores[id], 'k', v, BIG);
    h.stores.n1.corruptForTest('b', 'k', 10);
    const found = await h.coordinator.headObject('b', 'k');
    expect(found.holders[0]!.id).toBe('n1');
    expect((await readAll(await h.coordinator.openBody(found))).equals(BIG)).toBe(true);
    await eventually(async () => (await h.stores.n1.head('b', 'k'))!.record.storage === 'blob');
    expect(h.replicas.n1.count('read')).toBe(1);
  });

  it('a holder that vouches for all but the last byte is resumed from that byte by the next holder', async () => {
    const h = await replicaHarness();
    for (const id of IDS) await plant(h.stores[id], 'k', HLC(HARNESS_NOW - 10), BIG);
    const found = await h.coordinator.headObject('b', 'k');
    const [a, b] = found.holders.map((t) => t.id as (typeof IDS)[number]);
    h.replicas[a!].readFault = { error: new RingstoreError('CorruptBody', 'bad block', { resumable: true }), afterBytes: BIG.length - 1 };
    expect((await readAll(await h.coordinator.openBody(found))).equals(BIG)).toBe(true);
    expect(h.replicas[b!].log).toContain(`read k ${BIG.length - 1}-${BIG.length - 1}`);
  });

  it('a holder that fails after delivering every byte fails the read: nothing is left to resume', async () => {
    const h = await replicaHarness();
    for (const id of IDS) await plant(h.stores[id], 'k', HLC(HARNESS_NOW - 10), BIG);
    const found = await h.coordinator.headObject('b', 'k');
    const [a, b] = found.holders.map((t) => t.id as (typeof IDS)[number]);
    h.replicas[a!].readFault = { error: new RingstoreError('CorruptBody', 'bad trailer', { resumable: true }), afterBytes: BIG.length };
    await expect(readAll(await h.coordinator.openBody(found))).rejects.toMatchObject({ code: 'CorruptBody' });
    // (b may be read whole by the repair of a's copy, but never for a range of this body.)
    expect(h.replicas[b!].log.filter((l) => /^read k \d/.test(l))).toEqual([]);
  });
});

describe('multipart bodies', () => {
  const V = HLC(HARNESS_NOW - 10);
  const part = (key: string, size: number, hlc = V) => ({ bucket: '.parts', key, version: { hlc, node: 'n9' }, size, etag: `etag-${hlc}` });

  it('is a byte stream, and skips empty parts without looking them up', async () => {
    const h = await replicaHarness();
    for (const id of IDS) await plant(h.stores[id], 'p1', V, Buffer.from('hello'), {}, '.parts');
    const body = await h.coordinator.openBody({ record: record({ size: 10, parts: [part('p1', 5), part('p0-missing', 0), part('p1', 5)] }), holders: [] });
    expect((body as Readable).readableObjectMode).toBe(false);
    expect((await readAll(body)).toString()).toBe('hellohello');
    for (const id of IDS) expect(h.replicas[id].count('head p0-missing')).toBe(0);
  });

  it('a part that changed since completion fails with its bucket and key', async () => {
    const h = await replicaHarness();
    for (const id of IDS) await plant(h.stores[id], 'p1', V + 1, Buffer.from('hello'), {}, '.parts');
    const body = await h.coordinator.openBody({ record: record({ size: 5, parts: [part('p1', 5)] }), holders: [] });
    await expect(readAll(body)).rejects.toMatchObject({ code: 'ServiceUnavailable', details: { bucket: '.parts', key: 'p1' } });
  });

  it('a whole part is read without a range', async () => {
    const h = await replicaHarness();
    for (const id of IDS) await plant(h.stores[id], 'p1', V, BIG, {}, '.parts');
    const body = await h.coordinator.openBody({ record: record({ size: BIG.length, parts: [part('p1', BIG.length)] }), holders: [] });
    expect((await readAll(body)).equals(BIG)).toBe(true);
    const reads = IDS.flatMap((id) => h.replicas[id].log.filter((l) => l.startsWith('read')));
    expect(reads).toEqual(['read p1']);
  });
});

describe('what a listing asks', () => {
  async function keys(h: Awaited<ReturnType<typeof replicaHarness>>, n: number): Promise<void> {
    for (const id of IDS) for (let i = 0; i < n; i++) await plant(h.stores[id], `k${String(i).padStart(3, '0')}`, HLC(HARNESS_NOW - 10), Buffer.from('v'));
  }

  it.each(['n2', 'n3'] as const)('a member marked down (%s) is not asked while the others cover the ring', async (down) => {
    const h = await replicaHarness();
    await keys(h, 3);
    h.membership.setLiveness(down, 'down');
    const page = await h.coordinator.listPage('b', { limit: 10 });
    expect(page.records.map((r) => r.key)).toEqual(['k000', 'k001', 'k002']);
    expect(h.replicas[down].count('list')).toBe(0);
  });

  it('members marked down are asked when the others cannot cover the ring', async () => {
    const h = await replicaHarness();
    await keys(h, 3);
    h.membership.setLiveness('n2', 'down');
    h.membership.setLiveness('n3', 'down');
    h.replicas.n1.listFault = () => injected('n1 list');
    const page = await h.coordinator.listPage('b', { limit: 10 });
    expect(page.records.map((r) => r.key)).toEqual(['k000', 'k001', 'k002']);
    expect(page.exhausted).toBe(true);
  });

  it('when no member is left for some keys, ListObjects fails naming each failed member and why', async () => {
    const h = await replicaHarness();
    for (const id of IDS) h.replicas[id].listFault = () => injected(`${id} list`);
    const err = await h.coordinator.listPage('b', { limit: 10 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'QuorumNotReached' });
    const { message } = err as RingstoreError;
    expect(message).toMatch(
      /^ListObjects: some keys have no live replica \(failed: n\d, n\d, n\d\) \(n\d: PeerUnavailable: injected: n\d list; n\d: PeerUnavailable: injected: n\d list; n\d: PeerUnavailable: injected: n\d list\)$/,
    );
    for (const id of IDS) expect(message).toContain(`${id}: PeerUnavailable: injected: ${id} list`);
  });

  it.each([
    [5, 100],
    [200, 210],
    [5000, 1100],
  ])('a page of %i asks each replica for %i records, with no prefix or start unless given', async (limit, batch) => {
    const h = await replicaHarness();
    const spy = vi.spyOn(h.stores.n1, 'list');
    await h.coordinator.listPage('b', { limit });
    expect(spy.mock.calls[0]![1]).toStrictEqual({ limit: batch });
    await h.coordinator.listPage('b', { limit, prefix: 'p', startAfter: 'a' });
    expect(spy.mock.calls[1]![1]).toStrictEqual({ prefix: 'p', startAfter: 'a', limit: batch });
  });

  it('a page that fills up on the last record of a truncated round is not exhausted', async () => {
    const h = await replicaHarness();
    // 95 tombstones then 5 live keys fill the 100-record round; one more live key follows.
    for (const id of IDS) {
      for (let i = 0; i < 101; i++) await plant(h.stores[id], `k${String(i).padStart(3, '0')}`, HLC(HARNESS_NOW - 10), i < 95 ? null : Buffer.from('v'));
    }
    const page = await h.coordinator.listPage('b', { limit: 5 });
    expect(page.records.map((r) => r.key)).toEqual(['k095', 'k096', 'k097', 'k098', 'k099']);
    expect(page.exhausted).toBe(false);
    const rest = await h.coordinator.listPage('b', { limit: 5, startAfter: 'k099' });
    expect(rest.records.map((r) => r.key)).toEqual(['k100']);
    expect(rest.exhausted).toBe(true);
  });
});
