/**
 * The read quorum (N=3, R=2): when replicas disagree, the newest version wins whoever
 * coordinates and whichever replica is stale; its body and holders are those of that version.
 * A slow replica costs one speculative delay (then one more replica is asked), a failed one
 * none; too few answers is QuorumNotReached.
 */
import { describe, it, expect, afterEach, vi } from 'vitest';
import { IDS, deferred, plant, readAll, replicaHarness, stateOf, within, injected, type NodeId } from '../../helpers/replica-faults.js';

const OLD = 1000 * 1024;
const NEW = 2000 * 1024;
const NEWEST = 3000 * 1024;

/** Versions every replica holds of key `k`: `null` for nothing, a `{hlc, data}` otherwise (data null: a tombstone). */
type Holding = { hlc: number; data: Buffer | null } | null;

async function setup(self: NodeId, holdings: Record<NodeId, Holding>, asked: readonly NodeId[] | 'all') {
  const h = await replicaHarness({ self, readRepairChance: asked === 'all' ? 1 : 0 });
  for (const id of IDS) {
    const x = holdings[id];
    if (x) await plant(h.stores[id], 'k', x.hlc, x.data);
    // The read asks exactly the given replicas: the others are marked down for it.
    if (asked !== 'all' && !asked.includes(id)) h.membership.setLiveness(id, 'down');
  }
  return h;
}

const others = (a: NodeId, b: NodeId): NodeId[] => IDS.filter((id) => id !== a && id !== b);

describe('quorum read', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  // Every coordinator, every stale replica (older version, or nothing at all), read by exactly two replicas.
  const cases = IDS.flatMap((self) => IDS.flatMap((stale) => (['older', 'absent'] as const).map((how) => [self, stale, how] as const)));
  it.each(cases)('coordinated by %s with %s stale (%s) returns the newest version, its body and only its holders', async (self, stale, how) => {
    const fresh = { hlc: NEW, data: Buffer.from('new body') };
    const holdings = { n1: fresh, n2: fresh, n3: fresh } as Record<NodeId, Holding>;
    holdings[stale] = how === 'older' ? { hlc: OLD, data: Buffer.from('old body') } : null;
    const partner = stale === self ? others(self, self)[0]! : stale;
    const h = await setup(self, holdings, [self, partner]);
    const found = await within(h.coordinator.headObject('b', 'k'), 2000, 'read');
    expect(found.record.version).toEqual({ hlc: NEW, node: 'n9' });
    expect(found.record.etag).toBe(`etag-${NEW}`);
    expect((await readAll(await h.coordinator.openBody(found))).toString()).toBe('new body');
    const fresher = [self, partner].filter((id) => id !== stale);
    expect(found.holders.map((t) => t.id)).toEqual(fresher);
    // Only the two replicas were asked.
    expect(IDS.filter((id) => h.replicas[id].count('head') > 0)).toEqual(IDS.filter((id) => id === self || id === partner));
  });

  it.each(IDS)('with three different versions and all asked, the newest (on %s) wins', async (newestOn) => {
    const versions = [OLD, NEW];
    const holdings = {} as Record<NodeId, Holding>;
    for (const id of IDS) holdings[id] = id === newestOn ? { hlc: NEWEST, data: Buffer.from('newest') } : { hlc: versions.pop()!, data: Buffer.from('stale') };
    for (const self of IDS) {
      const h = await setup(self, holdings, 'all');
      const found = await h.coordinator.headObject('b', 'k');
      expect(found.record.version.hlc).toBe(NEWEST);
      expect(found.holders.map((t) => t.id)).toEqual([newestOn]);
      expect((await readAll(await h.coordinator.openBody(found))).toString()).toBe('newest');
    }
  });

  it.each(IDS)('a newer tombstone (on %s) hides an older live version: NoSuchKey', async (tombstoneOn) => {
    const holdings = { n1: { hlc: OLD, data: Buffer.from('live') }, n2: { hlc: OLD, data: Buffer.from('live') }, n3: { hlc: OLD, data: Buffer.from('live') } } as Record<NodeId, Holding>;
    holdings[tombstoneOn] = { hlc: NEW, data: null };
    const h = await setup('n1', holdings, 'all');
    await expect(h.coordinator.headObject('b', 'k')).rejects.toMatchObject({ code: 'NoSuchKey' });
    expect(await h.coordinator.findObject('b', 'k')).toBeUndefined();
  });

  it.each([
    ['inline', Buffer.from('small body')],
    ['blob', Buffer.alloc(5000, 4)],
  ] as const)('a quarantined %s copy answering first: the record and holders are those of a good copy', async (_kind, data) => {
    const h = await replicaHarness({ self: 'n3', readRepairChance: 0 });
    for (const id of IDS) await plant(h.stores[id], 'k', NEW, data);
    h.stores.n3.corruptForTest('b', 'k', 1);
    await readAll(await h.stores.n3.read('b', 'k', { hlc: NEW, node: 'n9' })).catch(() => undefined);
    const found = await h.coordinator.headObject('b', 'k');
    expect(found.record.storage).not.toBe('quarantined');
    expect(found.holders.map((t) => t.id)).not.toContain('n3');
    expect(found.holders).toHaveLength(1);
    expect((await readAll(await h.coordinator.openBody(found))).equals(data)).toBe(true);
  });

  it('an older tombstone does not hide a newer live version', async () => {
    const h = await setup('n1', { n1: { hlc: OLD, data: null }, n2: { hlc: NEW, data: Buffer.from('back') }, n3: null }, ['n1', 'n2']);
    expect((await h.coordinator.headObject('b', 'k')).record.version.hlc).toBe(NEW);
  });

  /** The order in which n1 asks the replicas of `k`: itself, then the ring's order. */
  const askOrder = (h: Awaited<ReturnType<typeof replicaHarness>>): [NodeId, NodeId, NodeId] => {
    const ring = h.membership.ring.preferenceList('b', 'k', 3).replicas.map((m) => m.id as NodeId);
    return ['n1', ...ring.filter((id) => id !== 'n1')] as [NodeId, NodeId, NodeId];
  };

  it('a slow replica: one more is asked after the 100 ms speculative delay, not before', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const h = await replicaHarness({ self: 'n1' });
    for (const id of IDS) await plant(h.stores[id], 'k', NEW, Buffer.from('v'));
    const [, second, third] = askOrder(h);
    const slow = deferred();
    h.replicas[second].headGate = slow.promise;
    const read = h.coordinator.headObject('b', 'k');
    expect(await stateOf(read)).toBe('pending');
    expect(h.replicas[second].count('head')).toBe(1);
    expect(h.replicas[third].count('head')).toBe(0);
    await vi.advanceTimersByTimeAsync(99);
    expect(h.replicas[third].count('head')).toBe(0);
    expect(await stateOf(read)).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(h.replicas[third].count('head')).toBe(1);
    const found = await read;
    expect(found.holders.map((t) => t.id)).toEqual(['n1', third]);
    slow.resolve();
  });

  it('two slow replicas: the third is asked after the delay and the read waits for a second answer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const h = await replicaHarness({ self: 'n1' });
    for (const id of IDS) await plant(h.stores[id], 'k', NEW, Buffer.from('v'));
    const [, second, third] = askOrder(h);
    const slow = { second: deferred(), third: deferred() };
    h.replicas[second].headGate = slow.second.promise;
    h.replicas[third].headGate = slow.third.promise;
    const read = h.coordinator.headObject('b', 'k');
    await vi.advanceTimersByTimeAsync(100);
    expect(h.replicas[third].count('head')).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(await stateOf(read)).toBe('pending');
    slow.third.resolve();
    expect((await read).holders.map((t) => t.id)).toEqual(['n1', third]);
    slow.second.resolve();
  });

  it('a failed replica: one more is asked at once, with no delay', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const h = await replicaHarness({ self: 'n1' });
    for (const id of IDS) await plant(h.stores[id], 'k', NEW, Buffer.from('v'));
    const [, second, third] = askOrder(h);
    h.replicas[second].headFault = injected('head');
    const found = await within(h.coordinator.headObject('b', 'k'), 2000, 'read');
    expect(found.holders.map((t) => t.id)).toEqual(['n1', third]);
  });

  it('two failed replicas of three: QuorumNotReached naming them', async () => {
    const h = await replicaHarness({ self: 'n1' });
    for (const id of IDS) await plant(h.stores[id], 'k', NEW, Buffer.from('v'));
    h.replicas.n2.headFault = injected('n2 head');
    h.replicas.n3.down = true;
    await expect(within(h.coordinator.headObject('b', 'k'), 2000, 'read')).rejects.toMatchObject({
      code: 'QuorumNotReached',
      details: { needed: 2, got: 1, errors: { n2: 'PeerUnavailable: injected: n2 head', n3: 'PeerUnavailable: injected: n3 is down' } },
    });
  });

  it('asks all three only on the read-repair fraction: the coin must come up below the chance', async () => {
    // The harness coin is 0.5: at a chance of 0.5 the read asks R=2, at 0.51 all three.
    for (const [chance, asked] of [
      [0.5, 2],
      [0.51, 3],
    ] as const) {
      const h = await replicaHarness({ self: 'n1', readRepairChance: chance });
      for (const id of IDS) await plant(h.stores[id], 'k', NEW, Buffer.from('v'));
      await h.coordinator.headObject('b', 'k');
      expect(IDS.filter((id) => h.replicas[id].count('head') > 0).length).toBe(asked);
    }
  });

  it('with R=2 and readRepairPercent 0 asks the local replica first and one other, and sends a small body along', async () => {
    const h = await replicaHarness({ self: 'n2' });
    for (const id of IDS) await plant(h.stores[id], 'k', NEW, Buffer.from('small'));
    const found = await h.coordinator.headObject('b', 'k');
    expect(found.inlineBody && Buffer.from(found.inlineBody).toString()).toBe('small');
    expect(found.holders[0]!.id).toBe('n2');
    expect(IDS.map((id) => h.replicas[id].count('head'))).toEqual(expect.arrayContaining([1, 1, 0]));
    expect(h.replicas.n2.count('head')).toBe(1);
    // No replica was asked for the body again: it came with the local answer.
    expect(IDS.map((id) => h.replicas[id].count('read'))).toEqual([0, 0, 0]);
  });
});
