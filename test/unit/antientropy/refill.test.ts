/**
 * A node whose store was empty at open refuses reads until anti-entropy compared it with every
 * peer: the rule (RefillGate) on its own, and through a coordinator, where a read meeting the
 * refilling node and a replica that missed the latest acknowledged write must not return the
 * older version.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { RefillGate, mustRefill } from '../../../src/antientropy/refill.js';
import { startNode, type RunningNode } from '../../../src/node.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { silentLogger } from '../../../src/util/logger.js';
import { isErrorCode } from '../../../src/util/errors.js';
import { SIM_EPOCH_MS, seededRandom, simNodeConfig, startSimCluster } from '../../helpers/sim.js';

const put = (node: RunningNode, key: string, etag: string): Promise<unknown> =>
  node.coordinator.putObject({ bucket: 'sim', key, contentType: 'text/plain', userMeta: {}, body: Readable.from([Buffer.from(etag)]), seal: () => ({ etag }) });

describe('mustRefill', () => {
  const empty = new BigUint64Array(65_536);
  const held = Object.assign(new BigUint64Array(65_536), { 7: 1n });
  it('refills an empty store in a cluster of several nodes with anti-entropy on, and nothing else', () => {
    expect(mustRefill(empty, 3, true)).toBe(true);
    expect(mustRefill(held, 3, true)).toBe(false);
    expect(mustRefill(empty, 1, true)).toBe(false);
    expect(mustRefill(empty, 3, false)).toBe(false);
  });
});

describe('RefillGate', () => {
  it('refuses head, read and list while refilling, passes writes, and serves after a pass that reached every peer up', async () => {
    const store = new MemoryStore({ inlineThreshold: 1024 });
    await store.open();
    const gate = new RefillGate(true, 0, 1000);
    const replica = gate.guard(store);
    const staged = await replica.stage(Readable.from([Buffer.from('x')]));
    expect(staged.size).toBe(1);
    await expect(replica.head('b', 'k')).rejects.toMatchObject({ code: 'Refilling' });
    await expect(replica.list('b', { limit: 10 })).rejects.toMatchObject({ code: 'Refilling' });
    await expect(replica.read('b', 'k', { hlc: 1, node: 'n1' })).rejects.toMatchObject({ code: 'Refilling' });
    const up = (): boolean => true;
    // A failed exchange with a peer believed up keeps it refilling, whichever pass reached the others.
    expect(gate.passEnded({ comparedPeers: ['n2'], unreachedPeers: ['n3'] }, 5, up)).toBe(true);
    expect(gate.passEnded({ comparedPeers: [], unreachedPeers: ['n2', 'n3'] }, 6, up)).toBe(true);
    expect(gate.snapshot()).toMatchObject({ state: 'refilling', passesTried: 2 });
    expect(gate.passEnded({ comparedPeers: ['n2', 'n3'], unreachedPeers: [] }, 9, up)).toBe(false);
    expect(gate.snapshot()).toMatchObject({ state: 'serving', refilledInMs: 9 });
    expect(gate.reason()).toBeUndefined();
    expect(await replica.head('b', 'k')).toBeUndefined();
  });
});

describe('RefillGate: a peer that never comes back', () => {
  const WAIT = 300_000;
  const downs =
    (...ids: string[]) =>
    (id: string): boolean =>
      !ids.includes(id);

  it('waits for a peer believed up without bound, however long', () => {
    const gate = new RefillGate(true, 0, WAIT);
    for (const t of [0, WAIT, 10 * WAIT]) expect(gate.passEnded({ comparedPeers: ['n2'], unreachedPeers: ['n3'] }, t, downs())).toBe(true);
    expect(gate.awaited).toEqual([{ peer: 'n3', reason: 'up' }]);
    expect(gate.reason()).toContain('n3 (up, not compared yet)');
  });

  it('gives up on an unreached peer once it has been down for refillPeerWaitMs, counted from when the gate first found it down', () => {
    const gate = new RefillGate(true, 0, WAIT);
    // n3 believed up at first (not counted), then down from t = 10 s.
    expect(gate.passEnded({ comparedPeers: ['n2'], unreachedPeers: ['n3'] }, 5_000, downs())).toBe(true);
    expect(gate.passEnded({ comparedPeers: ['n2'], unreachedPeers: ['n3'] }, 10_000, downs('n3'))).toBe(true);
    expect(gate.passEnded({ comparedPeers: [], unreachedPeers: ['n3'] }, 10_000 + WAIT - 1, downs('n3'))).toBe(true);
    expect(gate.awaited).toEqual([{ peer: 'n3', reason: 'down', downForMs: WAIT - 1, waitMs: WAIT }]);
    expect(gate.reason()).toMatch(/awaiting n3 \(down 300 s of 300 s\)/);
    expect(gate.snapshot()).toMatchObject({ state: 'refilling', comparedPeers: ['n2'], awaitedPeers: [{ peer: 'n3', reason: 'down' }] });
    expect(gate.passEnded({ comparedPeers: [], unreachedPeers: ['n3'] }, 10_000 + WAIT, downs('n3'))).toBe(false);
    expect(gate.snapshot()).toMatchObject({ state: 'serving', givenUpPeers: ['n3'], refilledInMs: 10_000 + WAIT });
  });

  it('restarts the wait when the peer is seen up again in between', () => {
    const gate = new RefillGate(true, 0, WAIT);
    expect(gate.passEnded({ comparedPeers: ['n2'], unreachedPeers: ['n3'] }, 0, downs('n3'))).toBe(true);
    expect(gate.passEnded({ comparedPeers: [], unreachedPeers: ['n3'] }, WAIT / 2, downs())).toBe(true);
    expect(gate.passEnded({ comparedPeers: [], unreachedPeers: ['n3'] }, WAIT, downs('n3'))).toBe(true);
    expect(gate.passEnded({ comparedPeers: [], unreachedPeers: ['n3'] }, 2 * WAIT, downs('n3'))).toBe(false);
  });

  it('counts a peer compared in an earlier pass, and never opens having compared nobody', () => {
    const gate = new RefillGate(true, 0, WAIT);
    expect(gate.passEnded({ comparedPeers: ['n2'], unreachedPeers: ['n3'] }, 0, downs())).toBe(true);
    // n2 is away in the next pass, but it was compared already: only n3 counted.
    expect(gate.passEnded({ comparedPeers: ['n3'], unreachedPeers: ['n2'] }, 1, downs('n2'))).toBe(false);
    const alone = new RefillGate(true, 0, WAIT);
    for (const t of [0, WAIT, 2 * WAIT]) expect(alone.passEnded({ comparedPeers: [], unreachedPeers: ['n2', 'n3'] }, t, downs('n2', 'n3'))).toBe(true);
    expect(alone.reason()).toContain('no peer compared yet');
  });
});

describe('a node restarted with an empty store', () => {
  const nodes: RunningNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it('never lets a read return an older version than an acknowledged write, and serves reads once it compared with every peer', async () => {
    const overrides = { antiEntropy: { intervalMs: 3_600_000 } };
    const { nodes: started, transport } = await startSimCluster({ seed: 5, overrides });
    nodes.push(...started);
    const [n1] = started;
    await put(n1, 'k', 'v1');
    // n2 misses v2: acknowledged by n1 and n3.
    transport.setDown('n2', true);
    await put(n1, 'k', 'v2');
    transport.setDown('n2', false);
    // n3 loses its disk and comes back while n1 cannot be reached: its first pass fails on n1.
    // (The old n3 keeps running unserved: stopping it would close the shared transport.)
    transport.setDown('n1', true);
    const fresh = new MemoryStore({ inlineThreshold: 1024 });
    // Its clock moves (anti-entropy's rate limiters wait on it); the others' stand still.
    const t0 = Date.now();
    transport.register('n3', fresh);
    const wiped = await startNode(simNodeConfig('n3', overrides), {
      store: fresh,
      transport,
      logger: silentLogger,
      metrics: null,
      random: seededRandom(99),
      clock: { now: () => SIM_EPOCH_MS + 2 + (Date.now() - t0) },
    });
    nodes.push(wiped);
    expect(wiped.refilling()).toBe(true);
    // R = 2 of {n3 refilling, n2 with v1, n1 down}: no quorum, and above all not v1.
    const early = await wiped.coordinator.headObject('sim', 'k').then(
      (found) => found.record.etag,
      (err: unknown) => (isErrorCode(err, 'QuorumNotReached') ? 'refused' : String(err)),
    );
    expect(early).toBe('refused');
    // n1 back: the next pass compares with both peers, refills v2, and reads are served.
    transport.setDown('n1', false);
    for (let i = 0; wiped.refilling() && i < 500; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(wiped.refilling()).toBe(false);
    expect(await fresh.head('sim', 'k')).toMatchObject({ record: { etag: 'v2' } });
    transport.setDown('n1', true);
    expect((await wiped.coordinator.headObject('sim', 'k')).record.etag).toBe('v2');
    transport.setDown('n1', false);
  });
});
