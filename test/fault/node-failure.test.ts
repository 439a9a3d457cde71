/**
 * Faults on real processes: with one of three nodes killed (-9) or paused (SIGSTOP), PUT and
 * GET of new and existing objects still succeed (N=3, R=W=2); a restarted node serves its
 * replicas again and is brought up to date by read repair.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { TestCluster, CLUSTER_SECRET } from '../helpers/cluster.js';
import { randomBody, sha256 } from '../helpers/data.js';
import { RpcClient } from '../../src/rpc/client.js';
import { silentLogger } from '../../src/util/logger.js';

describe('node failures', () => {
  let cluster: TestCluster;
  let s3: S3Client;
  const bucket = 'faults';
  const objects = new Map<string, string>();

  async function put(client: S3Client, key: string, size: number): Promise<void> {
    const body = randomBody(size);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    objects.set(key, sha256(body));
  }

  async function expectAllReadable(client: S3Client): Promise<void> {
    for (const [key, digest] of objects) {
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(sha256(await got.Body!.transformToByteArray()), key).toBe(digest);
    }
  }

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
    s3 = cluster.s3('n1');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await put(s3, 'before/small', 1000);
    await put(s3, 'before/large', 2 * 1024 * 1024);
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') for (const n of cluster.nodes) console.log(`--- ${n.id}\n${n.log.slice(-15).join('\n')}`);
  });
  afterAll(async () => {
    s3?.destroy();
    await cluster?.stop();
  });

  // Each test starts from a whole cluster and leaves it whole: it brings back what it killed.
  it('keeps serving reads and writes with one node killed -9', async () => {
    await cluster.kill('n3');
    try {
      await put(s3, 'during/small', 500);
      await put(s3, 'during/large', 3 * 1024 * 1024);
      await expectAllReadable(s3);
      const n2 = cluster.s3('n2');
      await expectAllReadable(n2);
      const listed = await n2.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect(listed.Contents?.map((o) => o.Key)).toEqual(['before/large', 'before/small', 'during/large', 'during/small']);
      n2.destroy();
    } finally {
      await cluster.startNode('n3');
    }
  });

  it('serves its replicas again after a restart, repaired by reads', async () => {
    await cluster.kill('n3');
    await put(s3, 'missed/small', 600);
    await put(s3, 'missed/large', 2 * 1024 * 1024);
    await cluster.startNode('n3');
    const n3 = cluster.s3('n3');
    await expectAllReadable(n3);
    // Read repair runs in the background once every replica answered; n3 then holds every object itself.
    const rpc = new RpcClient({ nodeId: 'test', secret: CLUSTER_SECRET, timeoutMs: 3000, logger: silentLogger });
    const replica = rpc.replica('n3', `127.0.0.1:${cluster.node('n3').rpcPort}`);
    const deadline = Date.now() + 10_000;
    let missing: string[] = [...objects.keys()];
    while (missing.length > 0 && Date.now() < deadline) {
      const held = await Promise.all(missing.map(async (key) => ((await replica.head(bucket, key)) ? undefined : key)));
      missing = held.filter((k): k is string => k !== undefined);
      if (missing.length > 0) await new Promise((r) => setTimeout(r, 200));
    }
    await rpc.close();
    expect(missing).toEqual([]);
    // With n1 gone, n2 and n3 form the quorum on their own.
    await cluster.kill('n1');
    try {
      await expectAllReadable(n3);
      await put(n3, 'after/small', 100);
      n3.destroy();
    } finally {
      await cluster.startNode('n1');
    }
  });

  it('answers within the replica timeout while a node is paused (SIGSTOP)', async () => {
    cluster.pause('n2');
    try {
      const started = Date.now();
      await put(s3, 'paused/small', 700);
      await put(s3, 'paused/large', 1024 * 1024);
      await expectAllReadable(s3);
      // rpc.timeoutMs is 3 s in the test cluster; the failure detector marks n2 down after ~1 s.
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      cluster.resume('n2');
    }
  });
});
