/**
 * Fan-out failure paths of a staged PUT (N=3, W=2): a lane failing mid-stream, two lanes
 * failing, the client's body failing just past the inline threshold, a lane that does not
 * drain, late commits. After each, the stores hold exactly what was acknowledged and no staged
 * body is left behind.
 */
import { describe, it, expect } from 'vitest';
import { RingstoreError } from '../../../src/util/errors.js';
import {
  IDS,
  bodyOf,
  chunked,
  deferred,
  eventually,
  holdings,
  injected,
  putInput,
  readAll,
  replicaHarness,
  stagedLeft,
  stateOf,
  within,
  type Harness,
  type NodeId,
} from '../../helpers/replica-faults.js';

const BIG = bodyOf(3 * 1024 * 1024 + 100, 5);
const MEDIUM = bodyOf(5000, 6);
const THRESHOLD = 1024;

async function expectHeld(h: Harness, expected: Record<NodeId, boolean>, data: Buffer, hlc: number): Promise<void> {
  for (const id of IDS) {
    const head = await h.stores[id].head('b', 'k');
    if (!expected[id]) {
      expect(head, `${id} holds nothing`).toBeUndefined();
      continue;
    }
    expect(head?.record.version.hlc, `${id} holds the version`).toBe(hlc);
    expect((await readAll(await h.stores[id].read('b', 'k', head!.record.version))).equals(data), `${id} holds the bytes`).toBe(true);
  }
}

describe('fan-out failures', () => {
  it.each(IDS)('one lane (%s) failing mid-stream: W is still reached and the two others hold the body', async (failing) => {
    const h = await replicaHarness();
    h.replicas[failing].stageFault = { kind: 'fail-after', bytes: 1536 * 1024 };
    const meta = await within(h.coordinator.putObject(putInput('k', chunked(BIG))), 5000, 'PUT');
    await stateOf(Promise.resolve());
    await expectHeld(h, { n1: failing !== 'n1', n2: failing !== 'n2', n3: failing !== 'n3' }, BIG, meta.version.hlc);
    expect(h.replicas[failing].log).toEqual(['stage:start', 'stage:failed']);
    expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
  });

  it('two lanes failing mid-stream: QuorumNotReached, nothing committed, nothing staged', async () => {
    const h = await replicaHarness();
    h.replicas.n2.stageFault = { kind: 'fail-after', bytes: 1024 * 1024 };
    h.replicas.n3.stageFault = { kind: 'fail-after', bytes: 2048 * 1024 };
    const err = await within(h.coordinator.putObject(putInput('k', chunked(BIG))), 5000, 'PUT').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'QuorumNotReached', details: { needed: 2, total: 3 } });
    await stateOf(Promise.resolve());
    expect(await holdings(h.stores, 'k')).toEqual({ n1: null, n2: null, n3: null });
    expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
    expect(IDS.map((id) => h.replicas[id].count('commit'))).toEqual([0, 0, 0]);
  });

  it('two lanes failing at the end of the body: the one that staged it discards it', async () => {
    const h = await replicaHarness();
    h.replicas.n1.stageFault = { kind: 'fail-at-end' };
    h.replicas.n3.stageFault = { kind: 'fail-at-end' };
    await expect(within(h.coordinator.putObject(putInput('k', chunked(BIG))), 5000, 'PUT')).rejects.toMatchObject({ code: 'QuorumNotReached' });
    expect(h.replicas.n2.log).toEqual(['stage:start', 'stage:ok', 'discard']);
    expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
    expect(await holdings(h.stores, 'k')).toEqual({ n1: null, n2: null, n3: null });
  });

  it('the body failing just past the inline threshold: every lane is aborted, nothing staged, the client error propagates', async () => {
    const h = await replicaHarness({ inlineThreshold: THRESHOLD });
    const clientError = new RingstoreError('BadDigest', 'injected: the body does not match its Content-MD5');
    const body = (async function* () {
      yield Buffer.alloc(THRESHOLD, 1);
      yield Buffer.alloc(1, 2);
      throw clientError;
    })();
    const err = await within(h.coordinator.putObject({ ...putInput('k', []), body }), 5000, 'PUT').catch((e: unknown) => e);
    expect(err).toBe(clientError);
    await stateOf(Promise.resolve());
    for (const id of IDS) expect(h.replicas[id].log).toEqual(['stage:start', 'stage:failed']);
    expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
    expect(await holdings(h.stores, 'k')).toEqual({ n1: null, n2: null, n3: null });
  });

  it('the body failing after 2 MiB of a 3 MiB body: same, nothing staged anywhere', async () => {
    const h = await replicaHarness();
    const clientError = new RingstoreError('IncompleteBody', 'injected: the client went away');
    const chunks = chunked(BIG);
    const body = (async function* () {
      for (const c of chunks.slice(0, 32)) yield c;
      throw clientError;
    })();
    await expect(within(h.coordinator.putObject({ ...putInput('k', []), body }), 5000, 'PUT')).rejects.toBe(clientError);
    expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
    expect(IDS.map((id) => h.replicas[id].count('commit'))).toEqual([0, 0, 0]);
  });

  it('the body failing after a replica already answered its stage: that stage is discarded too', async () => {
    const h = await replicaHarness();
    h.replicas.n2.stageFault = { kind: 'early' };
    const clientError = new RingstoreError('IncompleteBody', 'injected: the client went away');
    const chunks = chunked(BIG);
    const body = (async function* () {
      for (const c of chunks.slice(0, 40)) yield c;
      throw clientError;
    })();
    await expect(within(h.coordinator.putObject({ ...putInput('k', []), body }), 5000, 'PUT')).rejects.toBe(clientError);
    expect(h.replicas.n2.log).toEqual(['stage:start', 'stage:ok', 'discard']);
    expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
  });

  it('a body that fails its verification at the end (seal): every stage, early and late, is discarded', async () => {
    const h = await replicaHarness();
    const pause = deferred();
    h.replicas.n3.stageFault = { kind: 'pause', until: pause.promise };
    const digest = new RingstoreError('BadDigest', 'injected: Content-MD5 mismatch');
    const input = {
      ...putInput('k', MEDIUM),
      seal: () => {
        throw digest;
      },
    };
    await expect(within(h.coordinator.putObject(input), 2000, 'PUT')).rejects.toBe(digest);
    pause.resolve();
    await eventually(() => IDS.every((id) => h.replicas[id].count('discard') === 1));
    expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
    expect(IDS.map((id) => h.replicas[id].count('commit'))).toEqual([0, 0, 0]);
  });

  it('a body of exactly the inline threshold is committed inline (no stage); one byte more is staged on all three', async () => {
    const h = await replicaHarness({ inlineThreshold: THRESHOLD });
    await h.coordinator.putObject(putInput('k', [Buffer.alloc(THRESHOLD - 1, 1), Buffer.alloc(1, 1)]));
    expect(IDS.map((id) => h.replicas[id].count('stage'))).toEqual([0, 0, 0]);
    await h.coordinator.putObject(putInput('k2', [Buffer.alloc(THRESHOLD, 1), Buffer.alloc(1, 1)]));
    expect(IDS.map((id) => h.replicas[id].count('stage:start'))).toEqual([1, 1, 1]);
  });

  it('a paused lane: the PUT completes at W, and the late replica commits once it drains', async () => {
    const h = await replicaHarness();
    const pause = deferred();
    h.replicas.n3.stageFault = { kind: 'pause', until: pause.promise };
    const meta = await within(h.coordinator.putObject(putInput('k', MEDIUM)), 2000, 'PUT');
    await expectHeld(h, { n1: true, n2: true, n3: false }, MEDIUM, meta.version.hlc);
    pause.resolve();
    await eventually(async () => (await h.stores.n3.head('b', 'k')) !== undefined);
    await expectHeld(h, { n1: true, n2: true, n3: true }, MEDIUM, meta.version.hlc);
    expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
  });

  it('a paused lane whose late commit fails: its staged body is discarded', async () => {
    const h = await replicaHarness();
    const pause = deferred();
    h.replicas.n3.stageFault = { kind: 'pause', until: pause.promise };
    h.replicas.n3.commitFault = () => injected('n3 late commit');
    const meta = await within(h.coordinator.putObject(putInput('k', MEDIUM)), 2000, 'PUT');
    pause.resolve();
    await eventually(() => h.replicas.n3.count('discard') === 1);
    expect(h.replicas.n3.log).toEqual(['stage:start', 'stage:ok', 'commit:failed k', 'discard']);
    await expectHeld(h, { n1: true, n2: true, n3: false }, MEDIUM, meta.version.hlc);
    expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
  });

  it('a paused lane of a write that fails its quorum: the late stage is discarded, not committed', async () => {
    const h = await replicaHarness();
    const pause = deferred();
    h.replicas.n1.stageFault = { kind: 'pause', until: pause.promise };
    h.replicas.n2.commitFault = () => injected('n2 commit');
    h.replicas.n3.commitFault = () => injected('n3 commit');
    await expect(within(h.coordinator.putObject(putInput('k', MEDIUM)), 2000, 'PUT')).rejects.toMatchObject({ code: 'QuorumNotReached' });
    pause.resolve();
    await eventually(() => h.replicas.n1.count('discard') === 1);
    expect(h.replicas.n1.log).toEqual(['stage:start', 'stage:ok', 'discard']);
    expect(await holdings(h.stores, 'k')).toEqual({ n1: null, n2: null, n3: null });
    expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
  });

  it('a paused lane needed for W: the PUT waits for it, then commits on it', async () => {
    const h = await replicaHarness();
    const pause = deferred();
    h.replicas.n2.stageFault = { kind: 'fail-after', bytes: 100 };
    h.replicas.n3.stageFault = { kind: 'pause', until: pause.promise };
    const put = h.coordinator.putObject(putInput('k', MEDIUM));
    expect(await stateOf(put)).toBe('pending');
    expect(IDS.map((id) => h.replicas[id].count('commit'))).toEqual([0, 0, 0]);
    pause.resolve();
    const meta = await within(put, 2000, 'PUT');
    await expectHeld(h, { n1: true, n2: false, n3: true }, MEDIUM, meta.version.hlc);
  });

  it('a lane that does not drain a 3 MiB body and then times out: the PUT completes on the two others', async () => {
    const h = await replicaHarness();
    const pause = deferred();
    h.replicas.n2.stageFault = { kind: 'pause', until: pause.promise, reject: true };
    const put = h.coordinator.putObject(putInput('k', chunked(BIG)));
    // The slowest live lane sets the pace: nothing is acknowledged while it holds the stream.
    expect(await stateOf(put)).toBe('pending');
    pause.resolve();
    const meta = await within(put, 5000, 'PUT');
    await expectHeld(h, { n1: true, n2: false, n3: true }, BIG, meta.version.hlc);
    expect(stagedLeft(h.stores)).toEqual([0, 0, 0]);
  });

  it('an early-staged replica whose commit lands after the ack and fails: its staged body is discarded', async () => {
    const h = await replicaHarness();
    const gate = deferred();
    h.replicas.n3.commitGate = gate.promise;
    h.replicas.n3.commitFault = () => injected('n3 commit');
    const meta = await within(h.coordinator.putObject(putInput('k', MEDIUM)), 2000, 'PUT');
    expect(h.stores.n3.stats()).toEqual({ records: 0, staged: 1 });
    gate.resolve();
    await eventually(() => h.stores.n3.stats().staged === 0);
    await expectHeld(h, { n1: true, n2: true, n3: false }, MEDIUM, meta.version.hlc);
  });
});
