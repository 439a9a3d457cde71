/**
 * Multipart details and later-start-wins, against one 3-node cluster: GetObject/HeadObject with
 * `partNumber` on multipart and plain objects; a repeated CompleteMultipartUpload answers 200
 * with the same ETag; of two overlapping PUTs of one key (or two uploads of one part number) the
 * later-started wins although the earlier one streams slowly and finishes last; and the error
 * cases, table-driven (status and XML code).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { TestCluster } from '../helpers/cluster.js';
import { randomBody } from '../helpers/data.js';
import { FuzzClient, codeOf, signRaw } from '../helpers/fuzz-client.js';

const MiB = 1024 * 1024;
const Bucket = 'details';
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('multipart details and later-start-wins', () => {
  let cluster: TestCluster;
  let s3: S3Client;
  let raw: FuzzClient;
  const parts = [randomBody(5 * MiB), randomBody(5 * MiB), randomBody(1234)];
  const plain = randomBody(3000);
  let multipartEtag = '';
  let uploadId = '';

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
    s3 = cluster.s3();
    raw = new FuzzClient(cluster);
    await s3.send(new CreateBucketCommand({ Bucket }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mp', ContentType: 'video/mp4' }));
    uploadId = UploadId!;
    const etags = [];
    for (const [i, Body] of parts.entries()) etags.push((await s3.send(new UploadPartCommand({ Bucket, Key: 'mp', UploadId, PartNumber: i + 1, Body }))).ETag!);
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'mp', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
    multipartEtag = done.ETag!;
    await s3.send(new PutObjectCommand({ Bucket, Key: 'plain', Body: plain }));
  }, 60_000);
  afterAll(async () => {
    s3?.destroy();
    await raw?.close();
    await cluster?.stop();
  });

  it('GET and HEAD with partNumber on a multipart object: each part as a 206 of the whole, parts count and the whole ETag', async () => {
    const total = parts.reduce((n, p) => n + p.length, 0);
    let start = 0;
    for (const [i, part] of parts.entries()) {
      const end = start + part.length - 1;
      const got = await cluster.s3(`n${(i % 3) + 1}`).send(new GetObjectCommand({ Bucket, Key: 'mp', PartNumber: i + 1 }));
      expect(got.$metadata.httpStatusCode).toBe(206);
      expect([got.ContentRange, got.ContentLength, got.PartsCount, got.ETag, got.ContentType]).toEqual([`bytes ${start}-${end}/${total}`, part.length, 3, multipartEtag, 'video/mp4']);
      expect(md5(await got.Body!.transformToByteArray())).toBe(md5(part));
      const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'mp', PartNumber: i + 1 }));
      expect([head.$metadata.httpStatusCode, head.ContentRange, head.ContentLength, head.PartsCount, head.ETag]).toEqual([206, `bytes ${start}-${end}/${total}`, part.length, 3, multipartEtag]);
      start = end + 1;
    }
    // Without partNumber: the whole object, no parts count.
    const whole = await s3.send(new HeadObjectCommand({ Bucket, Key: 'mp' }));
    expect([whole.$metadata.httpStatusCode, whole.ContentLength, whole.PartsCount]).toEqual([200, total, undefined]);
  });

  it('partNumber=1 on a plain object is the whole object', async () => {
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'plain', PartNumber: 1 }));
    expect([got.$metadata.httpStatusCode, got.ContentRange, got.ContentLength, got.PartsCount, got.ETag]).toEqual([206, `bytes 0-2999/3000`, 3000, undefined, `"${md5(plain)}"`]);
    expect(md5(await got.Body!.transformToByteArray())).toBe(md5(plain));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'plain', PartNumber: 1 }));
    expect([head.$metadata.httpStatusCode, head.ContentLength]).toEqual([206, 3000]);
  });

  it('a repeated CompleteMultipartUpload answers 200 with the same ETag, Location, Bucket and Key', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'again' }));
    const body = randomBody(700);
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket, Key: 'again', UploadId, PartNumber: 1, Body: body }));
    const complete = () => s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'again', UploadId, MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] } }));
    const first = await complete();
    for (const node of ['n1', 'n3']) {
      const again = await cluster.s3(node).send(new CompleteMultipartUploadCommand({ Bucket, Key: 'again', UploadId, MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] } }));
      expect([again.$metadata.httpStatusCode, again.ETag, again.Location, again.Bucket, again.Key]).toEqual([200, first.ETag, first.Location, first.Bucket, first.Key]);
    }
    // Once the key holds another object, the upload is gone.
    await s3.send(new PutObjectCommand({ Bucket, Key: 'again', Body: 'replaced' }));
    await expect(complete()).rejects.toMatchObject({ name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } });
  });

  /**
   * Starts a signed PUT whose body sends one byte, then the rest only once `release` resolves;
   * resolves with its status once the answer is in.
   */
  function slowPut(path: string, query: string, body: Buffer, release: Promise<void>): Promise<{ status: number; etag: string | undefined }> {
    const { headers } = signRaw({ method: 'PUT', path, query, headers: { 'content-length': String(body.length) }, payloadHash: 'UNSIGNED-PAYLOAD' }, raw.host('n2'));
    const stream = Readable.from(
      (async function* () {
        yield body.subarray(0, 1);
        await release;
        yield body.subarray(1);
      })(),
    );
    return request(`${cluster.endpoint('n2')}${path}${query ? `?${query}` : ''}`, { method: 'PUT', headers, body: stream }).then(async (res) => {
      await res.body.text();
      const etag = res.headers['etag'];
      return { status: res.statusCode, etag: typeof etag === 'string' ? etag : undefined };
    });
  }

  it.each([
    ['inline', 200],
    ['staged', 512 * 1024],
  ])('of two overlapping PUTs of one key (%s), the later-started wins although the earlier finishes last', async (what, size) => {
    const key = `race-${what}`;
    const early = randomBody(size);
    const late = randomBody(size);
    let release!: () => void;
    const slow = slowPut(`/${Bucket}/${key}`, '', early, new Promise<void>((r) => (release = r)));
    await sleep(300);
    // Through another gateway, started well after the slow one arrived, and done first.
    await cluster.s3('n1').send(new PutObjectCommand({ Bucket, Key: key, Body: late }));
    release();
    expect((await slow).status).toBe(200);
    for (const node of ['n1', 'n2', 'n3']) {
      const got = await cluster.s3(node).send(new GetObjectCommand({ Bucket, Key: key }));
      expect(md5(await got.Body!.transformToByteArray()), `GET via ${node}`).toBe(md5(late));
    }
  });

  it('of two uploads of one part number, the later-started is the part although the earlier finishes last', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'part-race' }));
    const early = randomBody(256 * 1024);
    const late = randomBody(100 * 1024);
    let release!: () => void;
    const slow = slowPut(`/${Bucket}/part-race`, `partNumber=1&uploadId=${UploadId}`, early, new Promise<void>((r) => (release = r)));
    await sleep(300);
    const { ETag } = await cluster.s3('n3').send(new UploadPartCommand({ Bucket, Key: 'part-race', UploadId, PartNumber: 1, Body: late }));
    release();
    const slowAnswer = await slow;
    expect([slowAnswer.status, slowAnswer.etag]).toEqual([200, `"${md5(early)}"`]);
    const listed = await s3.send(new ListPartsCommand({ Bucket, Key: 'part-race', UploadId }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([[1, ETag, late.length]]);
    await expect(s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'part-race', UploadId, MultipartUpload: { Parts: [{ ETag: slowAnswer.etag, PartNumber: 1 }] } }))).rejects.toMatchObject({
      name: 'InvalidPart',
    });
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'part-race', UploadId, MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] } }));
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'part-race' }));
    expect(md5(await got.Body!.transformToByteArray())).toBe(md5(late));
  });

  it.each([
    ['GET partNumber past the last part of a multipart object', 'GET', '/details/mp', 'partNumber=4', {}, 416, 'InvalidPartNumber'],
    ['GET partNumber=2 of a plain object', 'GET', '/details/plain', 'partNumber=2', {}, 416, 'InvalidPartNumber'],
    ['HEAD partNumber=2 of a plain object', 'HEAD', '/details/plain', 'partNumber=2', {}, 416, undefined],
    ['partNumber with a Range header', 'GET', '/details/mp', 'partNumber=1', { range: 'bytes=0-9' }, 400, 'InvalidRequest'],
    ['partNumber=0', 'GET', '/details/mp', 'partNumber=0', {}, 400, 'InvalidArgument'],
    ['partNumber=10001', 'GET', '/details/mp', 'partNumber=10001', {}, 400, 'InvalidArgument'],
    ['partNumber=abc', 'GET', '/details/mp', 'partNumber=abc', {}, 400, 'InvalidArgument'],
    ['partNumber of a missing key', 'GET', '/details/missing', 'partNumber=1', {}, 404, 'NoSuchKey'],
    ['Complete of an unknown upload', 'POST', '/details/mp', 'uploadId=0123456789abcdef0123456789abcdef', {}, 404, 'NoSuchUpload'],
  ] as const)('%s → %i %s', async (_what, method, path, query, headers, status, code) => {
    const body = method === 'POST' ? Buffer.from('<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>') : undefined;
    const res = await raw.send({ method, path, query, headers, ...(body && { body }) });
    expect(res.status).toBe(status);
    if (code === undefined) expect(res.body.length).toBe(0);
    else expect(codeOf(res.text)).toBe(code);
  });

  it('a Complete repeated for an upload that completed into another key is NoSuchUpload', async () => {
    const res = await raw.send({
      method: 'POST',
      path: '/details/not-mp',
      query: `uploadId=${uploadId}`,
      body: Buffer.from(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"${md5(parts[0]!)}"</ETag></Part></CompleteMultipartUpload>`),
    });
    expect([res.status, codeOf(res.text)]).toEqual([404, 'NoSuchUpload']);
  });
});
