import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { pingEndpoint } from '../../../src/rpc/ping.js';
import { commitsEndpoint, headsEndpoint, stageEndpoint } from '../../../src/rpc/replica-endpoints.js';
import { bodyDigest, signRpc } from '../../../src/rpc/auth.js';
import { RpcClient } from '../../../src/rpc/client.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { RingstoreError } from '../../../src/util/errors.js';
import { silentLogger } from '../../../src/util/logger.js';
import { SECRET, chunked, collect, metaFor, randomBody, startHarness, type Harness } from './harness.js';

let store: MemoryStore;
let h: Harness;

beforeAll(async () => {
  store = new MemoryStore({ inlineThreshold: 16 * 1024 });
  await store.open();
  h = await startHarness(store);
});

afterAll(async () => {
  await h.close();
  await store.close();
});

async function rejectionOf(p: Promise<unknown>): Promise<RingstoreError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RingstoreError);
    return err as RingstoreError;
  }
  throw new Error('expected a rejection');
}

describe('rpc over http: authentication', () => {
  it('answers an unsigned call with 401 JSON and stores nothing', async () => {
    const before = store.stats();
    const res = await request(`http://${h.server.address}${stageEndpoint.path}`, {
      method: 'POST',
      body: randomBody(1024 * 1024),
    });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const body = (await res.body.json()) as { code: string; message: string };
    expect(body.code).toBe('RpcUnauthorized');
    expect(store.stats()).toEqual(before);
  });

  it('rejects a client with the wrong secret with RpcUnauthorized', async () => {
    const intruder = new RpcClient({ nodeId: 'intruder', secret: 'not-the-secret', timeoutMs: 2000, logger: silentLogger });
    try {
      const before = store.stats();
      const remote = intruder.replica('server', h.server.address);
      const err = await rejectionOf(remote.stage(chunked(randomBody(100_000))));
      expect(err.code).toBe('RpcUnauthorized');
      expect(err.details['peer']).toBe('server');
      expect((await rejectionOf(remote.head('bucket-1', 'x'))).code).toBe('RpcUnauthorized');
      expect((await rejectionOf(intruder.ping('server', h.server.address))).code).toBe('RpcUnauthorized');
      expect(store.stats()).toEqual(before);
    } finally {
      await intruder.close();
    }
  });

  it('rejects a signature made for another request target', async () => {
    const body = JSON.stringify({ queries: [{ bucket: 'b', key: 'k' }] });
    const auth = signRpc(SECRET, { method: 'GET', pathWithQuery: pingEndpoint.path, timestampMs: Date.now(), nodeId: 'x', bodyDigest: bodyDigest(body) });
    const res = await request(`http://${h.server.address}${headsEndpoint.path}`, {
      method: 'POST',
      headers: { 'x-ringstore-auth': auth, 'content-type': 'application/json' },
      body,
    });
    expect(res.statusCode).toBe(401);
    await res.body.dump();
  });

  it('answers unknown routes with a JSON 404 and a case-changed route is not a back door', async () => {
    for (const path of ['/rpc/v1/nope', '/RPC/v1/ping', '/rpc/v1/ping/']) {
      const res = await request(`http://${h.server.address}${path}`);
      expect(res.statusCode).toBe(404);
      expect(((await res.body.json()) as { code: string }).code).toBe('RpcProtocol');
    }
  });

  it('pings with the node id and its clock', async () => {
    const before = Date.now();
    const pong = await h.client.ping('server', h.server.address);
    expect(pong.nodeId).toBe('server');
    expect(pong.time).toBeGreaterThanOrEqual(before);
  });

  it('fails a ping that reaches another node than expected with PeerUnavailable', async () => {
    expect((await rejectionOf(h.client.ping('someone-else', h.server.address))).code).toBe('PeerUnavailable');
  });
});

describe('rpc over http: replica calls', () => {
  const big = randomBody(5 * 1024 * 1024 + 123);
  const bigKey = 'dir/ big+file?.bin#1%2F';

  it('stages 5 MiB, commits it, heads and reads it back byte-identical', async () => {
    const staged = await h.remote.stage(chunked(big));
    expect(staged.size).toBe(big.byteLength);
    const meta = metaFor(bigKey, big.byteLength);
    const result = await h.remote.commit(meta, { kind: 'staged', id: staged.id });
    expect(result).toEqual({ applied: true, current: meta.version });

    const head = await h.remote.head('bucket-1', bigKey, { inlineUpTo: 1024 });
    expect(head?.record).toMatchObject({ key: bigKey, size: big.byteLength, storage: 'blob', crc32: staged.crc32 });
    expect(head?.inlineBody).toBeUndefined();

    const body = await collect(await h.remote.read('bucket-1', bigKey, meta.version));
    expect(body.equals(big)).toBe(true);
  });

  it('reads a range', async () => {
    const version = metaFor(bigKey, 0).version;
    const part = await collect(await h.remote.read('bucket-1', bigKey, version, { start: 1000, end: 300_000 }));
    expect(part.equals(big.subarray(1000, 300_001))).toBe(true);
    const last = await collect(await h.remote.read('bucket-1', bigKey, version, { start: big.length - 1, end: big.length - 1 }));
    expect(last.equals(big.subarray(big.length - 1))).toBe(true);
  });

  it('commits an inline body and returns it with head', async () => {
    const data = new Uint8Array([1, 2, 3, 250, 0, 7]);
    const meta = metaFor('small', data.byteLength, undefined, { userMeta: { a: 'ü' }, checksums: { sha256: 'x==' } });
    expect((await h.remote.commit(meta, { kind: 'inline', data })).applied).toBe(true);
    const head = await h.remote.head('bucket-1', 'small', { inlineUpTo: 100 });
    expect(head?.record).toMatchObject({ size: 6, storage: 'inline', userMeta: { a: 'ü' }, checksums: { sha256: 'x==' } });
    expect(Buffer.from(head?.inlineBody ?? [])).toEqual(Buffer.from(data));
    const withoutBody = await h.remote.head('bucket-1', 'small');
    expect(withoutBody?.inlineBody).toBeUndefined();
    // An older version is not applied; the answer names the current one.
    const older = await h.remote.commit(metaFor('small', 1, meta.version.hlc - 1), { kind: 'inline', data: new Uint8Array([9]) });
    expect(older).toEqual({ applied: false, current: meta.version });
  });

  it('handles empty bodies and tombstones', async () => {
    const staged = await h.remote.stage(chunked(new Uint8Array(0)));
    expect(staged.size).toBe(0);
    const meta = metaFor('empty', 0);
    await h.remote.commit(meta, { kind: 'staged', id: staged.id });
    expect((await collect(await h.remote.read('bucket-1', 'empty', meta.version))).length).toBe(0);
    const empty = await h.remote.head('bucket-1', 'empty', { inlineUpTo: 10 });
    expect(empty?.inlineBody?.byteLength).toBe(0);

    const tomb = metaFor('empty', 0, meta.version.hlc + 1, { tombstone: true });
    expect((await h.remote.commit(tomb, { kind: 'inline', data: new Uint8Array(0) })).applied).toBe(true);
    expect((await h.remote.head('bucket-1', 'empty'))?.record.tombstone).toBe(true);
  });

  it('returns undefined for head of a missing key', async () => {
    expect(await h.remote.head('bucket-1', 'missing')).toBeUndefined();
  });

  it('maps a remote NoSuchKey to the same RingstoreError code', async () => {
    const err = await rejectionOf(h.remote.read('bucket-1', 'missing', { hlc: 1, node: 'x' }));
    expect(err.code).toBe('NoSuchKey');
    expect(err.details['peer']).toBe('server');
    const stale = await rejectionOf(h.remote.read('bucket-1', bigKey, { hlc: 1, node: 'x' }));
    expect(stale.code).toBe('NoSuchKey');
  });

  it('maps remote validation errors (InvalidArgument) through', async () => {
    const err = await rejectionOf(h.remote.commit(metaFor('k', 5), { kind: 'staged', id: 'no-such-id' }));
    expect(err.code).toBe('InvalidArgument');
  });

  it('discards a staged body', async () => {
    const staged = await h.remote.stage(chunked(randomBody(10)));
    const before = store.stats().staged;
    await h.remote.discard(staged.id);
    expect(store.stats().staged).toBe(before - 1);
    await h.remote.discard('unknown-id');
  });

  it('lists in key order with prefix, startAfter and limit', async () => {
    for (const key of ['list/b', 'list/a', 'list/c', 'other']) {
      await h.remote.commit(metaFor(key, 1), { kind: 'inline', data: new Uint8Array([1]) });
    }
    const all = await h.remote.list('bucket-1', { prefix: 'list/', limit: 10 });
    expect(all.map((r) => r.key)).toEqual(['list/a', 'list/b', 'list/c']);
    const page = await h.remote.list('bucket-1', { prefix: 'list/', startAfter: 'list/a', limit: 1 });
    expect(page.map((r) => r.key)).toEqual(['list/b']);
    expect(await h.remote.list('no-bucket', { limit: 5 })).toEqual([]);
  });

  it('runs many calls concurrently over the pool', async () => {
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => h.remote.head('bucket-1', i % 2 ? 'small' : 'x')));
    expect(results.filter((r) => r !== undefined)).toHaveLength(32);
  });

  it('stores nothing when the caller aborts an upload mid-way', async () => {
    const before = store.stats().staged;
    const ac = new AbortController();
    async function* body(): AsyncGenerator<Uint8Array> {
      yield randomBody(256 * 1024);
      yield randomBody(256 * 1024);
      ac.abort(new Error('client hung up'));
      await new Promise((r) => setTimeout(r, 50));
      yield randomBody(256 * 1024);
    }
    await expect(h.remote.stage(body(), ac.signal)).rejects.toThrow('client hung up');
    await new Promise((r) => setTimeout(r, 100));
    expect(store.stats().staged).toBe(before);
  });

  it('stores nothing when the upload source fails mid-way (a truncated body never looks complete)', async () => {
    const before = store.stats().staged;
    async function* body(): AsyncGenerator<Uint8Array> {
      yield randomBody(256 * 1024);
      throw new Error('s3 client went away');
    }
    // The call fails with the source's own error, not with one blaming the peer.
    await expect(h.remote.stage(body())).rejects.toThrow('s3 client went away');
    await new Promise((r) => setTimeout(r, 100));
    expect(store.stats().staged).toBe(before);
    // The pool recovers.
    expect(await h.remote.head('bucket-1', 'missing')).toBeUndefined();
  });

  it('checks that the inline bodies of a commits call have exactly the announced sizes', async () => {
    const send = async (announced: number, actual: number): Promise<{ status: number; code: string }> => {
      const json = Buffer.from(JSON.stringify({ commits: [{ meta: metaFor('exact', announced), body: { kind: 'inline', size: announced } }] }));
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(json.length);
      const body = Buffer.concat([prefix, json, Buffer.alloc(actual)]);
      const auth = signRpc(SECRET, { method: 'POST', pathWithQuery: commitsEndpoint.path, timestampMs: Date.now(), nodeId: 'x', bodyDigest: bodyDigest(body) });
      const res = await request(`http://${h.server.address}${commitsEndpoint.path}`, {
        method: 'POST',
        headers: { 'x-ringstore-auth': auth },
        body,
      });
      return { status: res.statusCode, code: ((await res.body.json()) as { code: string }).code };
    };
    expect(await send(3, 10)).toEqual({ status: 400, code: 'RpcProtocol' });
    expect(await send(10, 3)).toEqual({ status: 400, code: 'IncompleteBody' });
    expect(await h.remote.head('bucket-1', 'exact')).toBeUndefined();
  });

  it('rejects a commits call without a body as RpcProtocol', async () => {
    const auth = signRpc(SECRET, { method: 'POST', pathWithQuery: commitsEndpoint.path, timestampMs: Date.now(), nodeId: 'x', bodyDigest: bodyDigest(undefined) });
    const res = await request(`http://${h.server.address}${commitsEndpoint.path}`, { method: 'POST', headers: { 'x-ringstore-auth': auth } });
    expect(res.statusCode).toBe(400);
    expect(((await res.body.json()) as { code: string }).code).toBe('RpcProtocol');
  });

  it('commits in one turn share a call, and each gets its own answer', async () => {
    const events: string[] = [];
    const ownStore = new MemoryStore({ inlineThreshold: 16 * 1024 });
    await ownStore.open();
    const own = await startHarness(ownStore, 2000, (e) => events.push(e.op));
    const keys = Array.from({ length: 20 }, (_, i) => `batch/${i}`);
    const results = await Promise.allSettled([
      ...keys.map((key, i) => own.remote.commit(metaFor(key, 2), { kind: 'inline', data: new Uint8Array([i, i]) })),
      own.remote.commit(metaFor('batch/bad', 5), { kind: 'staged', id: 'no-such-id' }),
    ]);
    expect(results.slice(0, 20).map((r) => (r.status === 'fulfilled' ? r.value.applied : String(r.reason)))).toEqual(keys.map(() => true));
    expect(results[20]).toMatchObject({ status: 'rejected', reason: { code: 'InvalidArgument' } });
    expect(events.filter((op) => op === 'commit')).toHaveLength(1);
    for (const [i, key] of keys.entries()) {
      const found = await own.remote.head('bucket-1', key, { inlineUpTo: 10 });
      expect([...(found?.inlineBody ?? [])]).toEqual([i, i]);
    }
    await own.close();
  });

  it('fails with the caller abort reason', async () => {
    const ac = new AbortController();
    const reason = new Error('caller gave up');
    ac.abort(reason);
    await expect(h.remote.head('bucket-1', 'small', {}, ac.signal)).rejects.toBe(reason);
  });
});
