/**
 * A 1 GiB object streams through a node without being held in memory: every process's RSS
 * stays under 200 MiB during the PUT and the GET.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { TestCluster } from '../helpers/cluster.js';
import { digestStream, patternStream } from '../helpers/data.js';

const GiB = 1024 * 1024 * 1024;
const LIMIT = 200 * 1024 * 1024;

describe('memory stays bounded for a 1 GiB object', () => {
  let cluster: TestCluster;
  let s3: S3Client;
  const peak = new Map<string, number>();
  let sampler: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
    s3 = cluster.s3('n1');
    await s3.send(new CreateBucketCommand({ Bucket: 'big' }));
    sampler = setInterval(() => {
      for (const node of cluster.nodes) {
        cluster.rss(node.id).then(
          (rss) => peak.set(node.id, Math.max(peak.get(node.id) ?? 0, rss)),
          () => {},
        );
      }
    }, 50);
  });
  afterAll(async () => {
    if (sampler) clearInterval(sampler);
    s3?.destroy();
    await cluster?.stop();
  });

  it('PUTs and GETs 1 GiB byte-identical with every RSS under 200 MiB', async () => {
    const { stream, digest } = patternStream(GiB, 3);
    await s3.send(new PutObjectCommand({ Bucket: 'big', Key: 'one-gib', Body: stream, ContentLength: GiB }));
    const expected = await digest;
    const got = await s3.send(new GetObjectCommand({ Bucket: 'big', Key: 'one-gib' }));
    expect(await digestStream(got.Body as AsyncIterable<Uint8Array>)).toEqual({ sha256: expected, size: GiB });
    const mib = Object.fromEntries([...peak].map(([id, rss]) => [id, Math.round(rss / 1024 / 1024)]));
    console.log(`peak RSS MiB: ${JSON.stringify(mib)}`);
    expect(peak.size).toBe(3);
    for (const [id, rss] of peak) expect(rss, `${id} peak RSS`).toBeLessThan(LIMIT);
  });
});
