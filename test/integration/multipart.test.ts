/**
 * Multipart uploads through the SDK: parts spread over the ring, completed into one object
 * whose ETag is md5-of-md5s-N, read whole and by ranges across part boundaries; the S3
 * errors for wrong parts, small parts and unknown uploads; abort and the listings.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { TestCluster } from '../helpers/cluster.js';
import { randomBody, sha256 } from '../helpers/data.js';

const MiB = 1024 * 1024;

describe('multipart upload', () => {
  let cluster: TestCluster;
  let s3: S3Client;
  const Bucket = 'mpu';

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
    s3 = cluster.s3();
    await s3.send(new CreateBucketCommand({ Bucket }));
  });
  afterAll(async () => {
    s3?.destroy();
    await cluster?.stop();
  });

  it('completes an upload and serves it whole and by ranges across parts', async () => {
    const parts = [randomBody(5 * MiB), randomBody(5 * MiB), randomBody(1234)];
    const whole = Buffer.concat(parts);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'big/object', ContentType: 'video/mp4', Metadata: { camera: 'a' } }));
    const etags: string[] = [];
    for (const [i, body] of parts.entries()) {
      const { ETag } = await s3.send(new UploadPartCommand({ Bucket, Key: 'big/object', UploadId, PartNumber: i + 1, Body: body }));
      etags.push(ETag!);
    }
    const listed = await s3.send(new ListPartsCommand({ Bucket, Key: 'big/object', UploadId }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual(parts.map((p, i) => [i + 1, p.length, etags[i]]));
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket }));
    expect(uploads.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([['big/object', UploadId]]);

    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'big/object', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
    const md5s = Buffer.concat(parts.map((p) => createHash('md5').update(p).digest()));
    expect(done.ETag).toBe(`"${createHash('md5').update(md5s).digest('hex')}-3"`);

    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'big/object' }));
    expect([head.ContentLength, head.ContentType, head.Metadata, head.ETag]).toEqual([whole.length, 'video/mp4', { camera: 'a' }, done.ETag]);
    const got = await cluster.s3('n3').send(new GetObjectCommand({ Bucket, Key: 'big/object' }));
    expect(sha256(await got.Body!.transformToByteArray())).toBe(sha256(whole));
    for (const [start, end] of [
      [0, 0],
      [5 * MiB - 10, 5 * MiB + 9],
      [5 * MiB - 1, 10 * MiB + 5],
      [whole.length - 100, whole.length - 1],
    ] as const) {
      const ranged = await s3.send(new GetObjectCommand({ Bucket, Key: 'big/object', Range: `bytes=${start}-${end}` }));
      expect(Buffer.from(await ranged.Body!.transformToByteArray()).equals(whole.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket }))).Uploads ?? []).toEqual([]);
  });

  it('rejects a wrong part ETag (InvalidPart) and a small middle part (EntityTooSmall)', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'bad' }));
    const a = await s3.send(new UploadPartCommand({ Bucket, Key: 'bad', UploadId, PartNumber: 1, Body: randomBody(1000) }));
    const b = await s3.send(new UploadPartCommand({ Bucket, Key: 'bad', UploadId, PartNumber: 2, Body: randomBody(1000) }));
    await expect(
      s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'bad', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"0123456789abcdef0123456789abcdef"' }] } })),
    ).rejects.toMatchObject({ name: 'InvalidPart', $metadata: { httpStatusCode: 400 } });
    await expect(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key: 'bad',
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: a.ETag },
              { PartNumber: 2, ETag: b.ETag },
            ],
          },
        }),
      ),
    ).rejects.toMatchObject({ name: 'EntityTooSmall', $metadata: { httpStatusCode: 400 } });
    await expect(s3.send(new HeadObjectCommand({ Bucket, Key: 'bad' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });

    await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: 'bad', UploadId }));
    await expect(s3.send(new ListPartsCommand({ Bucket, Key: 'bad', UploadId }))).rejects.toMatchObject({ name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } });
    await expect(s3.send(new UploadPartCommand({ Bucket, Key: 'bad', UploadId, PartNumber: 3, Body: 'x' }))).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(s3.send(new UploadPartCommand({ Bucket, Key: 'bad', UploadId: 'f'.repeat(32), PartNumber: 1, Body: 'x' }))).rejects.toMatchObject({ name: 'NoSuchUpload' });
  });
});
