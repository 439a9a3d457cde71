/**
 * Corrupt copies, end to end: 3 real nodes, a 5 MiB object, 16 bytes flipped in one node's
 * blob file behind its back. Reads through that node must return the exact original bytes
 * (full and ranged: the AWS CLI downloads large files with ranged GETs), the corrupt copy must
 * be quarantined and replaced from a good replica, and when every copy is corrupt a GET must
 * fail rather than return wrong bytes.
 */
import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { TestCluster, type TestNode } from '../helpers/cluster.js';
import { randomBody, sha256 } from '../helpers/data.js';

const MiB = 1024 * 1024;
const SIZE = 5 * MiB;
/** The middle of the object, inside its third 1 MiB block. */
const FLIP_AT = Math.floor(SIZE / 2);
const FLIP_BYTES = 16;

async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile() && /^[0-9a-f]{32}$/.test(e.name)).map((e) => join(e.parentPath, e.name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

const blobFiles = (node: TestNode): Promise<string[]> => filesUnder(join(node.dataDir, 'blobs'));
const quarantined = (node: TestNode): Promise<string[]> => filesUnder(join(node.dataDir, 'quarantine'));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function flip(path: string, at: number, length: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const bytes = Buffer.alloc(length);
    await fh.read(bytes, 0, length, at);
    for (let i = 0; i < length; i++) bytes[i] = bytes[i]! ^ 0xff;
    await fh.write(bytes, 0, length, at);
  } finally {
    await fh.close();
  }
}

/** The value of one counter series on a node's /metrics (0 when absent). */
async function metric(node: TestNode, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${node.rpcPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('corrupt blob copies', () => {
  let cluster: TestCluster;
  let s3: S3Client;
  const bucket = 'corrupt';

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
    s3 = cluster.s3('n1');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => {
    s3?.destroy();
    await cluster?.stop();
  });

  /** PUTs a fresh 5 MiB object and returns its body and, per node, the blob file that holds it. */
  async function putObject(key: string): Promise<{ body: Buffer; files: Map<string, string> }> {
    const before = new Map<string, Set<string>>();
    for (const node of cluster.nodes) before.set(node.id, new Set(await blobFiles(node)));
    const body = randomBody(SIZE);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const files = new Map<string, string>();
    for (const node of cluster.nodes) {
      // The third replica may commit just after the answer.
      const file = await waitFor(`the blob of ${key} on ${node.id}`, async () => (await blobFiles(node)).find((f) => !before.get(node.id)!.has(f)));
      files.set(node.id, file);
    }
    return { body, files };
  }

  async function get(key: string, range?: string): Promise<Buffer> {
    const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(range !== undefined && { Range: range }) }));
    return Buffer.from(await answer.Body!.transformToByteArray());
  }

  it('serves a full GET through the corrupt node byte-identical, then replaces its copy from a good replica', async () => {
    const { body, files } = await putObject('full.bin');
    const bad = files.get('n1')!;
    await flip(bad, FLIP_AT, FLIP_BYTES);
    const n1 = cluster.node('n1');
    const readsBefore = await metric(n1, 'ringstore_corrupt_reads_total');
    // n1 serves its two good blocks, finds the third corrupt and the rest comes from another holder.
    expect(sha256(await get('full.bin'))).toBe(sha256(body));
    expect(await metric(n1, 'ringstore_corrupt_reads_total')).toBe(readsBefore + 1);
    expect(await metric(n1, 'ringstore_corrupt_bodies_total{storage="blob"}')).toBeGreaterThanOrEqual(1);
    const replaced = await waitFor('n1 to hold a good copy again', async () => {
      for (const f of await blobFiles(cluster.node('n1'))) {
        if (f === bad || f === files.get('n1')) continue;
        const data = await readFile(f).catch(() => undefined);
        if (data !== undefined && data.length === SIZE && sha256(data) === sha256(body)) return f;
      }
      return undefined;
    });
    expect(replaced).toBeDefined();
    const evidence = (await quarantined(cluster.node('n1'))).find((f) => f.endsWith(bad.slice(-32)));
    expect(evidence).toBeDefined();
    const kept = await readFile(evidence!);
    expect(kept.subarray(FLIP_AT, FLIP_AT + FLIP_BYTES).equals(body.subarray(FLIP_AT, FLIP_AT + FLIP_BYTES))).toBe(false);
    // And the repaired node serves it again, from its own copy.
    expect(sha256(await get('full.bin'))).toBe(sha256(body));
    expect(await metric(n1, 'ringstore_corrupt_reads_total')).toBe(readsBefore + 1);
  });

  it('serves ranged GETs through the corrupt node byte-identical, whether or not they cover the flipped bytes', async () => {
    const { body, files } = await putObject('ranged.bin');
    await flip(files.get('n1')!, FLIP_AT, FLIP_BYTES);
    const ranges: Array<[number, number]> = [
      [0, 999],
      [4 * MiB, SIZE - 1],
      [MiB - 100, 2 * MiB - 1],
      // These cover the flipped bytes: the first one meets the corruption on n1.
      [FLIP_AT - 8, FLIP_AT + 8],
      [2 * MiB, 3 * MiB - 1],
      [0, SIZE - 1],
    ];
    for (const [start, end] of ranges) {
      const got = await get('ranged.bin', `bytes=${start}-${end}`);
      expect(got.length, `bytes=${start}-${end}`).toBe(end - start + 1);
      expect(got.equals(body.subarray(start, end + 1)), `bytes=${start}-${end}`).toBe(true);
    }
    await waitFor('n1 to quarantine its copy', async () => ((await quarantined(cluster.node('n1'))).some((f) => f.endsWith(files.get('n1')!.slice(-32))) ? true : undefined));
  });

  it('fails a GET, and never returns wrong bytes, when every copy is corrupt', async () => {
    const { body, files } = await putObject('all-bad.bin');
    for (const file of files.values()) await flip(file, FLIP_AT, FLIP_BYTES);
    const outcomes: string[] = [];
    for (const range of [undefined, `bytes=${FLIP_AT - 8}-${FLIP_AT + 8}`]) {
      try {
        const got = await get('all-bad.bin', range);
        const want = range === undefined ? body : body.subarray(FLIP_AT - 8, FLIP_AT + 9);
        outcomes.push(got.equals(want) ? 'ok' : 'wrong bytes');
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        outcomes.push(status === undefined ? 'cut' : String(status));
      }
    }
    // The full GET gets its 200 and two good blocks from n1 before every holder proves corrupt
    // at the third: the connection is cut. The copies asked are quarantined by then, so the
    // ranged GET finds no holder with a body before anything is sent: 503.
    expect(outcomes).toEqual(['cut', '503']);
  });
});
