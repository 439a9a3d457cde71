/**
 * Scrub, end to end on real processes: 3 nodes, a 3 MiB object, bytes flipped in n1's blob file
 * behind its back and nothing reading it. `ringstore scrub --node n1 --wait` (the CLI, through the
 * admin API) runs a pass that finds the corrupt copy; n1 then holds a byte-identical good copy
 * again within 60 s (measured from the command's end), without any client read, and GETs through
 * every node return the original bytes.
 */
import { execFile } from 'node:child_process';
import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { TestCluster, type TestNode } from '../helpers/cluster.js';
import { randomBody, sha256 } from '../helpers/data.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const TOKEN = 'scrub-test-admin-token-0123456789';
const SIZE = 3 * 1024 * 1024;

async function blobFiles(node: TestNode): Promise<string[]> {
  const entries = await readdir(join(node.dataDir, 'blobs'), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && /^[0-9a-f]{32}$/.test(e.name)).map((e) => join(e.parentPath, e.name));
}

async function goodCopy(node: TestNode, body: Buffer): Promise<string | undefined> {
  for (const f of await blobFiles(node)) {
    const data = await readFile(f).catch(() => undefined);
    if (data !== undefined && data.length === body.length && sha256(data) === sha256(body)) return f;
  }
  return undefined;
}

describe('scrub on real nodes', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3, config: { admin: { token: TOKEN } } });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('finds a corrupt blob with `ringstore scrub --wait` and has it replaced from a good replica within 60 s, with no client read', async () => {
    const s3 = cluster.s3('n1');
    await s3.send(new CreateBucketCommand({ Bucket: 'scrub' }));
    const body = randomBody(SIZE);
    await s3.send(new PutObjectCommand({ Bucket: 'scrub', Key: 'obj', Body: body }));
    const n1 = cluster.node('n1');
    let file: string | undefined;
    for (let i = 0; i < 100 && file === undefined; i++) {
      file = await goodCopy(n1, body);
      if (file === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(file).toBeDefined();
    const fh = await open(file!, 'r+');
    await fh.write(Buffer.from('corrupted!'), 0, 10, 1_500_000);
    await fh.close();
    expect(await goodCopy(n1, body)).toBeUndefined();

    const cli = await promisify(execFile)(process.execPath, [MAIN, 'scrub', '--node', 'n1', '--wait', '--json', '--interval', '200', '--admin', `http://127.0.0.1:${n1.rpcPort}`], {
      env: { ...process.env, RINGSTORE_ADMIN_TOKEN: TOKEN },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    const doneAt = Date.now();
    // Exit 1: the pass found a corrupt copy (and had it repaired).
    expect(cli.code).toBe(1);
    const [report] = JSON.parse(cli.stdout) as { node: string; progress: { corruptions: number; running: boolean } }[];
    expect(report).toMatchObject({ node: 'n1', progress: { corruptions: 1, running: false } });

    let repaired: string | undefined;
    while (repaired === undefined && Date.now() - doneAt < 60_000) {
      repaired = await goodCopy(n1, body);
      if (repaired === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(repaired, 'n1 holds a good copy again within 60 s').toBeDefined();
    console.log(`scrub: corrupt copy replaced ${Date.now() - doneAt} ms after the scrub pass ended`);

    for (const id of ['n1', 'n2', 'n3']) {
      const got = await cluster.s3(id).send(new GetObjectCommand({ Bucket: 'scrub', Key: 'obj' }));
      expect(sha256(Buffer.from(await got.Body!.transformToByteArray()))).toBe(sha256(body));
    }
    const metrics = await (await fetch(`http://127.0.0.1:${n1.rpcPort}/metrics`)).text();
    expect(metrics).toMatch(/^ringstore_scrub_corruptions_total 1$/m);
    // No client read met the corruption: scrub found it.
    expect(metrics).toMatch(/^ringstore_corrupt_reads_total 0$/m);
  });
});
