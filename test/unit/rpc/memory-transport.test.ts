import { describe, expect, it } from 'vitest';
import { MemoryTransport, type ReplicaResolver } from '../../../src/rpc/transport.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { ObjectRecord, ReplicaApi } from '../../../src/store/types.js';
import { RingstoreError } from '../../../src/util/errors.js';
import { chunked, collect, metaFor, randomBody } from './harness.js';

async function cluster(...ids: string[]): Promise<{ transport: MemoryTransport; stores: Map<string, MemoryStore> }> {
  const transport = new MemoryTransport({ clock: { now: () => 1234 } });
  const stores = new Map<string, MemoryStore>();
  for (const id of ids) {
    const store = new MemoryStore();
    await store.open();
    stores.set(id, store);
    transport.register(id, store);
  }
  return { transport, stores };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RingstoreError) return err.code;
    throw err;
  }
  return 'none';
}

describe('MemoryTransport', () => {
  it('is a ReplicaResolver whose calls reach the registered store', async () => {
    const { transport, stores } = await cluster('n1', 'n2');
    const resolver: ReplicaResolver = transport;
    const r1 = resolver.replica('n1', 'ignored:1');
    const body = randomBody(100_000);
    const staged = await r1.stage(chunked(body));
    const meta = metaFor('k', body.length);
    await r1.commit(meta, { kind: 'staged', id: staged.id });
    expect((await collect(await r1.read('bucket-1', 'k', meta.version))).equals(body)).toBe(true);
    expect(stores.get('n1')?.stats().records).toBe(1);
    expect(stores.get('n2')?.stats().records).toBe(0);
    expect(await resolver.ping('n2', '')).toEqual({ nodeId: 'n2', time: 1234 });
  });

  it('fails every call to a down node with PeerUnavailable, and recovers', async () => {
    const { transport } = await cluster('n1');
    const r = transport.replica('n1');
    transport.setDown('n1', true);
    expect(transport.isDown('n1')).toBe(true);
    expect(await codeOf(r.head('bucket-1', 'k'))).toBe('PeerUnavailable');
    expect(await codeOf(r.list('bucket-1', { limit: 1 }))).toBe('PeerUnavailable');
    expect(await codeOf(r.stage(chunked(randomBody(10))))).toBe('PeerUnavailable');
    expect(await codeOf(transport.ping('n1'))).toBe('PeerUnavailable');
    transport.setDown('n1', false);
    expect(await r.head('bucket-1', 'k')).toBeUndefined();
    await transport.ping('n1');
  });

  it('fails calls to unknown or unregistered nodes with PeerUnavailable', async () => {
    const { transport } = await cluster('n1');
    expect(await codeOf(transport.replica('nobody').head('b', 'k'))).toBe('PeerUnavailable');
    transport.unregister('n1');
    expect(await codeOf(transport.replica('n1').head('b', 'k'))).toBe('PeerUnavailable');
    expect(() => transport.setDown('nobody', true)).toThrow(RingstoreError);
  });

  it('cuts a read in flight when the node goes down', async () => {
    const { transport } = await cluster('n1');
    const r = transport.replica('n1');
    const body = randomBody(100_000);
    const meta = metaFor('k', body.length);
    await r.commit(meta, { kind: 'staged', id: (await r.stage(chunked(body))).id });
    const stream = await r.read('bucket-1', 'k', meta.version);
    transport.setDown('n1', true);
    expect(await codeOf(collect(stream))).toBe('PeerUnavailable');
  });

  it('cuts a stage in flight when the node goes down', async () => {
    const { transport, stores } = await cluster('n1');
    const r = transport.replica('n1');
    async function* slow(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(10);
      transport.setDown('n1', true);
      yield new Uint8Array(10);
    }
    expect(await codeOf(r.stage(slow()))).toBe('PeerUnavailable');
    expect(stores.get('n1')?.stats().staged).toBe(0);
  });

  it('passes the caller abort reason through', async () => {
    const { transport } = await cluster('n1');
    const ac = new AbortController();
    const reason = new Error('stop');
    ac.abort(reason);
    await expect(transport.replica('n1').head('b', 'k', {}, ac.signal)).rejects.toBe(reason);
  });

  it('copies results like the wire would: no shared buffers, no private fields', async () => {
    const { transport, stores } = await cluster('n1');
    const r = transport.replica('n1');
    const data = new Uint8Array([1, 2, 3]);
    await r.commit(metaFor('k', 3), { kind: 'inline', data });
    data[0] = 99;
    const head = await r.head('bucket-1', 'k', { inlineUpTo: 10 });
    // A Buffer view, as HTTP gives it (the framed answer's bytes).
    expect(head?.inlineBody).toEqual(Buffer.from([1, 2, 3]));
    if (head?.inlineBody !== undefined) head.inlineBody[1] = 42;
    expect((await stores.get('n1')?.head('bucket-1', 'k', { inlineUpTo: 10 }))?.inlineBody).toEqual(new Uint8Array([1, 2, 3]));

    const store = stores.get('n1') as MemoryStore;
    const leaky: ReplicaApi = {
      stage: (b, sig) => store.stage(b, sig),
      commit: (m, b, sig) => store.commit(m, b, sig),
      discard: (id, sig) => store.discard(id, sig),
      head: (b, k, o, sig) => store.head(b, k, o, sig),
      read: (b, k, v, rg, sig) => store.read(b, k, v, rg, sig),
      list: async () => [{ ...(head?.record as ObjectRecord), blobPath: '/secret' } as ObjectRecord],
    };
    transport.register('leaky', leaky);
    const [rec] = await transport.replica('leaky').list('bucket-1', { limit: 1 });
    expect(rec).toBeDefined();
    expect(Object.keys(rec ?? {})).not.toContain('blobPath');
  });

  it('fails everything after close', async () => {
    const { transport } = await cluster('n1');
    await transport.close();
    expect(await codeOf(transport.replica('n1').head('b', 'k'))).toBe('PeerUnavailable');
  });
});
