import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcClient } from '../../../src/rpc/client.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { ByteRange, ReplicaApi } from '../../../src/store/types.js';
import type { Version } from '../../../src/util/clock.js';
import { RingstoreError } from '../../../src/util/errors.js';
import { silentLogger } from '../../../src/util/logger.js';
import { SECRET, chunked, collect, metaFor, randomBody, startHarness, type Harness } from './harness.js';

const TIMEOUT = 400;
const SLACK = 1000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function newClient(timeoutMs = TIMEOUT): RpcClient {
  const client = new RpcClient({ nodeId: 'client', secret: SECRET, timeoutMs, logger: silentLogger });
  cleanups.push(() => client.close());
  return client;
}

async function listen(server: NetServer | HttpServer): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A TCP server that accepts connections and never says anything (a frozen peer). */
async function silentServer(): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.pause();
  });
  const address = await listen(server);
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return address;
}

/** A raw HTTP server answering every request with `handler`. */
async function rawHttpServer(handler: Parameters<typeof createHttpServer>[1]): Promise<string> {
  const server = createHttpServer(handler);
  const address = await listen(server);
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return address;
}

async function failure(p: Promise<unknown>): Promise<{ err: RingstoreError; ms: number }> {
  const started = Date.now();
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RingstoreError);
    return { err: err as RingstoreError, ms: Date.now() - started };
  }
  throw new Error('expected a rejection');
}

/** A MemoryStore whose reads can be replaced, to inject stream faults behind a real RPC server. */
async function faultyHarness(
  read: (bucket: string, key: string, version: Version, range?: ByteRange) => Promise<Readable>,
  options: { hideHead?: boolean; stage?: ReplicaApi['stage'] } = {},
): Promise<Harness> {
  const store = new MemoryStore();
  await store.open();
  const replica: ReplicaApi = {
    stage: options.stage ?? ((b, s) => store.stage(b, s)),
    commit: (m, b, s) => store.commit(m, b, s),
    discard: (id, s) => store.discard(id, s),
    head: async (b, k, o, s) => (options.hideHead === true ? undefined : store.head(b, k, o, s)),
    list: (b, o, s) => store.list(b, o, s),
    read: (b, k, v, r) => read(b, k, v, r),
  };
  const h = await startHarness(replica, TIMEOUT);
  cleanups.push(() => h.close());
  return h;
}

describe('rpc client against dead and frozen peers', () => {
  it('fails with RpcTimeout within the timeout when the peer accepts and never answers', async () => {
    const address = await silentServer();
    const remote = newClient().replica('frozen', address);
    const { err, ms } = await failure(remote.head('b', 'k'));
    expect(err.code).toBe('RpcTimeout');
    expect(err.details['peer']).toBe('frozen');
    expect(err.message).toContain('frozen');
    expect(ms).toBeLessThan(TIMEOUT + SLACK);
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT - 50);
  });

  it('times out a large upload to a peer that stops reading', async () => {
    const address = await silentServer();
    const remote = newClient().replica('frozen', address);
    const { err, ms } = await failure(remote.stage(chunked(randomBody(32 * 1024 * 1024))));
    expect(err.code).toBe('RpcTimeout');
    expect(ms).toBeLessThan(3 * TIMEOUT + SLACK);
  });

  it('times out read, list, commit and ping to a frozen peer', async () => {
    const address = await silentServer();
    const client = newClient();
    const remote = client.replica('frozen', address);
    const results = await Promise.all([
      failure(remote.read('b', 'k', { hlc: 1, node: 'n' })),
      failure(remote.list('b', { limit: 1 })),
      failure(remote.commit(metaFor('k', 1), { kind: 'inline', data: new Uint8Array([1]) })),
      failure(client.ping('frozen', address)),
    ]);
    for (const { err, ms } of results) {
      expect(err.code).toBe('RpcTimeout');
      expect(ms).toBeLessThan(TIMEOUT + SLACK);
    }
  });

  it('fails with PeerUnavailable on a closed port', async () => {
    const server = createNetServer();
    const address = await listen(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const client = newClient();
    const { err, ms } = await failure(client.replica('gone', address).head('b', 'k'));
    expect(err.code).toBe('PeerUnavailable');
    expect(err.details['peer']).toBe('gone');
    expect(ms).toBeLessThan(TIMEOUT + SLACK);
    expect((await failure(client.ping('gone', address))).err.code).toBe('PeerUnavailable');
  });

  it('fails with PeerUnavailable after the client is closed', async () => {
    const client = newClient();
    await client.close();
    expect(() => client.replica('x', '127.0.0.1:1')).toThrow(RingstoreError);
  });

  it('times out a read body that stalls mid-way', async () => {
    const address = await rawHttpServer((_req, res) => {
      res.writeHead(200, { 'x-ringstore-length': '1000' });
      res.write(Buffer.alloc(100));
      // then nothing, forever
    });
    const stream = await newClient().replica('stall', address).read('b', 'k', { hlc: 1, node: 'n' });
    const { err } = await failure(collect(stream));
    expect(err.code).toBe('RpcTimeout');
  });

  it('gives a caller abort precedence, even mid-body', async () => {
    const address = await rawHttpServer((_req, res) => {
      res.writeHead(200, { 'x-ringstore-length': '1000' });
      res.write(Buffer.alloc(100));
    });
    const ac = new AbortController();
    const stream = await newClient(5000).replica('stall', address).read('b', 'k', { hlc: 1, node: 'n' }, undefined, ac.signal);
    const reason = new Error('client went away');
    setTimeout(() => ac.abort(reason), 50);
    await expect(collect(stream)).rejects.toBe(reason);
  });
});

describe('rpc read bodies that end badly', () => {
  it('errors the stream when the peer cuts the connection mid-body', async () => {
    const address = await rawHttpServer((_req, res) => {
      res.writeHead(200, { 'x-ringstore-length': '100000' });
      res.write(Buffer.alloc(30_000), () => res.destroy());
    });
    const stream = await newClient().replica('cutter', address).read('b', 'k', { hlc: 1, node: 'n' });
    const { err } = await failure(collect(stream));
    expect(err.code).toBe('IncompleteBody');
    expect(err.details['peer']).toBe('cutter');
  });

  it('errors the stream when a peer ends cleanly with fewer bytes than announced', async () => {
    const address = await rawHttpServer((_req, res) => {
      res.writeHead(200, { 'x-ringstore-length': '100', 'content-length': '50' });
      res.end(Buffer.alloc(50));
    });
    const stream = await newClient().replica('liar', address).read('b', 'k', { hlc: 1, node: 'n' });
    expect((await failure(collect(stream))).err.code).toBe('IncompleteBody');
  });

  it('errors the stream when a range read returns fewer bytes than the range', async () => {
    const address = await rawHttpServer((_req, res) => {
      res.writeHead(200);
      res.end(Buffer.alloc(5));
    });
    const stream = await newClient().replica('liar', address).read('b', 'k', { hlc: 1, node: 'n' }, { start: 0, end: 9 });
    expect((await failure(collect(stream))).err.code).toBe('IncompleteBody');
  });

  it('errors the stream when a peer sends more bytes than announced', async () => {
    const address = await rawHttpServer((_req, res) => {
      res.writeHead(200, { 'x-ringstore-length': '10' });
      res.end(Buffer.alloc(20));
    });
    const stream = await newClient().replica('liar', address).read('b', 'k', { hlc: 1, node: 'n' });
    expect((await failure(collect(stream))).err.code).toBe('RpcProtocol');
  });

  it('turns a non-rpc error answer into RpcProtocol', async () => {
    const address = await rawHttpServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('Bad Gateway');
    });
    const { err } = await failure(newClient().replica('proxy', address).head('b', 'k'));
    expect(err.code).toBe('RpcProtocol');
    expect(err.details['status']).toBe(502);
  });

  it('aborts the response when the replica stream fails mid-way behind the real server', async () => {
    const h = await faultyHarness(async () => {
      let sent = 0;
      return new Readable({
        read() {
          if (sent < 3) {
            sent++;
            this.push(Buffer.alloc(64 * 1024, 7));
          } else {
            this.destroy(new RingstoreError('CorruptBody', 'disk says no'));
          }
        },
      });
    });
    const meta = metaFor('k', 1024 * 1024);
    const staged = await h.remote.stage(chunked(randomBody(meta.size)));
    await h.remote.commit(meta, { kind: 'staged', id: staged.id });
    const stream = await h.remote.read('bucket-1', 'k', meta.version);
    expect((await failure(collect(stream))).err.code).toBe('IncompleteBody');
    // The connection pool is still usable afterwards.
    expect((await h.remote.head('bucket-1', 'k'))?.record.size).toBe(meta.size);
  });

  it('aborts the response when the replica stream fails after its last byte (checksum at the end)', async () => {
    const size = 200_000;
    const h = await faultyHarness(async () => {
      let sent = false;
      return new Readable({
        read() {
          if (!sent) {
            sent = true;
            this.push(Buffer.alloc(size, 1));
          } else {
            this.destroy(new RingstoreError('CorruptBody', 'checksum mismatch'));
          }
        },
      });
    });
    const meta = metaFor('k', size);
    const staged = await h.remote.stage(chunked(randomBody(size)));
    await h.remote.commit(meta, { kind: 'staged', id: staged.id });
    const stream = await h.remote.read('bucket-1', 'k', meta.version);
    expect((await failure(collect(stream))).err.code).toBe('IncompleteBody');
  });

  it('aborts the response after the last byte even when the client cannot know the length', async () => {
    // head() answers nothing, so the server announces no length: only the framing can tell.
    const h = await faultyHarness(
      async () => {
        let sent = false;
        return new Readable({
          read() {
            if (sent) return;
            sent = true;
            this.push(Buffer.alloc(1000, 1));
            setTimeout(() => this.destroy(new RingstoreError('CorruptBody', 'checksum mismatch')), 50);
          },
        });
      },
      { hideHead: true },
    );
    const stream = await h.remote.read('bucket-1', 'k', { hlc: 1, node: 'n' });
    let received = 0;
    stream.on('data', (c: Buffer) => (received += c.length));
    expect((await failure(collect(stream))).err.code).toBe('IncompleteBody');
    expect(received).toBe(1000);
  });

  it('aborts the response when a ranged replica stream is short', async () => {
    const h = await faultyHarness(async () => Readable.from([Buffer.alloc(5)]));
    const stream = await h.remote.read('bucket-1', 'k', { hlc: 1, node: 'n' }, { start: 0, end: 9 });
    expect((await failure(collect(stream))).err.code).toBe('IncompleteBody');
  });

  it('answers a stage that fails mid-body with the store error, not a cut connection', async () => {
    const h = await faultyHarness(async () => Readable.from([]), {
      stage: async (body) => {
        for await (const _chunk of body) throw new RingstoreError('StoreClosed', 'store is closing');
        throw new Error('unreachable');
      },
    });
    const { err } = await failure(h.remote.stage(chunked(randomBody(8 * 1024 * 1024))));
    expect(err.code).toBe('StoreClosed');
    expect(err.details['peer']).toBe('server');
    // The client recovers on a fresh connection.
    expect(await h.remote.head('bucket-1', 'nothing')).toBeUndefined();
  });

  it('reports a corrupt body detected before the first byte as CorruptBody', async () => {
    const store = new MemoryStore();
    await store.open();
    const h = await startHarness(store, TIMEOUT);
    cleanups.push(() => h.close());
    const meta = metaFor('k', 100);
    await h.remote.commit(meta, { kind: 'inline', data: randomBody(100) });
    store.corruptForTest('bucket-1', 'k', 3);
    // MemoryStore fails the stream before its first byte, so the server answers with the error.
    const { err } = await failure(h.remote.read('bucket-1', 'k', meta.version));
    expect(err.code).toBe('CorruptBody');
    expect(err.details['peer']).toBe('server');
  });
});
