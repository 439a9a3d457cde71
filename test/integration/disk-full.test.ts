/**
 * A full disk (ENOSPC), on a real small tmpfs holding the data dir of a one-node cluster: a PUT
 * that does not fit gets 503 ServiceUnavailable with a message that says why, leaves no temp or
 * blob file behind, reads of existing objects go on, /ready says the store cannot write, and
 * once space is freed (outside ringstore) /ready recovers by itself and writes succeed again.
 * Then three nodes, two of them on a 12 MiB tmpfs each (O_DIRECT there: a full disk first shows
 * as a short direct write, which must still count as ENOSPC). Needs root; skipped otherwise.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { TestCluster } from '../helpers/cluster.js';
import { randomBody, sha256 } from '../helpers/data.js';

const MiB = 1024 * 1024;

function mountTmpfs(dir: string, size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
}

async function blobDirFiles(dataDir: string): Promise<string[]> {
  const entries = await readdir(join(dataDir, 'blobs'), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

async function ready(port: number): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/ready`);
  return { status: res.status, text: await res.text() };
}

// Mounting needs root; the mount itself happens in beforeAll, so a filtered run leaves none behind.
const mounted = process.getuid?.() === 0;

describe.skipIf(!mounted)('full disk (ENOSPC on a 32 MiB tmpfs)', () => {
  let cluster: TestCluster;
  let s3: S3Client;
  const Bucket = 'full-disk';
  let mountPoint = '';
  let dataDir = '';
  let filler = '';

  beforeAll(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), 'ringstore-full-'));
    mountTmpfs(mountPoint, '32m');
    dataDir = join(mountPoint, 'data');
    filler = join(mountPoint, 'filler');
    cluster = await TestCluster.start({
      nodes: 1,
      config: { dataDir, replication: { factor: 1, readQuorum: 1, writeQuorum: 1 }, store: { blobDeleteDelayMs: 0 } },
    });
    s3 = cluster.s3();
    await s3.send(new CreateBucketCommand({ Bucket }));
  });
  afterAll(async () => {
    s3?.destroy();
    await cluster?.stop();
    if (mountPoint !== '') {
      execFileSync('umount', [mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    }
  });

  it('answers 503 with a clear message, leaks nothing, keeps serving reads, and recovers once space is freed', async () => {
    const existing = randomBody(2 * MiB);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'existing', Body: existing }));
    expect(await blobDirFiles(dataDir)).toHaveLength(1);

    // Leave ~6 MiB free: a 10 MiB body cannot fit.
    const { bavail, bsize } = await statfs(mountPoint);
    await writeFile(filler, Buffer.alloc(Math.max(0, bavail * bsize - 6 * MiB)));
    const err = await s3.send(new PutObjectCommand({ Bucket, Key: 'too-big', Body: randomBody(10 * MiB) })).then(
      () => undefined,
      (e: unknown) => e as { name: string; message: string; $metadata: { httpStatusCode?: number } },
    );
    expect(err?.$metadata.httpStatusCode).toBe(503);
    expect(err?.name).toBe('ServiceUnavailable');
    expect(err?.message).toMatch(/Insufficient storage: a replica has no free disk space/);

    // Nothing half-written: no temp file, no blob besides the existing object's.
    expect(await blobDirFiles(dataDir)).toHaveLength(1);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'existing' }));
    expect(sha256(Buffer.from(await got.Body!.transformToByteArray()))).toBe(sha256(existing));
    const notReady = await ready(cluster.node('n1').rpcPort);
    expect(notReady.status).toBe(503);
    expect(notReady.text).toMatch(/store: cannot write \(ENOSPC at \d{4}-\d\d-\d\dT/);

    // Space comes back without any write through ringstore: the store's probe notices.
    await rm(filler);
    const deadline = Date.now() + 30_000;
    let now = await ready(cluster.node('n1').rpcPort);
    while (now.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      now = await ready(cluster.node('n1').rpcPort);
    }
    expect(now).toEqual({ status: 200, text: 'ready\n' });
    const fits = randomBody(10 * MiB);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'fits', Body: fits }));
    const back = await s3.send(new GetObjectCommand({ Bucket, Key: 'fits' }));
    expect(sha256(Buffer.from(await back.Body!.transformToByteArray()))).toBe(sha256(fits));
    expect(await blobDirFiles(dataDir)).toHaveLength(2);
  });
});

describe.skipIf(!mounted)('full disks on two of three nodes', () => {
  let cluster: TestCluster;
  let s3: S3Client;
  const Bucket = 'full-disks';
  const mounts: string[] = [];

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
    // n2 and n3 restart on a small tmpfs each: a remote replica's ENOSPC crosses the RPC layer.
    for (const id of ['n2', 'n3']) {
      const node = cluster.node(id);
      await cluster.kill(id);
      await rm(node.dataDir, { recursive: true, force: true });
      await mkdir(node.dataDir);
      mountTmpfs(node.dataDir, '12m');
      mounts.push(node.dataDir);
      await cluster.startNode(id);
    }
    // Both restarted empty, so they refuse reads until refilled; CreateBucket reads first.
    await Promise.all(['n2', 'n3'].map((id) => cluster.node(id).proc.waitRefilled(30_000)));
    s3 = cluster.s3();
    await s3.send(new CreateBucketCommand({ Bucket }));
  });
  afterAll(async () => {
    s3?.destroy();
    // The processes go first, then the mounts, then the data dirs (stop() removes them).
    for (const node of cluster?.nodes ?? []) await cluster.kill(node.id);
    for (const dir of mounts) execFileSync('umount', [dir]);
    await cluster?.stop();
  });

  it('answers 503 when the write quorum fails for full disks, leaves no temp file on any node, and the full nodes are not ready', async () => {
    const err = await s3.send(new PutObjectCommand({ Bucket, Key: 'too-big', Body: randomBody(20 * MiB) })).then(
      () => undefined,
      (e: unknown) => e as { name: string; message: string; $metadata: { httpStatusCode?: number } },
    );
    expect(err?.$metadata.httpStatusCode).toBe(503);
    expect(err?.name).toBe('ServiceUnavailable');
    // The message names the full disk when a replica's answer reaches the coordinator; a peer
    // that stops reading the upload can instead surface as EPIPE (then the generic 503 text).
    for (const node of cluster.nodes) expect(await blobDirFiles(node.dataDir)).toEqual([]);
    const notReady = await ready(cluster.node('n2').rpcPort);
    expect(notReady.text).toMatch(/store: cannot write \(ENOSPC/);
    expect((await ready(cluster.node('n1').rpcPort)).status).toBe(200);
  });
});
