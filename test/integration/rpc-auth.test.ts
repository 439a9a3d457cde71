/**
 * Node-to-node auth against a real node: for every route on the RPC port, a request without
 * credentials is refused, a captured signed request sent with another body is refused (and so
 * changes nothing), and the genuine request is accepted once and refused when replayed verbatim.
 * Also: /metrics behind metrics.token, presigned URLs with unsigned x-amz-* headers, keys and
 * query values with '+' and ' ', and short secrets refused at start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ACCESS_KEY, CLUSTER_SECRET, SECRET_KEY, TestCluster } from '../helpers/cluster.js';
import { AUTH_HEADER, STREAMED_BODY, bodyDigest, signRpcRequest, streamMac } from '../../src/rpc/auth.js';
import { pingEndpoint } from '../../src/rpc/ping.js';
import { commitsEndpoint, discardEndpoint, encodeCommitsRequest, encodeHeadsRequest, encodeReadQuery, headsEndpoint, listEndpoint, stageEndpoint } from '../../src/rpc/replica-endpoints.js';
import { defaultRegistry } from '../../src/rpc/server.js';
import { withQuery } from '../../src/rpc/wire.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { uriEncode } from '../../src/s3/sigv4/canonical.js';
import { presignUrl, signRequest } from '../../src/s3/sigv4/signing.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const BUCKET = 'rpc-auth';

interface Sent {
  readonly status: number;
  readonly text: string;
}

/** One request a peer could send: its method, target and body. */
interface RpcRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** Small bodies are signed by digest; stage bodies carry a trailing MAC. */
  readonly body?: Buffer;
}

function meta(key: string, size: number) {
  return {
    bucket: BUCKET,
    key,
    version: { hlc: Date.now() * 1024, node: 'n9' },
    tombstone: false,
    size,
    etag: 'etag',
    contentType: 'application/octet-stream',
    userMeta: {},
  };
}

describe('rpc auth: every route refuses missing credentials, another body and a replay', () => {
  let cluster: TestCluster;
  let rpc: string;

  beforeAll(async () => {
    cluster = await TestCluster.start({
      nodes: 1,
      config: { replication: { factor: 1, readQuorum: 1, writeQuorum: 1 }, metrics: { token: METRICS_TOKEN } },
    });
    rpc = `http://127.0.0.1:${cluster.node('n1').rpcPort}`;
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  async function send(req: RpcRequest, headers: Record<string, string>, body: Buffer | undefined): Promise<Sent> {
    const res = await request(`${rpc}${req.path}`, { method: req.method, headers, ...(body === undefined ? {} : { body }) });
    return { status: res.statusCode, text: await res.body.text() };
  }

  /** Signs `req` as node n9 would; `frame` gives the bytes to send for a body (stage: + MAC). */
  function capture(req: RpcRequest, streamed: boolean): { headers: Record<string, string>; frame: (body: Buffer | undefined) => Buffer | undefined } {
    const signed = signRpcRequest(CLUSTER_SECRET, {
      method: req.method,
      pathWithQuery: req.path,
      timestampMs: Date.now(),
      nodeId: 'n9',
      bodyDigest: streamed ? STREAMED_BODY : bodyDigest(req.body),
    });
    const mac = streamed
      ? streamMac(CLUSTER_SECRET, signed.signature)
          .update(req.body ?? Buffer.alloc(0))
          .digest()
      : undefined;
    return {
      headers: { [AUTH_HEADER]: signed.header },
      // The MAC was computed over the original body: appending it to another body is the replay.
      frame: (body) => (mac === undefined ? body : Buffer.concat([body ?? Buffer.alloc(0), mac])),
    };
  }

  const other = Buffer.from('another body of the attacker');
  const inline = Buffer.from('inline body');
  const cases: Record<string, { req: () => RpcRequest; tampered: () => Buffer; ok: number; streamed?: boolean }> = {
    ping: { req: () => ({ method: 'GET', path: pingEndpoint.path }), tampered: () => other, ok: 200 },
    head: {
      req: () => ({ method: 'POST', path: headsEndpoint.path, body: Buffer.from(encodeHeadsRequest([{ bucket: BUCKET, key: 'k' }])) }),
      tampered: () => Buffer.from(encodeHeadsRequest([{ bucket: BUCKET, key: 'secret-key', inlineUpTo: 1024 }])),
      ok: 200,
    },
    commit: {
      req: () => ({ method: 'POST', path: commitsEndpoint.path, body: encodeCommitsRequest([{ meta: meta('genuine', inline.length), body: { kind: 'inline', data: inline } }]) }),
      tampered: () => encodeCommitsRequest([{ meta: meta('forged', other.length), body: { kind: 'inline', data: other } }]),
      ok: 200,
    },
    stage: { req: () => ({ method: 'POST', path: stageEndpoint.path, body: Buffer.from('x'.repeat(10_000)) }), tampered: () => Buffer.from('y'.repeat(10_000)), ok: 200, streamed: true },
    discard: { req: () => ({ method: 'POST', path: withQuery(discardEndpoint.path, { id: 'no-such-stage' }) }), tampered: () => other, ok: 204 },
    read: {
      req: () => ({ method: 'GET', path: encodeReadQuery({ bucket: BUCKET, key: 'genuine', version: { hlc: 1, node: 'n9' } }) }),
      tampered: () => other,
      // Auth passes; the version asked for does not exist.
      ok: 404,
    },
    list: {
      req: () => ({ method: 'POST', path: withQuery(listEndpoint.path, { bucket: BUCKET }), body: Buffer.from(JSON.stringify({ limit: 10 })) }),
      tampered: () => Buffer.from(JSON.stringify({ limit: 1000, prefix: 'secret/' })),
      ok: 200,
    },
  };

  it('covers every route of the RPC API', () => {
    const served = defaultRegistry({ replica: new MemoryStore(), nodeId: 'n1' })
      .all()
      .map((m) => m.endpoint.name);
    expect(Object.keys(cases).sort()).toEqual(served.sort());
  });

  it.each(Object.keys(cases))('%s: no credentials → 401; another body → 401; genuine → accepted once; verbatim replay → 401', async (name) => {
    const c = cases[name]!;
    const req = c.req();
    const streamed = c.streamed === true;

    const anonymous = await send(req, {}, req.body);
    expect(anonymous.status, anonymous.text).toBe(401);
    const garbage = await send(req, { [AUTH_HEADER]: `v2 n9 ${Date.now()} nonce-0123456789abcdef ${'0'.repeat(64)}` }, req.body);
    expect(garbage.status, garbage.text).toBe(401);

    const captured = capture(req, streamed);
    const tampered = await send(req, captured.headers, captured.frame(c.tampered()));
    expect(tampered.status, tampered.text).toBe(401);
    expect(JSON.parse(tampered.text)).toMatchObject({ code: 'RpcUnauthorized' });

    // The refused attempt did not use up the signature: the genuine request still passes, once.
    const genuine = await send(req, captured.headers, captured.frame(req.body));
    expect(genuine.status, genuine.text).toBe(c.ok);
    const replay = await send(req, captured.headers, captured.frame(req.body));
    expect(replay.status, replay.text).toBe(401);
    expect(replay.text).toMatch(/replayed/);
  });

  it('a forged commit body committed nothing; the genuine one is there', async () => {
    const heads = async (key: string): Promise<Buffer> => {
      const body = Buffer.from(encodeHeadsRequest([{ bucket: BUCKET, key }]));
      const req: RpcRequest = { method: 'POST', path: headsEndpoint.path, body };
      const res = await request(`${rpc}${req.path}`, { method: 'POST', headers: capture(req, false).headers, body });
      expect(res.statusCode).toBe(200);
      return Buffer.from(await res.body.arrayBuffer());
    };
    expect((await heads('genuine')).toString('latin1')).toContain('genuine');
    expect((await heads('forged')).toString('latin1')).not.toContain('forged');
  });

  it('refuses a timestamp more than 60 s in the past or the future', async () => {
    for (const offset of [-61_000, 61_000]) {
      const signed = signRpcRequest(CLUSTER_SECRET, { method: 'GET', pathWithQuery: pingEndpoint.path, timestampMs: Date.now() + offset, nodeId: 'n9', bodyDigest: bodyDigest(undefined) });
      const res = await send({ method: 'GET', path: pingEndpoint.path }, { [AUTH_HEADER]: signed.header }, undefined);
      expect(res.status, res.text).toBe(401);
    }
  });

  it('/metrics needs the bearer token; /health and /ready stay open', async () => {
    const metrics = async (headers: Record<string, string>): Promise<Sent> => send({ method: 'GET', path: '/metrics' }, headers, undefined);
    expect((await metrics({})).status).toBe(401);
    expect((await metrics({ authorization: `Bearer ${METRICS_TOKEN}x` })).status).toBe(401);
    expect((await metrics({ authorization: METRICS_TOKEN })).status).toBe(401);
    // The cluster secret is no metrics token either.
    expect((await metrics({ authorization: `Bearer ${CLUSTER_SECRET}` })).status).toBe(401);
    const ok = await metrics({ authorization: `Bearer ${METRICS_TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('ringstore_');
    expect((await send({ method: 'GET', path: '/health' }, {}, undefined)).status).toBe(200);
    expect((await send({ method: 'GET', path: '/ready' }, {}, undefined)).status).toBe(200);
  });
});

describe('S3 auth: presigned URLs and the + in keys and queries', () => {
  let cluster: TestCluster;
  let s3: S3Client;
  const creds = { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: 'us-east-1' };
  const key = 'dir/a+b c.txt';

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 1, config: { replication: { factor: 1, readQuorum: 1, writeQuorum: 1 } } });
    s3 = cluster.s3();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'plus and space' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'dir/a b c.txt', Body: 'two spaces' }));
  });
  afterAll(async () => {
    s3?.destroy();
    await cluster?.stop();
  });

  const objectUrl = (k: string): string => `${cluster.endpoint()}/${BUCKET}/${uriEncode(k, true)}`;

  it('a key with + and space round-trips with header auth and a presigned GET', async () => {
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(await got.Body?.transformToString()).toBe('plus and space');
    const url = presignUrl({ method: 'GET', url: objectUrl(key), expiresIn: 60 }, creds);
    const res = await request(url);
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('plus and space');
  });

  it('a presigned URL with an unsigned x-amz-* header added → 403 AccessDenied', async () => {
    const url = presignUrl({ method: 'PUT', url: objectUrl('presigned-put'), expiresIn: 60 }, creds);
    const refused = await request(url, { method: 'PUT', headers: { 'x-amz-meta-owner': 'mallory' }, body: 'x' });
    const text = await refused.body.text();
    expect(refused.statusCode).toBe(403);
    expect(text).toContain('<Code>AccessDenied</Code>');
    const plain = await request(url, { method: 'PUT', body: 'x' });
    await plain.body.dump();
    expect(plain.statusCode).toBe(200);
  });

  it('a query value: %2B is a plus, and a raw + is a space, to the signature and to the listing alike', async () => {
    const list = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'dir/a+b ' }));
    expect(list.Contents?.map((o) => o.Key)).toEqual([key]);
    // Signed as AWS canonicalises it (the space as %20), sent as a form-encoded +.
    const signed = signRequest({ method: 'GET', url: `${cluster.endpoint()}/${BUCKET}?list-type=2&prefix=dir%2Fa%20b`, now: Date.now() }, creds);
    const res = await request(`${cluster.endpoint()}/${BUCKET}?list-type=2&prefix=dir%2Fa+b`, { headers: signed.headers });
    const text = await res.body.text();
    expect(res.statusCode, text).toBe(200);
    expect(text).toContain('<Key>dir/a b c.txt</Key>');
    expect(text).not.toContain('<Key>dir/a+b c.txt</Key>');
  });
});

describe('short secrets are refused at start', () => {
  it.each([
    ['s3.secretKey', { RINGSTORE_SECRET_KEY: 'fifteen-chars!!' }],
    ['rpc.secret', { RINGSTORE_CLUSTER_SECRET: 'fifteen-chars!!' }],
  ])('a 15-character %s: the node exits naming the key', async (path, env) => {
    const started = TestCluster.start({ nodes: 1, config: { replication: { factor: 1, readQuorum: 1, writeQuorum: 1 } }, env });
    await expect(started).rejects.toThrow(new RegExp(`exit code 2[\\s\\S]*config: ${path.replace('.', '\\.')} = \\[redacted, 15 characters\\]`));
  });
});
