/**
 * Fuzzing object keys and bucket names against a real 3-node cluster: any valid key round-trips
 * byte for byte through PUT, GET and ListObjectsV2; keys over 1024 bytes, NUL and invalid bucket
 * names get their S3 error; nothing crashes a node.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fc from 'fast-check';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { TestCluster } from '../helpers/cluster.js';
import { FUZZ_SEED, FuzzClient, LogWatch, codeOf, expectClusterHealthy, expectWellFormed } from '../helpers/fuzz-client.js';
import { invalidBucketName, tooLongKey, validKey } from '../helpers/arbitraries.js';
import { uriEncode } from '../../src/s3/sigv4/canonical.js';
import { unescapeXml } from '../helpers/fuzz-client.js';

const BUCKET = 'fuzz-keys';
const objectPath = (key: string): string => `/${BUCKET}/${uriEncode(key, true)}`;

/** The keys of a ListObjectsV2 answer with encoding-type=url, XML-unescaped then URL-decoded. */
function listedKeys(xml: string): string[] {
  return [...xml.matchAll(/<Contents><Key>([^<]*)<\/Key>/g)].map((m) => decodeURIComponent(unescapeXml(m[1]!)));
}

describe('fuzz: keys and bucket names', () => {
  let cluster: TestCluster;
  let client: FuzzClient;
  let watch: LogWatch;
  let s3: S3Client;

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
    s3 = cluster.s3('n2');
    watch = new LogWatch(cluster);
    client = new FuzzClient(cluster);
    const created = await client.send({ method: 'PUT', path: `/${BUCKET}` });
    expect(created.status).toBe(200);
  });
  afterEach(async () => {
    await expectClusterHealthy(cluster, watch);
  });
  afterAll(async () => {
    s3?.destroy();
    await client?.close();
    await cluster?.stop();
  });

  it('any valid key (unicode, astral, .., /, \\, +, %, control characters, ≤ 1024 bytes) round-trips through PUT, GET and ListObjectsV2', async () => {
    await fc.assert(
      fc.asyncProperty(validKey, fc.uint8Array({ maxLength: 64 }), fc.constantFrom('n1', 'n2', 'n3'), async (key, bytes, node) => {
        const body = Buffer.from(bytes);
        const put = await client.send({ method: 'PUT', path: objectPath(key), body, headers: { 'content-length': String(body.length) } }, node);
        expectWellFormed(put, 'PUT', `PUT ${JSON.stringify(key)}`);
        expect(put.status, `PUT ${JSON.stringify(key)}: ${put.text}`).toBe(200);
        // Read from another node than the one written to: the key must mean the same everywhere.
        const get = await client.send({ method: 'GET', path: objectPath(key) }, node === 'n1' ? 'n2' : 'n1');
        expect(get.status, `GET ${JSON.stringify(key)}: ${get.text}`).toBe(200);
        expect(get.body.equals(body), `GET ${JSON.stringify(key)} returned other bytes`).toBe(true);
        const list = await client.send({ method: 'GET', path: `/${BUCKET}`, query: `list-type=2&encoding-type=url&prefix=${uriEncode(key)}` }, 'n3');
        expect(list.status, list.text).toBe(200);
        expect(listedKeys(list.text), `ListObjectsV2 prefix=${JSON.stringify(key)}`).toContain(key);
        for (const listed of listedKeys(list.text)) expect(listed.startsWith(key)).toBe(true);
        // Without encoding-type the key travels as XML text: what an SDK parses must be the key
        // itself (CR included), unless it holds characters XML 1.0 cannot carry at all.
        if (!/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(key)) {
          const sdkList = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
          expect(
            (sdkList.Contents ?? []).map((c) => c.Key),
            `SDK ListObjectsV2 prefix=${JSON.stringify(key)}`,
          ).toContain(key);
        }
      }),
      { seed: FUZZ_SEED, numRuns: 120, endOnFailure: true },
    );
  });

  it('keys over 1024 UTF-8 bytes → 400 KeyTooLongError for PUT, GET, HEAD, DELETE and multipart', async () => {
    await fc.assert(
      fc.asyncProperty(tooLongKey, fc.constantFrom('PUT', 'GET', 'HEAD', 'DELETE', 'POST'), async (key, method) => {
        const res = await client.send({
          method,
          path: objectPath(key),
          ...(method === 'POST' && { query: 'uploads=' }),
          ...(method === 'PUT' && { body: Buffer.from('x'), headers: { 'content-length': '1' } }),
        });
        expectWellFormed(res, method, `${method} ${Buffer.byteLength(key)}-byte key`);
        expect(res.status).toBe(400);
        if (method !== 'HEAD') expect(codeOf(res.text)).toBe('KeyTooLongError');
      }),
      { seed: FUZZ_SEED, numRuns: 40, endOnFailure: true },
    );
    const head = await client.send({ method: 'HEAD', path: objectPath('k'.repeat(1025)) });
    expect(head.status).toBe(400);
  });

  it('a key containing NUL is stored and read back consistently or refused with a 4xx, never a crash', async () => {
    // S3 allows any UTF-8 in keys, but NUL cannot appear in XML 1.0, so it is the case most
    // likely to break a listing or a store's key encoding: either answer is fine if it is consistent.
    await fc.assert(
      fc.asyncProperty(validKey, fc.nat({ max: 3 }), async (base, where) => {
        const cps = [...base];
        const at = Math.min(where, cps.length);
        const key = [...cps.slice(0, at), '\u0000', ...cps.slice(at)].join('');
        if (Buffer.byteLength(key) > 1024) return;
        const body = Buffer.from(`nul-${key.length}`);
        const put = await client.send({ method: 'PUT', path: objectPath(key), body, headers: { 'content-length': String(body.length) } });
        expectWellFormed(put, 'PUT', `PUT ${JSON.stringify(key)}`);
        const get = await client.send({ method: 'GET', path: objectPath(key) }, 'n2');
        expectWellFormed(get, 'GET', `GET ${JSON.stringify(key)}`);
        if (put.status === 200) {
          expect(get.status).toBe(200);
          expect(get.body.equals(body)).toBe(true);
        } else {
          expect(put.status).toBeGreaterThanOrEqual(400);
          expect(get.status).toBe(put.status === 400 ? 400 : 404);
        }
        const list = await client.send({ method: 'GET', path: `/${BUCKET}`, query: 'list-type=2&encoding-type=url' }, 'n3');
        expect(list.status, list.text).toBe(200);
      }),
      { seed: FUZZ_SEED, numRuns: 20, endOnFailure: true },
    );
  });

  it('invalid bucket names → 400 InvalidBucketName on bucket and object requests, and are never created', async () => {
    await fc.assert(
      fc.asyncProperty(invalidBucketName, fc.constantFrom('PUT', 'GET', 'HEAD', 'DELETE'), fc.boolean(), async (name, method, withKey) => {
        const path = `/${uriEncode(name)}${withKey ? '/some/key' : ''}`;
        const res = await client.send({ method, path, ...(method === 'PUT' && withKey && { body: Buffer.from('x'), headers: { 'content-length': '1' } }) });
        expectWellFormed(res, method, `${method} ${path}`);
        expect(res.status, `${method} ${path}: ${res.text}`).toBe(400);
        if (method !== 'HEAD') expect(codeOf(res.text), `${method} ${path}`).toBe('InvalidBucketName');
      }),
      { seed: FUZZ_SEED, numRuns: 80, endOnFailure: true },
    );
    const buckets = await client.send({ method: 'GET', path: '/' });
    expect([...buckets.text.matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) => m[1])).toEqual([BUCKET]);
  });
});
