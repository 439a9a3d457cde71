/**
 * A full disk (ENOSPC), on a real small tmpfs holding the data dir of a one-node cluster: a PUT
 * that does not fit gets 503 ServiceUnavailable with a message that says why, leaves no temp or
 * blob file behind, reads of existing objects go on, /ready says the store cannot write, and
 * once space is freed (outside ringstore) /ready recovers by itself and writes succeed again.
 * Needs root to mount the tmpfs; skipped otherwise.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { TestCluster } from '../helpers/cluster.js';
import { randomBody, sha256 } from '../helpers/data.js';

const MiB = 1024 * 1024;

function tryMountTmpfs(dir: string, size: string): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function blobDirFiles(dataDir: string): Promise<string[]> {
  const entries = await readdir(join(dataDir, 'blobs'), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

async function ready(port: number): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/ready`);
  return { status: res.status, text: await res.text() };
}

const mountPoint = await mkdtemp(join(tmpdir(), 'ringstore-full-'));
const mounted = tryMountTmpfs(mountPoint, '32m');

describe.skipIf(!mounted)('full disk (ENOSPC on a 32 MiB tmpfs)', () => {
  let cluster: TestCluster;
  let s3: S3Client;
  const Bucket = 'full-disk';
  const dataDir = join(mountPoint, 'data');
  const filler = join(mountPoint, 'filler');

  beforeAll(async () => {
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
    if (mounted) execFileSync('umount', [mountPoint]);
    await rm(mountPoint, { recursive: true, force: true });
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
