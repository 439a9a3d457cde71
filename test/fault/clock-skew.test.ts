/**
 * Clock skew on real processes: n1 runs under libfaketime one second ahead (`FAKETIME=+1s`),
 * n2 and n3 keep the real time. Before the skew check, n1 accepted writes and stamped them a
 * second in the future, so a PUT or DELETE through n2 right after one through n1 answered 200
 * and was hidden by the earlier write. Now n1 measures its peers' clocks from the pings, sees
 * it disagrees with the majority and refuses every write with 503 (saying why in the error,
 * /ready, its log and its metrics) while serving reads; n2 and n3 keep accepting writes, and a
 * later write always wins.
 */
import { existsSync } from 'node:fs';
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { TestCluster } from '../helpers/cluster.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const bucket = 'skew';

/** The S3 error an SDK call failed with: status, code and message. */
async function failure(pending: Promise<unknown>): Promise<{ status: number | undefined; code: string; message: string }> {
  try {
    await pending;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { status: e.$metadata?.httpStatusCode, code: e.name, message: e.message };
  }
  return { status: 200, code: 'OK', message: '' };
}

async function readyText(cluster: TestCluster, id: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${cluster.node(id).rpcPort}/ready`, { signal: AbortSignal.timeout(2000) });
  return { status: res.status, text: await res.text() };
}

async function bodyOf(s3: S3Client, key: string): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return got.Body!.transformToString();
}

describe.skipIf(!existsSync(LIBFAKETIME))('one node with its clock 1 s ahead (libfaketime)', () => {
  let cluster: TestCluster;
  let skewed: S3Client;
  let honest: S3Client;
  let other: S3Client;

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3, nodeEnv: { n1: { LD_PRELOAD: LIBFAKETIME, FAKETIME: '+1s' } } });
    skewed = cluster.s3('n1');
    honest = cluster.s3('n2');
    other = cluster.s3('n3');
    // Bounded: with 500 ms pings, n1 knows within a round or two after its peers are up.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await readyText(cluster, 'n1')).status === 200) await new Promise((r) => setTimeout(r, 200));
    await honest.send(new CreateBucketCommand({ Bucket: bucket }));
    await honest.send(new CreateBucketCommand({ Bucket: 'skew-empty' }));
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') for (const n of cluster.nodes) console.log(`--- ${n.id}\n${n.log.slice(-15).join('\n')}`);
  });
  afterAll(async () => {
    for (const c of [skewed, honest, other]) c?.destroy();
    await cluster?.stop();
  });

  it('the skewed node says why it is not ready; the others are ready', async () => {
    const n1 = await readyText(cluster, 'n1');
    expect(n1.status).toBe(503);
    expect(n1.text).toMatch(/clock: .*\+\d+ ms from the cluster median.*cluster\.maxClockOffsetMs \(250 ms\).*refusing writes/);
    expect((await readyText(cluster, 'n2')).status).toBe(200);
    expect((await readyText(cluster, 'n3')).status).toBe(200);
  });

  it('the skewed node refuses every kind of write with 503 ServiceUnavailable naming its offset and the bound', async () => {
    const writes = {
      PutObject: failure(skewed.send(new PutObjectCommand({ Bucket: bucket, Key: 'refused', Body: 'x' }))),
      DeleteObject: failure(skewed.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'refused' }))),
      CreateMultipartUpload: failure(skewed.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'refused' }))),
      CreateBucket: failure(skewed.send(new CreateBucketCommand({ Bucket: 'skew-new' }))),
      DeleteBucket: failure(skewed.send(new DeleteBucketCommand({ Bucket: 'skew-empty' }))),
    };
    for (const [op, pending] of Object.entries(writes)) {
      const f = await pending;
      expect(f, op).toMatchObject({ status: 503, code: 'ServiceUnavailable' });
      expect(f.message, op).toMatch(/clock is \+\d+ ms from the cluster median.*cluster\.maxClockOffsetMs \(250 ms\)/);
    }
  });

  it('the skewed node still serves reads; the other two accept writes', async () => {
    await honest.send(new PutObjectCommand({ Bucket: bucket, Key: 'readable', Body: 'from n2' }));
    await other.send(new PutObjectCommand({ Bucket: bucket, Key: 'readable-too', Body: 'from n3' }));
    expect(await bodyOf(skewed, 'readable')).toBe('from n2');
    expect(await bodyOf(skewed, 'readable-too')).toBe('from n3');
  });

  it('a PUT through an honest node after a PUT through the skewed one always wins', async () => {
    for (let i = 0; i < 10; i++) {
      const key = `race/${i}`;
      await failure(skewed.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `first ${i}` })));
      await honest.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `second ${i}` }));
      expect(await bodyOf(other, key)).toBe(`second ${i}`);
    }
  });

  it('a DELETE through an honest node after a PUT through the skewed one is never undone', async () => {
    for (let i = 0; i < 5; i++) {
      const key = `deleted/${i}`;
      await honest.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'old' }));
      await failure(skewed.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `resurrected ${i}` })));
      await honest.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      expect((await failure(other.send(new GetObjectCommand({ Bucket: bucket, Key: key })))).code).toBe('NoSuchKey');
    }
  });

  it('the skewed node logs the skew and exposes it as metrics', async () => {
    expect(cluster.node('n1').log.some((line) => line.includes('clock skewed'))).toBe(true);
    const metrics = await (await fetch(`http://127.0.0.1:${cluster.node('n1').rpcPort}/metrics`)).text();
    expect(metrics).toMatch(/^ringstore_clock_skewed 1$/m);
    const offset = Number(/^ringstore_clock_offset_seconds (\S+)$/m.exec(metrics)?.[1]);
    expect(offset).toBeGreaterThan(0.7);
    expect(offset).toBeLessThan(1.3);
    expect(Number(/^ringstore_clock_refused_writes_total (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    const honestMetrics = await (await fetch(`http://127.0.0.1:${cluster.node('n2').rpcPort}/metrics`)).text();
    expect(honestMetrics).toMatch(/^ringstore_clock_skewed 0$/m);
    expect(Number(/^ringstore_clock_peer_offset_seconds\{peer="n1"\} (\S+)$/m.exec(honestMetrics)?.[1])).toBeGreaterThan(0.7);
  });
});
