/**
 * The write quorum (N=3, W=2): a PUT or DELETE is acknowledged only once W replicas have
 * durably committed it — not at stage, not after one commit, never on a failed commit — and a
 * write that cannot reach W fails with QuorumNotReached (503 at the S3 layer).
 */
import { describe, it, expect } from 'vitest';
import { toS3Error } from '../../../src/s3/errors.js';
import { RingstoreError } from '../../../src/util/errors.js';
import { IDS, bodyOf, chunked, deferred, holdings, injected, plant, putInput, readAll, replicaHarness, stagedLeft, stateOf, within, type NodeId } from '../../helpers/replica-faults.js';

const SMALL = Buffer.from('small body, committed inline');
const LARGE = bodyOf(3 * 1024 * 1024 + 17, 1);

const bodies = [
  ['inline', SMALL],
  ['staged', LARGE],
] as const;

describe('write quorum', () => {
  describe.each(bodies)('a PUT whose body is %s', (_kind, data) => {
    it('acknowledges only once W=2 replicas committed, and the commit of the third lands later', async () => {
      const h = await replicaHarness();
      const gates = { n1: deferred(), n2: deferred(), n3: deferred() };
      for (const id of IDS) h.replicas[id].commitGate = gates[id].promise;
      let atAck: NodeId[] | undefined;
      const put = h.coordinator.putObject(putInput('k', chunked(data))).then((meta) => {
        // The instant the PUT resolves: which replicas have the version committed.
        atAck = IDS.filter((id) => h.replicas[id].applied.some((m) => m.key === 'k'));
        return meta;
      });
      expect(await stateOf(put)).toBe('pending');
      gates.n2.resolve();
      expect(await stateOf(put)).toBe('pending');
      expect(atAck).toBeUndefined();
      gates.n1.resolve();
      const meta = await within(put, 2000, 'PUT');
      expect(atAck).toEqual(['n1', 'n2']);
      expect(h.replicas.n3.applied).toEqual([]);
      // The third replica's commit lands after the acknowledgement.
      gates.n3.resolve();
      await stateOf(Promise.resolve());
      for (const id of IDS) {
        const head = await h.stores[id].head('b', 'k');
        expect(head?.record.version).toEqual(meta.version);
        expect((await readAll(await h.stores[id].read('b', 'k', meta.version))).equals(data)).toBe(true);
      }
      expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
    });

    it('fails with QuorumNotReached when two replicas fail their commits, and counts no failure as an ack', async () => {
      const h = await replicaHarness();
      h.replicas.n2.commitFault = () => injected('n2 commit');
      h.replicas.n3.commitFault = () => new RingstoreError('RpcTimeout', 'injected: n3 commit timed out');
      const err = await within(h.coordinator.putObject(putInput('k', chunked(data))), 2000, 'PUT').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RingstoreError);
      expect((err as RingstoreError).code).toBe('QuorumNotReached');
      expect((err as RingstoreError).details).toMatchObject({ needed: 2, total: 3, errors: { n2: expect.any(String), n3: expect.any(String) } });
      expect((err as RingstoreError).message).toMatch(/n2: PeerUnavailable: injected: n2 commit/);
      expect((err as RingstoreError).message).toMatch(/n3: RpcTimeout/);
      expect(toS3Error(err).code).toBe('ServiceUnavailable');
      // No copy of the failed write anywhere (the coordinator's own is committed last), and a
      // staged body that will not be committed is discarded, not left on the replica's disk.
      await stateOf(Promise.resolve());
      expect(await holdings(h.stores, 'k')).toEqual({ n1: null, n2: null, n3: null });
      expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
    });

    it('with two owners down fails with QuorumNotReached and is not read once they are back', async () => {
      const h = await replicaHarness();
      const before = await plant(h.stores.n1, 'k', 1000 * 1024, Buffer.from('before'));
      await plant(h.stores.n2, 'k', 1000 * 1024, Buffer.from('before'));
      await plant(h.stores.n3, 'k', 1000 * 1024, Buffer.from('before'));
      h.replicas.n2.down = true;
      h.replicas.n3.down = true;
      await expect(within(h.coordinator.putObject(putInput('k', chunked(data))), 2000, 'PUT')).rejects.toMatchObject({ code: 'QuorumNotReached' });
      h.replicas.n2.heal();
      h.replicas.n3.heal();
      await stateOf(Promise.resolve());
      expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
      // Whoever coordinates the read, and whichever two replicas it asks, it finds the old version.
      for (const self of IDS) {
        const found = await (await h.coordinatorOn(self)).headObject('b', 'k');
        expect(found.record.version).toEqual(before.version);
      }
      for (const id of IDS) expect((await h.stores[id].head('b', 'k'))?.record.version).toEqual(before.version);
    });
  });

  it('a DELETE is acknowledged only once W=2 tombstones are committed', async () => {
    const h = await replicaHarness();
    for (const id of IDS) await plant(h.stores[id], 'k', 1000 * 1024, Buffer.from('live'));
    const gates = { n1: deferred(), n2: deferred(), n3: deferred() };
    for (const id of IDS) h.replicas[id].commitGate = gates[id].promise;
    let atAck: NodeId[] | undefined;
    const del = h.coordinator.deleteObject('b', 'k').then(() => {
      atAck = IDS.filter((id) => h.replicas[id].applied.some((m) => m.tombstone));
    });
    expect(await stateOf(del)).toBe('pending');
    gates.n3.resolve();
    expect(await stateOf(del)).toBe('pending');
    gates.n1.resolve();
    await within(del, 2000, 'DELETE');
    expect(atAck).toEqual(['n1', 'n3']);
    expect((await h.stores.n2.head('b', 'k'))?.record.tombstone).toBe(false);
    gates.n2.resolve();
    await stateOf(Promise.resolve());
    expect(Object.values(await holdings(h.stores, 'k')).map((x) => x?.tombstone)).toEqual([true, true, true]);
  });

  it('a DELETE that only one replica could take fails with QuorumNotReached', async () => {
    const h = await replicaHarness();
    for (const id of IDS) await plant(h.stores[id], 'k', 1000 * 1024, Buffer.from('live'));
    h.replicas.n1.commitFault = () => injected('n1 commit');
    h.replicas.n3.commitFault = () => injected('n3 commit');
    await expect(within(h.coordinator.deleteObject('b', 'k'), 2000, 'DELETE')).rejects.toMatchObject({
      code: 'QuorumNotReached',
      details: { needed: 2, errors: { n1: expect.any(String), n3: expect.any(String) } },
    });
    // With the peers down, the coordinator writes no tombstone of its own either: the key stays readable.
    const h2 = await replicaHarness();
    for (const id of IDS) await plant(h2.stores[id], 'k', 1000 * 1024, Buffer.from('live'));
    h2.replicas.n2.down = true;
    h2.replicas.n3.down = true;
    await expect(within(h2.coordinator.deleteObject('b', 'k'), 2000, 'DELETE')).rejects.toMatchObject({ code: 'QuorumNotReached' });
    h2.replicas.n2.heal();
    h2.replicas.n3.heal();
    expect(Object.values(await holdings(h2.stores, 'k')).map((x) => x?.tombstone)).toEqual([false, false, false]);
    expect((await readAll(await h2.coordinator.openBody(await h2.coordinator.headObject('b', 'k')))).toString()).toBe('live');
  });

  it('a quorum that fails for a full disk says so: InsufficientStorage, 503 with its own message', async () => {
    const h = await replicaHarness();
    h.replicas.n2.commitFault = () => new RingstoreError('InsufficientStorage', 'injected: ENOSPC');
    h.replicas.n3.commitFault = () => injected('n3 commit');
    const err = await within(h.coordinator.putObject(putInput('k', SMALL)), 2000, 'PUT').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'InsufficientStorage', details: { needed: 2 } });
    expect(toS3Error(err)).toMatchObject({ code: 'ServiceUnavailable', message: expect.stringMatching(/no free disk space/) });
  });

  it('a replica that holds a newer version within clock uncertainty: the write is committed again above it', async () => {
    const now = 1_800_000_000_000;
    const h = await replicaHarness({ now: () => now });
    // n3 holds a version from a clock 100 ms ahead; this write may well have come later.
    const newer = await plant(h.stores.n3, 'k', (now + 100) * 1024, Buffer.from('newer'));
    const meta = await within(h.coordinator.putObject(putInput('k', SMALL)), 2000, 'PUT');
    await stateOf(Promise.resolve());
    expect(meta.version.hlc).toBeGreaterThan(newer.version.hlc);
    for (const s of [h.stores.n1, h.stores.n3]) expect((await s.head('b', 'k'))?.record.version).toEqual(meta.version);
  });

  it('a version too far in the future on two replicas is ClockSkew, not an ack', async () => {
    const now = 1_800_000_000_000;
    const h = await replicaHarness({ now: () => now });
    await plant(h.stores.n2, 'k', (now + 5000) * 1024, Buffer.from('future'));
    await plant(h.stores.n3, 'k', (now + 5000) * 1024, Buffer.from('future'));
    await expect(within(h.coordinator.putObject(putInput('k', SMALL)), 2000, 'PUT')).rejects.toMatchObject({ code: 'ClockSkew', details: { peer: expect.stringMatching(/^n[23]$/), aheadMs: 5000 } });
    // One such replica alone does not stop a write that two others take.
    const h2 = await replicaHarness({ now: () => now });
    await plant(h2.stores.n3, 'k', (now + 5000) * 1024, Buffer.from('future'));
    const meta = await h2.coordinator.putObject(putInput('k', SMALL));
    expect((await h2.stores.n2.head('b', 'k'))?.record.version).toEqual(meta.version);
  });

  it('fewer than W members in the ring is QuorumNotReached before the body is read', async () => {
    const h = await replicaHarness({ w: 2 });
    let read = false;
    const body = (async function* () {
      read = true;
      yield SMALL;
    })();
    // A ring of one member cannot place two copies.
    h.membership.adopt({ version: 2, members: [{ id: 'n1', address: 'sim:0', zone: 'z0', capacity: 1, state: 'active' }] });
    await expect(h.coordinator.putObject({ ...putInput('k', SMALL), body })).rejects.toMatchObject({
      code: 'QuorumNotReached',
      message: expect.stringMatching(/needed 2 of 1 replicas, the ring has only 1/),
    });
    await expect(h.coordinator.deleteObject('b', 'k')).rejects.toMatchObject({ code: 'QuorumNotReached' });
    expect(read).toBe(false);
  });
});
