/**
 * Server-side copy (CopyObject, UploadPartCopy) on a 3-node cluster, driven by the clients that
 * use it: @aws-sdk/client-s3 with its defaults, Debian's aws cli v2 (`aws s3 cp s3:// s3://`,
 * which switches to UploadPartCopy above 8 MiB), `rclone copyto` and `s3cmd cp`; the error
 * cases as raw signed requests, so the test controls every header.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CopyObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { awsCli, writeS3cmdConfig } from '../helpers/s3-cli.js';
import { TestCluster, ACCESS_KEY, SECRET_KEY } from '../helpers/cluster.js';
import { digestStream, patternStream, randomBody, sha256 } from '../helpers/data.js';
import { signRequest } from '../../src/s3/sigv4/signing.js';

const MiB = 1024 * 1024;
const run = promisify(execFile);
const md5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

/** The environment without AWS_* settings (a CA bundle there makes rclone refuse its own HTTP transport). */
function withoutAwsEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
}

function codeOf(xml: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];
}

/** The status and S3 error code an SDK call failed with. */
async function failure(promise: Promise<unknown>): Promise<[number | undefined, string]> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    return [e.$metadata?.httpStatusCode, e.Code ?? e.name];
  }
  throw new Error('expected the call to fail');
}

describe('server-side copy', () => {
  let cluster: TestCluster;
  let s3: S3Client;
  let dir: string;
  const A = 'copy-a';
  const B = 'copy-b';
  const BIG = 100 * MiB;
  let bigHash: string;

  async function bodyOf(bucket: string, key: string, client = s3): Promise<{ sha256: string; size: number }> {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return digestStream(got.Body as AsyncIterable<Uint8Array>);
  }

  /** A raw signed request to n1. */
  async function signed(method: string, path: string, headers: Record<string, string>) {
    const url = new URL(path, cluster.endpoint());
    const req = signRequest({ method, url: url.toString(), headers }, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: 'us-east-1' });
    const res = await request(url, { method, headers: req.headers });
    return { status: res.statusCode, text: await res.body.text() };
  }

  /** The sum over every node of one series of `ringstore_s3_*` metrics. */
  async function metric(series: string): Promise<number> {
    let total = 0;
    for (const node of cluster.nodes) {
      const text = await (await request(`http://127.0.0.1:${node.rpcPort}/metrics`)).body.text();
      for (const line of text.split('\n')) if (line.startsWith(series + ' ')) total += Number(line.slice(series.length + 1));
    }
    return total;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringstore-copy-'));
    cluster = await TestCluster.start({ nodes: 3 });
    s3 = cluster.s3('n1');
    await s3.send(new CreateBucketCommand({ Bucket: A }));
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  afterAll(async () => {
    s3?.destroy();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('COPY (the default) keeps Content-Type, user metadata and the stored headers; the copy has the same ETag and checksum', async () => {
    const body = randomBody(200 * 1024);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: A,
        Key: 'src',
        Body: body,
        ContentType: 'application/x-foo',
        Metadata: { colour: 'blue' },
        CacheControl: 'max-age=60',
        ContentDisposition: 'attachment; filename="a.txt"',
      }),
    );
    const copied = await s3.send(new CopyObjectCommand({ Bucket: A, Key: 'dst', CopySource: `${A}/src`, Metadata: { ignored: 'yes' }, ContentType: 'text/ignored' }));
    expect(copied.CopyObjectResult?.ETag).toBe(put.ETag);
    expect(copied.CopyObjectResult?.LastModified).toBeInstanceOf(Date);
    // The SDK put it with a CRC32; S3 carries a source's checksum over to the copy.
    expect(copied.CopyObjectResult?.ChecksumCRC32).toBe(put.ChecksumCRC32);
    const head = await cluster.s3('n2').send(new HeadObjectCommand({ Bucket: A, Key: 'dst' }));
    expect([head.ContentType, head.Metadata, head.CacheControl, head.ContentDisposition, head.ETag]).toEqual([
      'application/x-foo',
      { colour: 'blue' },
      'max-age=60',
      'attachment; filename="a.txt"',
      put.ETag,
    ]);
    expect(await bodyOf(A, 'dst')).toEqual({ sha256: sha256(body), size: body.length });
  });

  it('REPLACE takes Content-Type, metadata and headers from the request', async () => {
    await s3.send(new CopyObjectCommand({ Bucket: A, Key: 'replaced', CopySource: `/${A}/src`, MetadataDirective: 'REPLACE', ContentType: 'application/x-new', Metadata: { shape: 'square' } }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: A, Key: 'replaced' }));
    expect([head.ContentType, head.Metadata, head.CacheControl]).toEqual(['application/x-new', { shape: 'square' }, undefined]);
  });

  it('copies across buckets, with URL-encoded keys and a requested checksum; the copy reads the same from every node', async () => {
    const body = randomBody(3 * MiB);
    const key = 'dir/ä b+c.bin';
    await s3.send(new PutObjectCommand({ Bucket: A, Key: key, Body: body }));
    const copied = await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'other/ö.bin', CopySource: encodeURIComponent(`${A}/${key}`), ChecksumAlgorithm: 'SHA256' }));
    // x-amz-checksum-algorithm: the copy is stored with that checksum, computed from the bytes copied.
    const sha = createHash('sha256').update(body).digest('base64');
    expect(copied.CopyObjectResult?.ChecksumSHA256).toBe(sha);
    expect((await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'other/ö.bin', ChecksumMode: 'ENABLED' }))).ChecksumSHA256).toBe(sha);
    for (const id of ['n1', 'n2', 'n3']) {
      const client = cluster.s3(id);
      expect(await bodyOf(B, 'other/ö.bin', client)).toEqual({ sha256: sha256(body), size: body.length });
      client.destroy();
    }
  });

  it('copies a zero-size source', async () => {
    await s3.send(new PutObjectCommand({ Bucket: A, Key: 'empty', Body: new Uint8Array(0) }));
    const copied = await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'empty-copy', CopySource: `${A}/empty` }));
    expect(copied.CopyObjectResult?.ETag).toBe(`"${md5(new Uint8Array(0))}"`);
    expect((await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'empty-copy' }))).ContentLength).toBe(0);
  });

  it('copies a multipart source into a single-part object whose ETag is the MD5 of its bytes', async () => {
    const parts = [randomBody(5 * MiB), randomBody(1024)];
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: A, Key: 'mp', ContentType: 'video/x-parts' }));
    const etags: string[] = [];
    for (const [i, part] of parts.entries()) etags.push((await s3.send(new UploadPartCommand({ Bucket: A, Key: 'mp', UploadId, PartNumber: i + 1, Body: part }))).ETag!);
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: A, Key: 'mp', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
    expect(done.ETag).toMatch(/-2"$/);
    const whole = Buffer.concat(parts);
    const copied = await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'mp-copy', CopySource: `${A}/mp` }));
    expect(copied.CopyObjectResult?.ETag).toBe(`"${md5(whole)}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'mp-copy' }));
    expect([head.ContentType, head.ContentLength]).toEqual(['video/x-parts', whole.length]);
    expect(await bodyOf(B, 'mp-copy')).toEqual({ sha256: sha256(whole), size: whole.length });
  });

  it('refuses a copy onto itself that changes nothing (400 InvalidRequest) and allows it with REPLACE', async () => {
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: A, Key: 'src', CopySource: `${A}/src` })))).toEqual([400, 'InvalidRequest']);
    await s3.send(new CopyObjectCommand({ Bucket: A, Key: 'src', CopySource: `${A}/src`, MetadataDirective: 'REPLACE', ContentType: 'application/x-bar' }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: A, Key: 'src' }))).ContentType).toBe('application/x-bar');
  });

  it('applies the four x-amz-copy-source-if-* conditions with S3 precedence (412 PreconditionFailed)', async () => {
    const head = await s3.send(new HeadObjectCommand({ Bucket: A, Key: 'src' }));
    const etag = head.ETag!;
    const past = new Date(head.LastModified!.getTime() - 3_600_000);
    const future = new Date(Date.now() + 3_600_000);
    const cases: Array<[string, Partial<CopyObjectCommandInput>, 'OK' | 'PreconditionFailed']> = [
      ['if-match true', { CopySourceIfMatch: etag }, 'OK'],
      ['if-match false', { CopySourceIfMatch: '"0123"' }, 'PreconditionFailed'],
      ['if-none-match true', { CopySourceIfNoneMatch: '"0123"' }, 'OK'],
      ['if-none-match false', { CopySourceIfNoneMatch: etag }, 'PreconditionFailed'],
      ['if-modified-since true', { CopySourceIfModifiedSince: past }, 'OK'],
      ['if-modified-since false', { CopySourceIfModifiedSince: future }, 'PreconditionFailed'],
      ['if-unmodified-since true', { CopySourceIfUnmodifiedSince: future }, 'OK'],
      ['if-unmodified-since false', { CopySourceIfUnmodifiedSince: past }, 'PreconditionFailed'],
      // The two pairs the CopyObject reference spells out.
      ['if-match true + if-unmodified-since false', { CopySourceIfMatch: etag, CopySourceIfUnmodifiedSince: past }, 'OK'],
      ['if-none-match false + if-modified-since true', { CopySourceIfNoneMatch: etag, CopySourceIfModifiedSince: past }, 'PreconditionFailed'],
    ];
    const outcomes: Array<[string, string]> = [];
    for (const [name, conditions] of cases) {
      const call = s3.send(new CopyObjectCommand({ Bucket: B, Key: 'conditional', CopySource: `${A}/src`, ...conditions }));
      outcomes.push([
        name,
        await call.then(
          () => 'OK',
          async (err: unknown) => ((await failure(Promise.reject(err)))[0] === 412 ? 'PreconditionFailed' : String(err)),
        ),
      ]);
    }
    expect(outcomes).toEqual(cases.map(([name, , want]) => [name, want]));
  });

  it('answers a missing source key 404 NoSuchKey, a missing source or destination bucket 404 NoSuchBucket', async () => {
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'x', CopySource: `${A}/no-such-key` })))).toEqual([404, 'NoSuchKey']);
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'x', CopySource: 'no-such-bucket/src' })))).toEqual([404, 'NoSuchBucket']);
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'no-such-bucket', Key: 'x', CopySource: `${A}/src` })))).toEqual([404, 'NoSuchBucket']);
    expect(await failure(s3.send(new UploadPartCopyCommand({ Bucket: B, Key: 'x', UploadId: '0'.repeat(32), PartNumber: 1, CopySource: `${A}/src` })))).toEqual([404, 'NoSuchUpload']);
  });

  it('copies a 100 MiB object with one CopyObject, and again by UploadPartCopy ranges then Complete', async () => {
    const { stream, digest } = patternStream(BIG, 11);
    await s3.send(new PutObjectCommand({ Bucket: A, Key: 'big', Body: stream, ContentLength: BIG }));
    bigHash = await digest;

    let started = performance.now();
    await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'big-copy', CopySource: `${A}/big` }));
    const copySeconds = (performance.now() - started) / 1000;
    expect(await bodyOf(B, 'big-copy')).toEqual({ sha256: bigHash, size: BIG });

    const half = BIG / 2;
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'big-parts' }));
    started = performance.now();
    const parts = await Promise.all(
      [0, 1].map(async (i) => {
        const r = await s3.send(
          new UploadPartCopyCommand({ Bucket: B, Key: 'big-parts', UploadId, PartNumber: i + 1, CopySource: `${A}/big`, CopySourceRange: `bytes=${i * half}-${(i + 1) * half - 1}` }),
        );
        expect(r.CopyPartResult?.ETag).toMatch(/^"[0-9a-f]{32}"$/);
        expect(r.CopyPartResult?.LastModified).toBeInstanceOf(Date);
        return { ETag: r.CopyPartResult!.ETag!, PartNumber: i + 1 };
      }),
    );
    const partSeconds = (performance.now() - started) / 1000;
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: 'big-parts', UploadId, MultipartUpload: { Parts: parts } }));
    expect(done.ETag).toMatch(/-2"$/);
    expect(await bodyOf(B, 'big-parts')).toEqual({ sha256: bigHash, size: BIG });
    console.log(`100 MiB CopyObject: ${(100 / copySeconds).toFixed(0)} MiB/s; 2 × 50 MiB UploadPartCopy: ${(100 / partSeconds).toFixed(0)} MiB/s`);
  });

  it.each([
    ['an unknown metadata directive', 400, 'InvalidArgument', 'PUT', `/${B}/x`, { 'x-amz-copy-source': `/${A}/src`, 'x-amz-metadata-directive': 'MOVE' }],
    ['a copy source without a key', 400, 'InvalidArgument', 'PUT', `/${B}/x`, { 'x-amz-copy-source': `/${A}` }],
    ['a copy source with a bad bucket name', 400, 'InvalidBucketName', 'PUT', `/${B}/x`, { 'x-amz-copy-source': '/Not_A_Bucket/src' }],
    ['a copy source version that does not exist', 400, 'InvalidArgument', 'PUT', `/${B}/x`, { 'x-amz-copy-source': `/${A}/src?versionId=3HL4kqtJlcpXroDTDmJ` }],
    ['an unknown checksum algorithm', 400, 'InvalidRequest', 'PUT', `/${B}/x`, { 'x-amz-copy-source': `/${A}/src`, 'x-amz-checksum-algorithm': 'MD4' }],
    ['a range that is not bytes=first-last', 400, 'InvalidArgument', 'UPLOAD', '', { 'x-amz-copy-source-range': 'bytes=10-' }],
    ['a range with last before first', 400, 'InvalidArgument', 'UPLOAD', '', { 'x-amz-copy-source-range': 'bytes=10-5' }],
    ['a range beyond the source', 400, 'InvalidRange', 'UPLOAD', '', { 'x-amz-copy-source-range': 'bytes=0-999999999' }],
    ['a part copy whose condition fails', 412, 'PreconditionFailed', 'UPLOAD', '', { 'x-amz-copy-source-if-match': '"0123"' }],
  ] as const)('%s → %i %s', async (_name, status, code, method, path, headers) => {
    let target: string = path;
    let extra: Record<string, string> = {};
    if (method === 'UPLOAD') {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'ranged' }));
      target = `/${B}/ranged?partNumber=1&uploadId=${UploadId!}`;
      extra = { 'x-amz-copy-source': `/${A}/src` };
    }
    const res = await signed('PUT', target, { ...extra, ...headers });
    expect([res.status, codeOf(res.text)]).toEqual([status, code]);
  });

  describe.skipIf(!existsSync('/usr/bin/aws') && !process.env['CI'])('aws cli v2', () => {
    const aws = awsCli(
      () => cluster.endpoint('n2'),
      () => dir,
      { timeoutMs: 120_000 },
    );

    it('aws s3 cp s3://a/x s3://b/x copies 1 KiB and 100 MiB (UploadPartCopy) with equal hashes', async () => {
      const small = randomBody(1024);
      await s3.send(new PutObjectCommand({ Bucket: A, Key: 'cli/small', Body: small }));
      await aws('s3', 'cp', `s3://${A}/cli/small`, `s3://${B}/cli/small`);
      expect(await bodyOf(B, 'cli/small')).toEqual({ sha256: sha256(small), size: 1024 });
      const before = await metric('ringstore_s3_requests_total{op="UploadPartCopy",code="OK"}');
      const started = performance.now();
      await aws('s3', 'cp', `s3://${A}/big`, `s3://${B}/cli/big`);
      console.log(`aws s3 cp of 100 MiB between buckets: ${(100 / ((performance.now() - started) / 1000)).toFixed(0)} MiB/s`);
      expect(await metric('ringstore_s3_requests_total{op="UploadPartCopy",code="OK"}')).toBeGreaterThan(before);
      expect(await bodyOf(B, 'cli/big')).toEqual({ sha256: bigHash, size: BIG });
    });
  });

  describe.skipIf(!existsSync('/usr/bin/rclone') && !process.env['CI'])('rclone', () => {
    it('rclone copyto within one remote copies server-side (no body leaves the gateway)', async () => {
      const body = randomBody(4 * MiB);
      await s3.send(new PutObjectCommand({ Bucket: A, Key: 'rclone/src.bin', Body: body }));
      const sentBefore = await metric('ringstore_s3_sent_bytes_total');
      const copiesBefore = await metric('ringstore_s3_requests_total{op="CopyObject",code="OK"}');
      await run('/usr/bin/rclone', ['copyto', 'rs:copy-a/rclone/src.bin', 'rs:copy-b/rclone/dst.bin'], {
        env: {
          ...withoutAwsEnv(),
          RCLONE_CONFIG: join(dir, 'rclone.conf'),
          RCLONE_CONFIG_RS_TYPE: 's3',
          RCLONE_CONFIG_RS_PROVIDER: 'Other',
          RCLONE_CONFIG_RS_ACCESS_KEY_ID: ACCESS_KEY,
          RCLONE_CONFIG_RS_SECRET_ACCESS_KEY: SECRET_KEY,
          RCLONE_CONFIG_RS_ENDPOINT: cluster.endpoint('n3'),
          RCLONE_CONFIG_RS_REGION: 'us-east-1',
          RCLONE_CONFIG_RS_FORCE_PATH_STYLE: 'true',
        },
        timeout: 60_000,
      });
      expect(await metric('ringstore_s3_requests_total{op="CopyObject",code="OK"}')).toBe(copiesBefore + 1);
      // A download-and-upload copy would have sent the 4 MiB body out of some gateway.
      expect((await metric('ringstore_s3_sent_bytes_total')) - sentBefore).toBeLessThan(64 * 1024);
      expect(await bodyOf(B, 'rclone/dst.bin')).toEqual({ sha256: sha256(body), size: body.length });
    });
  });

  describe.skipIf(!existsSync('/usr/bin/s3cmd') && !process.env['CI'])('s3cmd', () => {
    it('s3cmd cp s3://a/x s3://b/y copies server-side', async () => {
      const body = randomBody(64 * 1024 + 3);
      await s3.send(new PutObjectCommand({ Bucket: A, Key: 's3cmd/src', Body: body, ContentType: 'text/x-s3cmd' }));
      const host = `127.0.0.1:${cluster.node('n1').s3Port}`;
      const config = join(dir, 's3cmd.cfg');
      await writeS3cmdConfig(config, `${host}`);
      const copiesBefore = await metric('ringstore_s3_requests_total{op="CopyObject",code="OK"}');
      await run('/usr/bin/s3cmd', ['-c', config, 'cp', `s3://${A}/s3cmd/src`, `s3://${B}/s3cmd/dst`], { timeout: 60_000 });
      expect(await metric('ringstore_s3_requests_total{op="CopyObject",code="OK"}')).toBe(copiesBefore + 1);
      expect(await bodyOf(B, 's3cmd/dst')).toEqual({ sha256: sha256(body), size: body.length });
    });
  });
});
