/**
 * The endpoint generics: a verb declared once (defineEndpoint) and mounted once per node
 * (EndpointRegistry) answers the same over HTTP (a real koa server on 127.0.0.1, port 0, and
 * RpcClient) and over MemoryTransport, and both refuse a malformed or oversized request with
 * the same error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { request as httpRequest } from 'undici';
import { listenerOf } from '../../../src/node.js';
import { bodyDigest, signRpc } from '../../../src/rpc/auth.js';
import { RpcClient } from '../../../src/rpc/client.js';
import { defineEndpoint, type Endpoint } from '../../../src/rpc/endpoint.js';
import { EndpointRegistry } from '../../../src/rpc/registry.js';
import { createRpcApp } from '../../../src/rpc/server.js';
import { MemoryTransport, type ReplicaResolver } from '../../../src/rpc/transport.js';
import { asObject, int, parseJson, protocol, requireParam, str } from '../../../src/rpc/wire.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { RingstoreError } from '../../../src/util/errors.js';
import { startHttpServer, type StartedHttpServer } from '../../../src/util/http-server.js';
import { silentLogger } from '../../../src/util/logger.js';
import { SECRET, collect } from './harness.js';

/** A test verb: sums integers under a label (small JSON both ways, a query parameter too). */
interface SumRequest {
  readonly label: string;
  readonly values: readonly number[];
}
interface SumAnswer {
  readonly label: string;
  readonly sum: number;
  readonly caller: string;
}

const sumEndpoint: Endpoint<SumRequest, SumAnswer> = defineEndpoint({
  name: 'test-sum',
  method: 'POST',
  path: '/rpc/v1/test/sum',
  pool: 'calls',
  bodyLimit: 256,
  request: {
    encode: (req) => ({ query: { label: req.label }, body: JSON.stringify({ values: req.values }), contentType: 'application/json' }),
    decode: (received) => {
      const values = asObject(parseJson(received.body, 'sum'), 'sum')['values'];
      if (!Array.isArray(values) || !values.every((v) => Number.isSafeInteger(v) && (v as number) >= 0)) throw protocol('sum.values: expected non-negative integers');
      return { label: requireParam(received.query, 'label'), values: values as number[] };
    },
  },
  response: {
    encode: (answer) => ({ body: JSON.stringify(answer), contentType: 'application/json' }),
    decode: (received) => {
      const o = asObject(parseJson(received.body, 'sum answer'), 'sum answer');
      return { label: str(o, 'label', 'sum answer'), sum: int(o, 'sum', 'sum answer'), caller: str(o, 'caller', 'sum answer') };
    },
  },
});

/** A test verb with a streamed answer: `n` bytes counting up from 0, length announced. */
const countEndpoint = defineEndpoint<{ readonly n: number }, { readonly body: Readable; readonly length: number | undefined }>({
  name: 'test-count',
  method: 'GET',
  path: '/rpc/v1/test/count',
  pool: 'streams',
  stream: 'response',
  request: {
    encode: (req) => ({ query: { n: req.n } }),
    decode: (received) => ({ n: Number(requireParam(received.query, 'n')) }),
  },
  response: {
    encode: (answer) => ({ stream: answer.body, ...(answer.length === undefined ? {} : { length: answer.length }) }),
    decode: (received) => {
      if (received.stream === undefined) throw protocol('count: no stream');
      return { body: received.stream, length: received.length };
    },
  },
});

/** An endpoint no node mounts. */
const unmountedEndpoint = defineEndpoint<void, void>({
  name: 'test-nobody',
  method: 'GET',
  path: '/rpc/v1/test/nobody',
  pool: 'calls',
  request: { encode: () => ({}), decode: () => undefined },
  response: { encode: () => ({ status: 204 }), decode: () => undefined },
});

/** The one handler registration both transports serve. */
function mountTestEndpoints(registry: EndpointRegistry): void {
  registry
    .mount(sumEndpoint, (req, { caller }) => ({ label: req.label, sum: req.values.reduce((a, b) => a + b, 0), caller: caller === '' ? 'anonymous' : 'signed' }))
    .mount(countEndpoint, ({ n }) => ({ body: Readable.from([Buffer.from(Array.from({ length: n }, (_, i) => i & 0xff))]), length: n }));
}

/** A thrown RingstoreError's code, message and peer. */
async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; peer: unknown }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RingstoreError) return { code: err.code, message: err.message, peer: err.details['peer'] };
    throw err;
  }
  throw new Error('expected a failure');
}

describe('endpoint registry', () => {
  let server: StartedHttpServer;
  let client: RpcClient;
  let memory: MemoryTransport;
  const both: Array<[string, () => ReplicaResolver, () => string]> = [
    ['http', () => client, () => server.address],
    ['memory', () => memory, () => ''],
  ];

  beforeAll(async () => {
    const app = createRpcApp({ replica: new MemoryStore(), secret: SECRET, nodeId: 'server', logger: silentLogger, endpoints: mountTestEndpoints });
    server = await startHttpServer(listenerOf(app), '127.0.0.1:0');
    client = new RpcClient({ nodeId: 'client', secret: SECRET, timeoutMs: 2000, logger: silentLogger });
    memory = new MemoryTransport();
    memory.register('server', new MemoryStore());
    memory.serve('server', mountTestEndpoints);
  });
  afterAll(async () => {
    await client.close();
    await server.close(1000);
    await memory.close();
  });

  it('a declared endpoint round-trips over HTTP and MemoryTransport with the same answer', async () => {
    const req = { label: 'a b&c=d/é', values: [1, 2, 39] };
    const overHttp = await client.call('server', server.address, sumEndpoint, req);
    const inMemory = await memory.call('server', '', sumEndpoint, req);
    expect(overHttp).toEqual({ label: 'a b&c=d/é', sum: 42, caller: 'signed' });
    // Only the caller differs: over HTTP it is the verified signer, in memory there is none.
    expect({ ...inMemory, caller: 'signed' }).toEqual(overHttp);
  });

  it.each(both)('%s: a streamed answer arrives whole, with its announced length', async (_name, resolver, address) => {
    const answer = await resolver().call('server', address(), countEndpoint, { n: 1000 });
    expect(answer.length).toBe(1000);
    const bytes = await collect(answer.body);
    expect(bytes.length).toBe(1000);
    expect(bytes[999]).toBe(999 & 0xff);
  });

  it('a malformed request is refused by the endpoint codec with the same RpcProtocol error on both', async () => {
    const bad = { label: 'x', values: [1, -5] };
    const overHttp = await failure(client.call('server', server.address, sumEndpoint, bad));
    const inMemory = await failure(memory.call('server', '', sumEndpoint, bad));
    expect(overHttp).toEqual({ code: 'RpcProtocol', message: 'sum.values: expected non-negative integers', peer: 'server' });
    expect(inMemory).toEqual(overHttp);
  });

  it('a request above the endpoint body limit is refused with the same error on both', async () => {
    const big = { label: 'x', values: Array.from({ length: 200 }, () => 1) };
    const overHttp = await failure(client.call('server', server.address, sumEndpoint, big));
    const inMemory = await failure(memory.call('server', '', sumEndpoint, big));
    expect(overHttp).toEqual({ code: 'RpcProtocol', message: 'request body exceeds 256 bytes', peer: 'server' });
    expect(inMemory).toEqual(overHttp);
  });

  it('an endpoint the node does not serve is RpcProtocol on both', async () => {
    const overHttp = await failure(client.call('server', server.address, unmountedEndpoint, undefined));
    const inMemory = await failure(memory.call('server', '', unmountedEndpoint, undefined));
    expect(overHttp).toEqual({ code: 'RpcProtocol', message: 'no route GET /rpc/v1/test/nobody', peer: 'server' });
    expect(inMemory).toEqual(overHttp);
  });

  it('the server decodes with the codec: a hand-made request with a missing parameter is a 400 RpcProtocol', async () => {
    const body = JSON.stringify({ values: [1] });
    const auth = signRpc(SECRET, { method: 'POST', pathWithQuery: sumEndpoint.path, timestampMs: Date.now(), nodeId: 'x', bodyDigest: bodyDigest(body) });
    const res = await httpRequest(`http://${server.address}${sumEndpoint.path}`, { method: 'POST', headers: { 'x-ringstore-auth': auth }, body });
    expect(res.statusCode).toBe(400);
    expect(await res.body.json()).toMatchObject({ code: 'RpcProtocol', message: 'query parameter label: expected exactly one value' });
  });

  it('a test endpoint is covered by the RPC auth like every other', async () => {
    const res = await httpRequest(`http://${server.address}${sumEndpoint.path}?label=x`, { method: 'POST', body: '{"values":[]}' });
    expect(res.statusCode).toBe(401);
    expect(await res.body.json()).toMatchObject({ code: 'RpcUnauthorized' });
  });

  it('refuses a path mounted twice, and declarations with a bad name, path or pool', () => {
    const registry = new EndpointRegistry().mount(sumEndpoint, () => ({ label: '', sum: 0, caller: '' }));
    expect(() => registry.mount(sumEndpoint, () => ({ label: '', sum: 0, caller: '' }))).toThrow(/mounted twice/);
    const base = { method: 'GET' as const, pool: 'calls' as const, request: sumEndpoint.request, response: sumEndpoint.response };
    expect(() => defineEndpoint({ ...base, name: 'Bad Name', path: '/rpc/v1/x' })).toThrow(TypeError);
    expect(() => defineEndpoint({ ...base, name: 'x', path: '/admin/x' })).toThrow(TypeError);
    expect(() => defineEndpoint({ ...base, name: 'x', path: '/rpc/v1/x', stream: 'response' })).toThrow(/streams/);
  });
});
