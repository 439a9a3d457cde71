import { describe, expect, it } from 'vitest';
import { CallBatcher } from '../../../src/rpc/call-batcher.js';
import type { HeadAnswer, HeadQuery } from '../../../src/rpc/replica-endpoints.js';
import type { HeadResult, ObjectRecord } from '../../../src/store/types.js';
import { RingstoreError } from '../../../src/util/errors.js';

function recordOf(key: string): ObjectRecord {
  return { bucket: 'b', key, version: { hlc: 1, node: 'n1' }, tombstone: false, size: 0, etag: 'e', contentType: 'x/y', userMeta: {}, crc32: 0, storage: 'inline' };
}

/** A peer whose calls stay open until the test answers them, and an event loop the test turns. */
function manualPeer(options: { maxInFlight: number; maxBatch: number; maxWeight?: number; weight?: (q: HeadQuery) => number }) {
  const calls: Array<{ queries: readonly HeadQuery[]; answer: (a: readonly HeadAnswer[]) => void; fail: (err: unknown) => void }> = [];
  const send = (queries: readonly HeadQuery[]) =>
    new Promise<readonly HeadAnswer[]>((answer, fail) => {
      calls.push({ queries, answer, fail });
    });
  const endOfTurn: Array<() => void> = [];
  const batcher = new CallBatcher<HeadQuery, HeadResult | undefined>(send, { ...options, schedule: (fn) => endOfTurn.push(fn) });
  return {
    batcher,
    calls,
    keys: (i: number) => calls[i]!.queries.map((q) => q.key),
    found: (i: number) => calls[i]!.answer(calls[i]!.queries.map((q) => ({ record: recordOf(q.key) }))),
    /** Ends the current turn: runs what was scheduled for it (after pending promise callbacks). */
    async turn() {
      await new Promise((r) => setImmediate(r));
      for (const fn of endOfTurn.splice(0)) fn();
    },
  };
}

const head = (peer: ReturnType<typeof manualPeer>, key: string, signal?: AbortSignal) => peer.batcher.call({ bucket: 'b', key }, signal);

describe('CallBatcher', () => {
  it('cuts batches by weight, and sends a query heavier than the limit alone', async () => {
    const peer = manualPeer({ maxInFlight: 4, maxBatch: 10, maxWeight: 10, weight: (q) => Number(q.key.slice(1)) });
    const all = ['w4', 'w5', 'w2', 'w30', 'w1'].map((k) => head(peer, k));
    await peer.turn();
    expect(peer.calls.map((_, i) => peer.keys(i))).toEqual([['w4', 'w5'], ['w2'], ['w30'], ['w1']]);
    for (let i = 0; i < 4; i++) peer.found(i);
    expect((await Promise.all(all)).map((r) => r?.record.key)).toEqual(['w4', 'w5', 'w2', 'w30', 'w1']);
  });

  it('sends the queries of one turn together, and queues later ones while the calls are busy', async () => {
    const peer = manualPeer({ maxInFlight: 2, maxBatch: 3 });
    const first = ['a', 'b', 'c', 'd'].map((k) => head(peer, k));
    expect(peer.calls).toHaveLength(0);
    await peer.turn();
    // One turn's queries fill calls of at most maxBatch, up to maxInFlight calls.
    expect(peer.calls.map((_, i) => peer.keys(i))).toEqual([['a', 'b', 'c'], ['d']]);
    const later = ['e', 'f', 'g', 'h'].map((k) => head(peer, k));
    await peer.turn();
    expect(peer.calls).toHaveLength(2);
    expect(peer.batcher.queued).toBe(4);
    peer.found(0);
    await peer.turn();
    // A returning call takes the next queries at once.
    expect(peer.keys(2)).toEqual(['e', 'f', 'g']);
    peer.found(1);
    await peer.turn();
    expect(peer.keys(3)).toEqual(['h']);
    peer.found(2);
    peer.found(3);
    expect((await Promise.all([...first, ...later])).map((r) => r?.record.key)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    expect(peer.batcher.queued).toBe(0);
  });

  it("gives each query its own answer: found, absent or that key's error", async () => {
    const peer = manualPeer({ maxInFlight: 1, maxBatch: 10 });
    const results = ['x', 'y', 'z'].map((k) => head(peer, k));
    await peer.turn();
    peer.calls[0]!.answer([{ record: recordOf('x') }, undefined, new RingstoreError('StoreClosed', 'closing')]);
    const settled = await Promise.allSettled(results);
    expect(settled[0]).toMatchObject({ status: 'fulfilled', value: { record: { key: 'x' } } });
    expect(settled[1]).toEqual({ status: 'fulfilled', value: undefined });
    expect(settled[2]).toMatchObject({ status: 'rejected', reason: { code: 'StoreClosed' } });
  });

  it('fails every query of a failed call and keeps serving later ones', async () => {
    const peer = manualPeer({ maxInFlight: 1, maxBatch: 10 });
    const a = head(peer, 'a');
    await peer.turn();
    const queued = [head(peer, 'b'), head(peer, 'c')];
    peer.calls[0]!.fail(new RingstoreError('PeerUnavailable', 'connection refused'));
    await expect(a).rejects.toMatchObject({ code: 'PeerUnavailable' });
    await peer.turn();
    expect(peer.keys(1)).toEqual(['b', 'c']);
    peer.calls[1]!.fail(new RingstoreError('RpcTimeout', 'no answer'));
    for (const q of queued) await expect(q).rejects.toMatchObject({ code: 'RpcTimeout' });
    const later = head(peer, 'd');
    await peer.turn();
    peer.found(2);
    expect((await later)?.record.key).toBe('d');
  });

  it('rejects an aborted query at once, without sending it if it was still queued', async () => {
    const peer = manualPeer({ maxInFlight: 1, maxBatch: 10 });
    const inFlight = new AbortController();
    const queued = new AbortController();
    const a = head(peer, 'a', inFlight.signal);
    await peer.turn();
    const b = head(peer, 'b', queued.signal);
    const c = head(peer, 'c');
    inFlight.abort(new Error('caller gave up'));
    queued.abort(new Error('caller gave up too'));
    await expect(a).rejects.toThrow('caller gave up');
    await expect(b).rejects.toThrow('caller gave up too');
    await expect(head(peer, 'z', AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
    peer.found(0);
    await peer.turn();
    expect(peer.keys(1)).toEqual(['c']);
    peer.found(1);
    expect((await c)?.record.key).toBe('c');
  });
});
