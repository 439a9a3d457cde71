/**
 * Disk leaks, checked on the real files of three real nodes: the parts of a completed multipart
 * object go away from every node's blobs/ once the object is overwritten or deleted (parts-gc),
 * the parts of an upload in progress survive every pass, and a node killed with -9 in the middle
 * of a write finds its temp file and other leftovers collected when it starts again (store-gc).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { TestCluster } from '../helpers/cluster.js';
import { randomBody, sha256 } from '../helpers/data.js';

const MiB = 1024 * 1024;
const GC_INTERVAL_MS = 300;
const BLOB_ID = /^[0-9a-f]{32}$/;
const TEMP = /^[0-9a-f]{32}\.tmp$/;

/** Blob files and temp files under one node's blobs/ directory. */
async function blobFiles(dataDir: string): Promise<{ blobs: string[]; temps: string[] }> {
  const entries = await readdir(join(dataDir, 'blobs'), { recursive: true, withFileTypes: true });
  const names = entries.filter((e) => e.isFile()).map((e) => e.name);
  return { blobs: names.filter((n) => BLOB_ID.test(n)).sort(), temps: names.filter((n) => TEMP.test(n)) };
}

async function waitFor<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await probe();
  }
  return last;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('disk garbage collection', () => {
  let cluster: TestCluster;
  let s3: S3Client;
  const Bucket = 'disk-gc';

  const counts = async (): Promise<number[]> => Promise.all(cluster.nodes.map(async (n) => (await blobFiles(n.dataDir)).blobs.length));

  async function multipartObject(Key: string, complete = true): Promise<{ UploadId: string; etags: string[]; body: Buffer }> {
    const parts = [randomBody(5 * MiB), randomBody(5 * MiB), randomBody(1 * MiB)];
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const etags: string[] = [];
    for (const [i, Body] of parts.entries()) etags.push((await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body }))).ETag!);
    if (complete) await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
    return { UploadId: UploadId!, etags, body: Buffer.concat(parts) };
  }

  async function getBody(Key: string, node = 'n1'): Promise<Buffer> {
    const got = await cluster.s3(node).send(new GetObjectCommand({ Bucket, Key }));
    return Buffer.from(await got.Body!.transformToByteArray());
  }

  beforeAll(async () => {
    cluster = await TestCluster.start({
      nodes: 3,
      // Short GC periods so a test sees several passes; orphanAgeMs stays well above any write.
      config: { store: { gcIntervalMs: GC_INTERVAL_MS, orphanAgeMs: 60_000, partGraceMs: 0, blobDeleteDelayMs: 200 } },
    });
    s3 = cluster.s3();
    await s3.send(new CreateBucketCommand({ Bucket }));
  });
  afterAll(async () => {
    s3?.destroy();
    await cluster?.stop();
  });

  it('deletes the part blobs of a multipart object from every node once it is overwritten', async () => {
    await multipartObject('overwritten');
    // N = 3 on 3 nodes: every node holds the 3 part blobs; the manifest record is inline.
    expect(await counts()).toEqual([3, 3, 3]);
    const small = randomBody(1000);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'overwritten', Body: small }));
    expect(await waitFor('part blobs collected', counts, (c) => c.every((n) => n === 0))).toEqual([0, 0, 0]);
    expect(sha256(await getBody('overwritten', 'n2'))).toBe(sha256(small));
  });

  it('deletes the part blobs of a multipart object from every node once it is deleted', async () => {
    const { body } = await multipartObject('deleted');
    expect(sha256(await getBody('deleted', 'n3'))).toBe(sha256(body));
    expect(await counts()).toEqual([3, 3, 3]);
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'deleted' }));
    expect(await waitFor('part blobs collected', counts, (c) => c.every((n) => n === 0))).toEqual([0, 0, 0]);
  });

  it('keeps every part of an upload in progress through many passes, and the completed object reads back', async () => {
    const Key = 'in-progress';
    const { UploadId, etags, body } = await multipartObject(Key, false);
    expect(await counts()).toEqual([3, 3, 3]);
    // Parts are past their grace (0 ms) and no object references them yet: only the live
    // upload record keeps them. Ten GC intervals give each node several passes.
    await sleep(10 * GC_INTERVAL_MS);
    expect(await counts()).toEqual([3, 3, 3]);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
    await sleep(10 * GC_INTERVAL_MS);
    expect(await counts()).toEqual([3, 3, 3]);
    expect(sha256(await getBody(Key, 'n2'))).toBe(sha256(body));
    await s3.send(new DeleteObjectCommand({ Bucket, Key }));
    await waitFor('part blobs collected', counts, (c) => c.every((n) => n === 0));
  });

  it('collects the temp file of a write cut by kill -9, and other leftovers, when the node starts again', async () => {
    const kept = randomBody(2 * MiB);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'kept', Body: kept }));
    const n2 = cluster.node('n2');
    const before = await blobFiles(n2.dataDir);
    expect(before).toEqual({ blobs: [expect.stringMatching(BLOB_ID)], temps: [] });

    // A PUT whose body arrives slowly: n2 is writing its temp file when it is killed.
    const stream = new PassThrough();
    const size = 8 * MiB;
    const put = s3.send(new PutObjectCommand({ Bucket, Key: 'cut', Body: stream, ContentLength: size }));
    stream.write(randomBody(4 * MiB));
    await waitFor(
      'a temp file on n2',
      () => blobFiles(n2.dataDir),
      (f) => f.temps.length > 0,
    );
    await cluster.kill('n2');
    stream.end(randomBody(4 * MiB));
    await put; // W = 2 of n1 and n3
    const afterKill = await blobFiles(n2.dataDir);
    expect(afterKill.temps).toHaveLength(1);
    // What else a crash leaves: a blob no record references (a replaced body whose delete was
    // still pending, a body staged for a commit that never came).
    const planted = 'ab'.repeat(16);
    await writeFile(join(n2.dataDir, 'blobs', 'ab', planted), randomBody(1000));

    await cluster.startNode('n2');
    const after = await blobFiles(n2.dataDir);
    expect(after).toEqual({ blobs: before.blobs, temps: [] });
    expect(sha256(await getBody('kept', 'n2'))).toBe(sha256(kept));
  });
});
