/**
 * Bad requests get the S3 error a client expects (status and XML code), and nothing is stored
 * when a body fails verification. The RPC port refuses calls without the cluster secret.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { request } from 'undici';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { TestCluster, ACCESS_KEY, SECRET_KEY } from '../helpers/cluster.js';
import { signRequest } from '../../src/s3/sigv4/signing.js';

function codeOf(xml: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];
}

describe('S3 errors', () => {
  let cluster: TestCluster;
  let s3: S3Client;
  const bucket = 'errors';

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
    s3 = cluster.s3();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => {
    s3?.destroy();
    await cluster?.stop();
  });

  /** A raw signed request, so that the test controls every header and byte. */
  async function signed(method: string, path: string, options: { body?: Buffer; headers?: Record<string, string>; payloadHash?: string; secret?: string; accessKey?: string } = {}) {
    const url = new URL(path, cluster.endpoint());
    const req = signRequest(
      {
        method,
        url: url.toString(),
        headers: options.headers ?? {},
        ...(options.payloadHash !== undefined && { payloadHash: options.payloadHash }),
        ...(options.body !== undefined && { body: options.body }),
      } as Parameters<typeof signRequest>[0],
      { accessKeyId: options.accessKey ?? ACCESS_KEY, secretAccessKey: options.secret ?? SECRET_KEY, region: 'us-east-1' } as Parameters<typeof signRequest>[1],
    );
    const res = await request(url, { method, headers: req.headers, ...(options.body !== undefined && { body: options.body }) });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  it('no signature → 403 AccessDenied with an XML error and a request id', async () => {
    const res = await request(`${cluster.endpoint()}/${bucket}/k`);
    const text = await res.body.text();
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toContain('application/xml');
    expect(codeOf(text)).toBe('AccessDenied');
    const id = res.headers['x-amz-request-id'];
    expect(typeof id).toBe('string');
    expect(text).toContain(`<RequestId>${id as string}</RequestId>`);
  });

  it('wrong secret → 403 SignatureDoesNotMatch; unknown key → 403 InvalidAccessKeyId', async () => {
    const wrong = await signed('GET', `/${bucket}/k`, { secret: 'not-the-secret' });
    expect([wrong.status, codeOf(wrong.text)]).toEqual([403, 'SignatureDoesNotMatch']);
    const unknown = await signed('GET', `/${bucket}/k`, { accessKey: 'AKIDNOTKNOWN00000000' });
    expect([unknown.status, codeOf(unknown.text)]).toEqual([403, 'InvalidAccessKeyId']);
  });

  it('unknown bucket → 404 NoSuchBucket; missing key → 404 NoSuchKey', async () => {
    await expect(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' }))).rejects.toMatchObject({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
    await expect(s3.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' }))).rejects.toMatchObject({ name: 'NoSuchBucket' });
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'missing' }))).rejects.toMatchObject({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'missing' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  it.each(['ab', 'UPPER', 'under_score', '-dash', '192.168.1.1', 'a..b'])('invalid bucket name %s → 400 InvalidBucketName', async (name) => {
    const res = await signed('PUT', `/${name}`, { payloadHash: 'UNSIGNED-PAYLOAD' });
    expect([res.status, codeOf(res.text)]).toEqual([400, 'InvalidBucketName']);
  });

  it('a wrong x-amz-checksum-crc32 → 400 BadDigest and nothing stored', async () => {
    const client = cluster.s3();
    await expect(client.send(new PutObjectCommand({ Bucket: bucket, Key: 'bad-crc', Body: Buffer.from('hello world'), ChecksumCRC32: 'AAAAAA==' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 400 },
    });
    await expect(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad-crc' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    client.destroy();
  });

  it('a wrong signed payload hash → 400 XAmzContentSHA256Mismatch and nothing stored, small or large', async () => {
    for (const [key, size] of [
      ['bad-sha-small', 100],
      ['bad-sha-large', 3 * 1024 * 1024],
    ] as const) {
      const body = Buffer.alloc(size, 7);
      const res = await signed('PUT', `/${bucket}/${key}`, { body, payloadHash: 'a'.repeat(64), headers: { 'content-length': String(size) } });
      expect([res.status, codeOf(res.text)]).toEqual([400, 'XAmzContentSHA256Mismatch']);
      await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    }
  });

  it('a wrong Content-MD5 → 400 BadDigest', async () => {
    const body = Buffer.from('content');
    const res = await signed('PUT', `/${bucket}/bad-md5`, {
      body,
      payloadHash: 'UNSIGNED-PAYLOAD',
      headers: { 'content-md5': Buffer.alloc(16).toString('base64'), 'content-length': String(body.length) },
    });
    expect([res.status, codeOf(res.text)]).toEqual([400, 'BadDigest']);
  });

  it('a range past the end → 416 InvalidRange with Content-Range', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ten', Body: Buffer.from('0123456789') }));
    const res = await signed('GET', `/${bucket}/ten`, { headers: { range: 'bytes=10-20' } });
    expect([res.status, codeOf(res.text)]).toEqual([416, 'InvalidRange']);
    expect(res.headers['content-range']).toBe('bytes */10');
  });

  it('an unsupported subresource → 501 NotImplemented', async () => {
    const res = await signed('GET', `/${bucket}?policy`);
    expect([res.status, codeOf(res.text)]).toEqual([501, 'NotImplemented']);
  });

  it('the RPC port refuses calls without the cluster secret', async () => {
    const rpc = `http://127.0.0.1:${cluster.node('n1').rpcPort}`;
    const head = await request(`${rpc}/rpc/v1/heads`, { method: 'POST', body: JSON.stringify({ queries: [{ bucket, key: 'ten' }] }) });
    expect(head.statusCode).toBe(401);
    await head.body.dump();
    const forged = await request(`${rpc}/rpc/v1/ping`, { headers: { 'x-ringstore-auth': `v1 n2 ${Date.now()} ${'0'.repeat(64)}` } });
    expect(forged.statusCode).toBe(401);
    await forged.body.dump();
    const commit = await request(`${rpc}/rpc/v1/commits`, { method: 'POST', body: 'x' });
    expect(commit.statusCode).toBe(401);
    await commit.body.dump();
    // Health and metrics stay open for probes and Prometheus.
    const health = await request(`${rpc}/health`);
    expect(health.statusCode).toBe(200);
    await health.body.dump();
  });
});
