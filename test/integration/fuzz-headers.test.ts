/**
 * Fuzzing request heads against a real 3-node cluster: well-signed requests with fuzzed headers
 * and query strings, fuzzed SigV4 auth, huge and repeated headers and raw header bytes (over TCP),
 * and Range headers checked against a model. Every answer is a well-formed S3 answer, never a
 * 5xx other than 503, and every node survives.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fc from 'fast-check';
import { TestCluster } from '../helpers/cluster.js';
import { FUZZ_SEED, FuzzClient, LogWatch, codeOf, expectClusterHealthy, expectWellFormed, rawExchange, signRaw, type RawRequest } from '../helpers/fuzz-client.js';
import { headerName, headerValue, queryString, rangeHeader, rangeModel } from '../helpers/arbitraries.js';

const BUCKET = 'fuzz-heads';
const BODY = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 0xff));
/** Large enough to be stored as a blob and streamed, not inlined. */
const BIG = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 13 + (i >> 8)) & 0xff));

/** A request shape to put fuzzed heads on: every S3 operation family. */
const target = fc.constantFrom<Omit<RawRequest, 'headers'>>(
  { method: 'GET', path: '/' },
  { method: 'GET', path: `/${BUCKET}` },
  { method: 'HEAD', path: `/${BUCKET}` },
  { method: 'PUT', path: '/fuzz-new-bucket' },
  { method: 'GET', path: `/${BUCKET}/obj` },
  { method: 'HEAD', path: `/${BUCKET}/obj` },
  { method: 'PUT', path: `/${BUCKET}/scratch`, body: Buffer.from('scratch body') },
  { method: 'PUT', path: `/${BUCKET}/copy` },
  { method: 'DELETE', path: `/${BUCKET}/scratch` },
  { method: 'POST', path: `/${BUCKET}/mpu`, query: 'uploads' },
  { method: 'POST', path: `/${BUCKET}`, query: 'delete' },
  { method: 'DELETE', path: '/no-such-bucket-fuzz' },
);

describe('fuzz: headers, query strings, auth, ranges', () => {
  let cluster: TestCluster;
  let client: FuzzClient;
  let watch: LogWatch;

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
    watch = new LogWatch(cluster);
    client = new FuzzClient(cluster);
    expect((await client.send({ method: 'PUT', path: `/${BUCKET}` })).status).toBe(200);
    expect((await client.send({ method: 'PUT', path: `/${BUCKET}/obj`, body: BODY, headers: { 'content-length': String(BODY.length) } })).status).toBe(200);
  });
  afterEach(async () => {
    await expectClusterHealthy(cluster, watch);
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('well-signed requests with fuzzed headers get well-formed answers', async () => {
    await fc.assert(
      fc.asyncProperty(target, fc.dictionary(headerName, headerValue, { maxKeys: 6 }), fc.constantFrom('n1', 'n2', 'n3'), async (t, extra, node) => {
        const headers: Record<string, string> = { ...extra };
        delete headers['content-length'];
        if (t.body !== undefined) headers['content-length'] = String(t.body.length);
        const res = await client.send({ ...t, headers }, node);
        expectWellFormed(res, t.method, `${t.method} ${t.path} ${JSON.stringify(headers).slice(0, 300)}`);
      }),
      { seed: FUZZ_SEED, numRuns: 100, endOnFailure: true },
    );
  });

  it('well-signed requests with fuzzed query strings get well-formed answers', async () => {
    await fc.assert(
      fc.asyncProperty(target, queryString, async (t, query) => {
        const res = await client.send({ ...t, query, ...(t.body !== undefined && { headers: { 'content-length': String(t.body.length) } }) });
        expectWellFormed(res, t.method, `${t.method} ${t.path}?${query}`);
      }),
      { seed: FUZZ_SEED, numRuns: 100, endOnFailure: true },
    );
  });

  it('well-signed requests with fuzzed methods and raw paths get well-formed answers', async () => {
    // Methods Node's HTTP parser knows; unknown and lower-case ones are refused by the parser (raw TCP case below).
    const method = fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS', 'PROPFIND', 'TRACE');
    const segment = fc.constantFrom(BUCKET, 'obj', '', '.', '..', '%2e%2e', '%2F', '%', '%ZZ', '%C0%AF', '%ED%A0%80', '%F4%90%80%80', '%00', 'a%20b', '+', '~', 'AB', 'x'.repeat(70), '%E2%82%AC', '?');
    const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => `/${parts.join('/')}`.replace('?', '%3F'));
    await fc.assert(
      fc.asyncProperty(method, path, async (m, p) => {
        const res = await client.send({ method: m, path: p, ...(m === 'PUT' && { body: Buffer.from('x'), headers: { 'content-length': '1' } }) });
        expectWellFormed(res, m.toUpperCase(), `${m} ${p}`);
      }),
      { seed: FUZZ_SEED, numRuns: 100, endOnFailure: true },
    );
  });

  it('fuzzed SigV4 (Authorization, x-amz-date, payload hash, presigned query) → 4xx, never a 5xx or a success', async () => {
    const authMutation = fc.oneof(
      fc.string({ maxLength: 200 }).map((s) => ({ authorization: s.replace(/[^\x20-\x7e]/g, '') })),
      fc.tuple(fc.nat({ max: 300 }), fc.string({ maxLength: 8 })).map(([cut, s]) => ({ cut, s })),
      fc.constantFrom(
        { authorization: 'AWS4-HMAC-SHA256' },
        { authorization: 'AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=' },
        { authorization: 'AWS4-HMAC-SHA256 Credential=RSTESTACCESSKEY00001/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00' },
        { authorization: 'AWS AKID:c2ln' },
        { authorization: 'Bearer x' },
        { 'x-amz-date': '' },
        { 'x-amz-date': '20261301T000000Z' },
        { 'x-amz-date': '99991231T235959Z' },
        { 'x-amz-date': 'garbage' },
        { 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' },
        { 'x-amz-content-sha256': 'nonsense' },
      ),
    );
    await fc.assert(
      fc.asyncProperty(target, authMutation, async (t, mutation) => {
        const req: RawRequest = { ...t, ...(t.body !== undefined && { headers: { 'content-length': String(t.body.length) } }) };
        const { headers } = signRaw(req, client.host());
        if ('cut' in mutation) {
          const a = headers['authorization']!;
          headers['authorization'] = a.slice(0, mutation.cut % a.length) + mutation.s.replace(/[^\x20-\x7e]/g, '') + a.slice((mutation.cut % a.length) + 1);
        } else Object.assign(headers, mutation);
        const res = await client.sendPrepared(req, headers);
        expectWellFormed(res, t.method, `${t.method} ${t.path} auth=${JSON.stringify(mutation)}`);
        if (headers['authorization'] !== signRaw(req, client.host()).headers['authorization'] || !('cut' in mutation)) {
          expect(res.status, `tampered auth accepted: ${JSON.stringify(mutation)}`).toBeGreaterThanOrEqual(400);
        }
      }),
      { seed: FUZZ_SEED, numRuns: 120, endOnFailure: true },
    );
    const presigned = fc.array(
      fc.tuple(
        fc.constantFrom('X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Security-Token'),
        fc.oneof(fc.stringMatching(/^[A-Za-z0-9%/_.-]{0,40}$/), fc.constantFrom('AWS4-HMAC-SHA256', '604801', '-1', '0', 'host', 'RSTESTACCESSKEY00001/20261201/us-east-1/s3/aws4_request')),
      ),
      { minLength: 1, maxLength: 7 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'PUT', 'HEAD'), presigned, async (method, params) => {
        const query = params.map(([k, v]) => `${k}=${v}`).join('&');
        const res = await client.send({ method, path: `/${BUCKET}/obj`, query, unsigned: true });
        expectWellFormed(res, method, `${method} presigned ?${query}`);
        expect(res.status).toBeGreaterThanOrEqual(400);
      }),
      { seed: FUZZ_SEED, numRuns: 60, endOnFailure: true },
    );
  });

  it('huge, many and repeated headers and raw header bytes (sent over TCP) never take a node down', async () => {
    const port = cluster.node('n1').s3Port;
    const host = client.host();
    const rawRequest = (method: string, path: string, headerLines: string[], body = ''): Buffer =>
      Buffer.from(`${method} ${path} HTTP/1.1\r\n${headerLines.map((l) => `${l}\r\n`).join('')}\r\n${body}`, 'latin1');
    const signedLines = (method: string, path: string, extra: Record<string, string>): string[] =>
      Object.entries(signRaw({ method, path, headers: extra }, host).headers).map(([k, v]) => `${k}: ${v}`);
    const cases = fc.oneof(
      // A header block over the 64 KiB limit: Node answers 431 itself.
      fc.nat({ max: 100_000 }).map((n) => rawRequest('GET', `/${BUCKET}/obj`, [`host: ${host}`, `x-big: ${'a'.repeat(66_000 + n)}`])),
      // Metadata over 2 KB in many headers → 400 InvalidArgument; a few thousand headers.
      fc
        .integer({ min: 1, max: 3000 })
        .map((n) =>
          rawRequest('PUT', `/${BUCKET}/meta`, [
            ...signedLines('PUT', `/${BUCKET}/meta`, { 'content-length': '0' }),
            ...Array.from({ length: n }, (_, i) => `x-amz-meta-m${i}: ${'v'.repeat(i % 50)}`),
          ]),
        ),
      // A signed header repeated with another value, or the auth headers themselves twice.
      fc
        .constantFrom('authorization', 'x-amz-date', 'x-amz-content-sha256', 'host', 'range', 'content-md5', 'x-amz-copy-source', 'if-match', 'x-amz-decoded-content-length', 'content-encoding')
        .map((name) => {
          const lines = signedLines('GET', `/${BUCKET}/obj`, { range: 'bytes=0-9' });
          return rawRequest('GET', `/${BUCKET}/obj`, [...lines, `${name}: ${name === 'range' ? 'bytes=5-6' : 'other-value'}`]);
        }),
      // Conflicting or broken framing headers.
      fc
        .constantFrom(
          ['content-length: 5', 'content-length: 6'],
          ['content-length: 5', 'transfer-encoding: chunked'],
          ['transfer-encoding: gzip, chunked'],
          ['content-length: -1'],
          ['content-length: 1e3'],
          ['expect: 100-continue'],
          ['x-bad\x00name: v'],
          ['x-folded: a', ' continued'],
        )
        .map((extra) => rawRequest('PUT', `/${BUCKET}/framing`, [`host: ${host}`, ...extra], 'hello')),
      // Request lines Node's parser refuses (unknown or lower-case method, bad bytes in the target).
      fc
        .constantFrom('X-CUSTOM /', 'get /', 'GET /a b', 'GET /\x01', 'GET \xff', 'GET http://other/x', 'GET *', 'GET //x/..', 'GET')
        .map((line) => Buffer.from(`${line} HTTP/1.1\r\nhost: ${host}\r\n\r\n`, 'latin1')),
      // Raw bytes 0x80–0xff (obs-text) in signed header values: the signature covers them as latin1.
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((bytes) => {
        const value =
          Buffer.from(bytes.map((b) => (b < 0x20 || b === 0x7f ? 0x80 | b : b)))
            .toString('latin1')
            .trim() || '\xff';
        return rawRequest('GET', `/${BUCKET}/obj`, signedLines('GET', `/${BUCKET}/obj`, { 'x-amz-meta-raw': value, 'if-none-match': value }));
      }),
    );
    await fc.assert(
      fc.asyncProperty(cases, async (bytes) => {
        const res = await rawExchange(port, bytes);
        const what = bytes.subarray(0, 200).toString('latin1');
        expect(res.status, `no answer to ${what}`).toBeDefined();
        expect(res.status! >= 500 && res.status !== 503, `5xx ${res.head} for ${what}`).toBe(false);
      }),
      { seed: FUZZ_SEED, numRuns: 60, endOnFailure: true },
    );
  });

  it('CopyObject and UploadPartCopy with fuzzed x-amz-copy-source and x-amz-copy-source-range get well-formed answers', async () => {
    const copySource = fc.oneof(
      fc.constantFrom(
        `${BUCKET}/obj`,
        `/${BUCKET}/obj`,
        `${BUCKET}/obj?versionId=null`,
        `${BUCKET}/`,
        `/${BUCKET}`,
        '/',
        '',
        `${BUCKET}/missing`,
        'no-such-bucket-x/obj',
        `AB/obj`,
        `${BUCKET}/${'k'.repeat(1025)}`,
        `${BUCKET}/%`,
        `${BUCKET}/%ZZ`,
        `${BUCKET}/%C0%AF`,
      ),
      fc.stringMatching(/^[A-Za-z0-9/%?=._-]{0,60}$/),
    );
    const copyRange = fc.option(
      fc.oneof(
        fc.constantFrom('bytes=0-0', 'bytes=0-999', 'bytes=5-1', 'bytes=0-99999999', 'bytes=-5', 'bytes=0-', 'bytes= 0-1', 'junk'),
        fc.tuple(fc.nat({ max: 1200 }), fc.nat({ max: 1200 })).map(([a, b]) => `bytes=${a}-${b}`),
      ),
    );
    const created = await client.send({ method: 'POST', path: `/${BUCKET}/copy-mpu`, query: 'uploads' });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.text)![1]!;
    await fc.assert(
      fc.asyncProperty(copySource, copyRange, fc.boolean(), async (src, range, asPart) => {
        const headers: Record<string, string> = { 'x-amz-copy-source': src, ...(range !== null && { 'x-amz-copy-source-range': range }) };
        const req: RawRequest = asPart
          ? { method: 'PUT', path: `/${BUCKET}/copy-mpu`, query: `partNumber=1&uploadId=${encodeURIComponent(uploadId)}`, headers }
          : { method: 'PUT', path: `/${BUCKET}/copy-target`, headers };
        const res = await client.send(req);
        expectWellFormed(res, 'PUT', `${asPart ? 'UploadPartCopy' : 'CopyObject'} ${JSON.stringify(headers)}`);
      }),
      { seed: FUZZ_SEED, numRuns: 60, endOnFailure: true },
    );
  });

  it('arbitrary Range headers → 206 with the right bytes, 200 with the whole body, or 416 — as the model says', async () => {
    const sizes = [0, 1, BODY.length, BIG.length];
    const source = (size: number): Buffer => (size === BIG.length ? BIG : BODY.subarray(0, size));
    for (const size of sizes) {
      const key = `range-${size}`;
      const put = await client.send({ method: 'PUT', path: `/${BUCKET}/${key}`, body: source(size), headers: { 'content-length': String(size) } });
      expect(put.status).toBe(200);
    }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...sizes).chain((size) => fc.tuple(fc.constant(size), rangeHeader(size))),
        fc.constantFrom('GET', 'HEAD'),
        async ([size, range], method) => {
          const res = await client.send({ method, path: `/${BUCKET}/range-${size}`, headers: { range } }, 'n2');
          expectWellFormed(res, method, `${method} size ${size} Range: ${range}`);
          const model = rangeModel(range, size);
          const body = source(size);
          if (model === 'unsatisfiable') {
            expect(res.status, `Range: ${range} on ${size} bytes`).toBe(416);
            expect(res.headers['content-range']).toBe(`bytes */${size}`);
            if (method === 'GET') expect(codeOf(res.text)).toBe('InvalidRange');
          } else if (model === 'full') {
            expect(res.status, `Range: ${range} on ${size} bytes`).toBe(200);
            if (method === 'GET') expect(res.body.equals(body)).toBe(true);
            expect(res.headers['content-length']).toBe(String(size));
          } else {
            expect(res.status, `Range: ${range} on ${size} bytes`).toBe(206);
            expect(res.headers['content-range']).toBe(`bytes ${model.start}-${model.end}/${size}`);
            expect(res.headers['content-length']).toBe(String(model.end - model.start + 1));
            if (method === 'GET') expect(res.body.equals(body.subarray(model.start, model.end + 1)), `bytes of Range: ${range}`).toBe(true);
          }
        },
      ),
      { seed: FUZZ_SEED, numRuns: 150, endOnFailure: true },
    );
  });
});
