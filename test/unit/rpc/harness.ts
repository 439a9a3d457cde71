/**
 * Shared setup of the rpc tests: a real RPC server (koa on 127.0.0.1, port 0) over a replica,
 * and an RpcClient pointed at it.
 */
import { listenerOf } from '../../../src/node.js';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { RpcClient, type RpcCallEvent } from '../../../src/rpc/client.js';
import { createRpcApp } from '../../../src/rpc/server.js';
import type { ObjectMeta, ReplicaApi } from '../../../src/store/types.js';
import { startHttpServer, type StartedHttpServer } from '../../../src/util/http-server.js';
import { silentLogger } from '../../../src/util/logger.js';

/** The cluster secret of the tests. */
export const SECRET = 'test-cluster-secret-0123456789';

/** A running RPC server and a client for it. */
export interface Harness {
  readonly server: StartedHttpServer;
  readonly client: RpcClient;
  /** The server's replica as seen through the client. */
  readonly remote: ReplicaApi;
  close(): Promise<void>;
}

/** Starts an RPC server for `replica` (node "server") and a client (node "client"). */
export async function startHarness(replica: ReplicaApi, timeoutMs = 2000, observe?: (event: RpcCallEvent) => void): Promise<Harness> {
  const app = createRpcApp({ replica, secret: SECRET, nodeId: 'server', logger: silentLogger });
  const server = await startHttpServer(listenerOf(app), '127.0.0.1:0');
  const client = new RpcClient({ nodeId: 'client', secret: SECRET, timeoutMs, logger: silentLogger, ...(observe && { observe }) });
  return {
    server,
    client,
    remote: client.replica('server', server.address),
    async close() {
      await client.close();
      await server.close(1000);
    },
  };
}

/** `size` random bytes. */
export function randomBody(size: number): Buffer {
  return randomBytes(size);
}

/** Yields `data` in chunks of `chunk` bytes (as plain Uint8Array views, like a coordinator would). */
export async function* chunked(data: Uint8Array, chunk = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.byteLength; i += chunk) {
    yield new Uint8Array(data.buffer, data.byteOffset + i, Math.min(chunk, data.byteLength - i));
  }
}

/** Reads a stream to the end into one Buffer. */
export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The metadata of a version of `key` holding `size` bytes. */
export function metaFor(key: string, size: number, hlc = 1_700_000_000_000 * 1024, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return {
    bucket: 'bucket-1',
    key,
    version: { hlc, node: 'client' },
    tombstone: false,
    size,
    etag: 'etag',
    contentType: 'application/octet-stream',
    userMeta: { origin: 'test' },
    ...extra,
  };
}
