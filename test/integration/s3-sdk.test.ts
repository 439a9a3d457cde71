/**
 * The S3 core end to end: 3 real node processes, @aws-sdk/client-s3 with its default settings
 * (aws-chunked uploads with CRC32 trailers), objects from 0 B to 100 MiB.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { TestCluster } from '../helpers/cluster.js';
import { digestStream, patternStream, randomBody, sha256 } from '../helpers/data.js';

const MiB = 1024 * 1024;

describe('S3 core against a 3-node cluster (SDK defaults)', () => {
  let cluster: TestCluster;
  let s3: S3Client;
  const bucket = 'sdk-core';
  const hashes = new Map<string, string>();

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
    s3 = cluster.s3('n1');
  });
  afterAll(async () => {
    s3?.destroy();
    await cluster?.stop();
  });

  it('creates a bucket and lists it', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    const { Buckets } = await s3.send(new ListBucketsCommand({}));
    expect(Buckets?.map((b) => b.Name)).toContain(bucket);
  });

  it.each([
    ['empty', 0],
    ['docs/one-kib.bin', 1024],
    ['docs/five-mib.bin', 5 * MiB],
  ])('puts %s (%i bytes) and reads it back byte-identical from every node', async (key, size) => {
    const body = randomBody(size);
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/x-test', Metadata: { origin: 'vitest' } }));
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    hashes.set(key, sha256(body));
    for (const id of ['n1', 'n2', 'n3']) {
      const client = cluster.s3(id);
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const bytes = await got.Body!.transformToByteArray();
      expect(sha256(bytes)).toBe(sha256(body));
      expect(got.ContentLength).toBe(size);
      expect(got.ContentType).toBe('application/x-test');
      expect(got.Metadata).toEqual({ origin: 'vitest' });
      expect(got.ETag).toBe(put.ETag);
      client.destroy();
    }
  });

  it('streams a 100 MiB object up and down', async () => {
    const size = 100 * MiB;
    const { stream, digest } = patternStream(size, 7);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'big/hundred-mib.bin', Body: stream, ContentLength: size }));
    const expected = await digest;
    hashes.set('big/hundred-mib.bin', expected);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'big/hundred-mib.bin' }));
    const read = await digestStream(got.Body as AsyncIterable<Uint8Array>);
    expect(read).toEqual({ sha256: expected, size });
  });

  it('serves ranges of a large object', async () => {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'docs/five-mib.bin', Range: 'bytes=100-199' }));
    expect(got.ContentLength).toBe(100);
    expect(got.ContentRange).toBe(`bytes 100-199/${5 * MiB}`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'docs/five-mib.bin' }));
    expect(head.ContentLength).toBe(5 * MiB);
  });

  it('lists with prefix, delimiter and pages of max-keys=2', async () => {
    const all = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(all.Contents?.map((o) => o.Key)).toEqual(['big/hundred-mib.bin', 'docs/five-mib.bin', 'docs/one-kib.bin', 'empty']);
    expect(all.Contents?.find((o) => o.Key === 'docs/one-kib.bin')?.Size).toBe(1024);

    const grouped = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/' }));
    expect(grouped.Contents?.map((o) => o.Key)).toEqual(['empty']);
    expect(grouped.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['big/', 'docs/']);

    const docs = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'docs/' }));
    expect(docs.Contents?.map((o) => o.Key)).toEqual(['docs/five-mib.bin', 'docs/one-kib.bin']);

    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 2, ContinuationToken: token }));
      pages.push(page.Contents?.map((o) => o.Key!) ?? []);
      token = page.NextContinuationToken;
      expect(page.IsTruncated).toBe(token !== undefined);
    } while (token);
    expect(pages).toEqual([
      ['big/hundred-mib.bin', 'docs/five-mib.bin'],
      ['docs/one-kib.bin', 'empty'],
    ]);
  });

  it('@aws-sdk/lib-storage Upload sends a 12 MiB stream as a multipart upload that reads back identical', async () => {
    const size = 12 * MiB;
    const { stream, digest } = patternStream(size, 11);
    const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: 'lib-storage/twelve-mib.bin', Body: stream, ContentType: 'video/x-test' }, partSize: 5 * MiB, queueSize: 2 });
    const done = await upload.done();
    hashes.set('lib-storage/twelve-mib.bin', await digest);
    // A multipart ETag: MD5 of the parts' MD5s, then the part count (12 MiB in 5 MiB parts → 3).
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'lib-storage/twelve-mib.bin' }));
    expect(got.ContentType).toBe('video/x-test');
    expect(await digestStream(got.Body as AsyncIterable<Uint8Array>)).toEqual({ sha256: hashes.get('lib-storage/twelve-mib.bin'), size });
  });

  it('presigned PUT and GET URLs (s3-request-presigner) work with plain fetch; a tampered one is refused', async () => {
    const key = 'presigned/hello.txt';
    const body = randomBody(3000);
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 });
    const put = await fetch(putUrl, { method: 'PUT', body });
    expect(put.status).toBe(200);
    hashes.set(key, sha256(body));
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 });
    const got = await fetch(getUrl);
    expect(got.status).toBe(200);
    expect(sha256(new Uint8Array(await got.arrayBuffer()))).toBe(sha256(body));
    const tampered = await fetch(getUrl.replace('hello.txt', 'other.txt'));
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  it('deletes every object, then the bucket', async () => {
    await expect(s3.send(new DeleteBucketCommand({ Bucket: bucket }))).rejects.toMatchObject({ name: 'BucketNotEmpty', $metadata: { httpStatusCode: 409 } });
    for (const key of hashes.keys()) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'empty' }))).rejects.toMatchObject({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    const after = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(after.KeyCount).toBe(0);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    await expect(s3.send(new HeadBucketCommand({ Bucket: bucket }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });
});
