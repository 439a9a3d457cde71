import { describe, expect, it } from 'vitest';
import { HeadBatcher } from '../../../src/rpc/head-batcher.js';
import type { HeadAnswer, HeadQuery } from '../../../src/rpc/wire.js';
import type { ObjectRecord } from '../../../src/store/types.js';
import { RingstoreError } from '../../../src/util/errors.js';

function recordOf(key: string): ObjectRecord {
  return { bucket: 'b', key, version: { hlc: 1, node: 'n1' }, tombstone: false, size: 0, etag: 'e', contentType: 'x/y', userMeta: {}, crc32: 0, storage: 'inline' };
}

/** A peer whose calls stay open until the test answers them. */
function manualPeer() {
  const calls: Array<{ queries: readonly HeadQuery[]; answer: (a: readonly HeadAnswer[]) => void; fail: (err: unknown) => void }> = [];
  const send = (queries: readonly HeadQuery[]) =>
    new Promise<readonly HeadAnswer[]>((answer, fail) => {
      calls.push({ queries, answer, fail });
    });
  const keys = (i: number) => calls[i]!.queries.map((q) => q.key);
  const found = (i: number) => calls[i]!.answer(calls[i]!.queries.map((q) => ({ record: recordOf(q.key) })));
  return { calls, send, keys, found };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('HeadBatcher', () => {
  it('sends at once while calls are free, and queues the rest into one call when one returns', async () => {
    const peer = manualPeer();
    const batcher = new HeadBatcher(peer.send, { maxInFlight: 2, maxBatch: 3 });
    const results = ['a', 'b', 'c', 'd', 'e', 'f'].map((key) => batcher.head({ bucket: 'b', key }));
    expect(peer.calls.map((_, i) => peer.keys(i))).toEqual([['a'], ['b']]);
    expect(batcher.queued).toBe(4);
    peer.found(0);
    await tick();
    // A batch holds at most maxBatch queries; the last one waits for the next free call.
    expect(peer.keys(2)).toEqual(['c', 'd', 'e']);
    peer.found(1);
    await tick();
    expect(peer.keys(3)).toEqual(['f']);
    peer.found(2);
    peer.found(3);
    expect((await Promise.all(results)).map((r) => r?.record.key)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(batcher.queued).toBe(0);
  });

  it('gives each query its own answer: found, absent or that key\'s error', async () => {
    const peer = manualPeer();
    const batcher = new HeadBatcher(peer.send, { maxInFlight: 1, maxBatch: 10 });
    const first = batcher.head({ bucket: 'b', key: 'first' });
    const rest = ['x', 'y', 'z'].map((key) => batcher.head({ bucket: 'b', key }));
    peer.found(0);
    await first;
    await tick();
    peer.calls[1]!.answer([{ record: recordOf('x') }, undefined, new RingstoreError('StoreClosed', 'closing')]);
    const settled = await Promise.allSettled(rest);
    expect(settled[0]).toMatchObject({ status: 'fulfilled', value: { record: { key: 'x' } } });
    expect(settled[1]).toEqual({ status: 'fulfilled', value: undefined });
    expect(settled[2]).toMatchObject({ status: 'rejected', reason: { code: 'StoreClosed' } });
  });

  it('fails every query of a failed call and keeps serving later ones', async () => {
    const peer = manualPeer();
    const batcher = new HeadBatcher(peer.send, { maxInFlight: 1, maxBatch: 10 });
    const a = batcher.head({ bucket: 'b', key: 'a' });
    const queued = [batcher.head({ bucket: 'b', key: 'b' }), batcher.head({ bucket: 'b', key: 'c' })];
    peer.calls[0]!.fail(new RingstoreError('PeerUnavailable', 'connection refused'));
    await expect(a).rejects.toMatchObject({ code: 'PeerUnavailable' });
    await tick();
    peer.calls[1]!.fail(new RingstoreError('RpcTimeout', 'no answer'));
    for (const q of queued) await expect(q).rejects.toMatchObject({ code: 'RpcTimeout' });
    const later = batcher.head({ bucket: 'b', key: 'd' });
    peer.found(2);
    expect((await later)?.record.key).toBe('d');
  });

  it('rejects an aborted query at once, without sending it if it was still queued', async () => {
    const peer = manualPeer();
    const batcher = new HeadBatcher(peer.send, { maxInFlight: 1, maxBatch: 10 });
    const inFlight = new AbortController();
    const queued = new AbortController();
    const a = batcher.head({ bucket: 'b', key: 'a' }, inFlight.signal);
    const b = batcher.head({ bucket: 'b', key: 'b' }, queued.signal);
    const c = batcher.head({ bucket: 'b', key: 'c' });
    inFlight.abort(new Error('caller gave up'));
    queued.abort(new Error('caller gave up too'));
    await expect(a).rejects.toThrow('caller gave up');
    await expect(b).rejects.toThrow('caller gave up too');
    await expect(batcher.head({ bucket: 'b', key: 'z' }, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
    peer.found(0);
    await tick();
    expect(peer.keys(1)).toEqual(['c']);
    peer.found(1);
    expect((await c)?.record.key).toBe('c');
  });
});
