/**
 * Debian's AWS CLI v2 (/usr/bin/aws, installed by .ci/run) against a 3-node cluster:
 * `aws s3 cp` up and down, `aws s3 ls`, `aws s3 rm`, as a user would type them.
 * Files above 8 MiB make the CLI use multipart upload and ranged parallel downloads.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { awsCli } from '../helpers/s3-cli.js';
import { TestCluster, ACCESS_KEY, SECRET_KEY } from '../helpers/cluster.js';
import { randomBody, sha256 } from '../helpers/data.js';

const AWS = '/usr/bin/aws';
const run = promisify(execFile);

// CI installs the CLI, so there it must run; elsewhere it is skipped when absent.
describe.skipIf(!existsSync(AWS) && !process.env['CI'])('aws cli v2', () => {
  let cluster: TestCluster;
  let dir: string;

  const aws = awsCli(
    () => cluster.endpoint('n2'),
    () => dir,
    { timeoutMs: 120_000 },
  );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringstore-awscli-'));
    cluster = await TestCluster.start({ nodes: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('makes a bucket, copies files up and down byte-identical, lists and removes them', async () => {
    await aws('s3', 'mb', 's3://cli-bucket');
    const files = [
      ['small.txt', randomBody(1024)],
      ['dir/medium.bin', randomBody(5 * 1024 * 1024)],
      ['dir/large.bin', randomBody(20 * 1024 * 1024)],
    ] as const;
    for (const [name, body] of files) {
      const local = join(dir, name.replace('/', '_'));
      await writeFile(local, body);
      await aws('s3', 'cp', local, `s3://cli-bucket/${name}`);
    }
    const listing = await aws('s3', 'ls', '--recursive', 's3://cli-bucket/');
    const lines = listing
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/));
    expect(lines.map((l) => [l[3], Number(l[2])])).toEqual([
      ['dir/large.bin', 20 * 1024 * 1024],
      ['dir/medium.bin', 5 * 1024 * 1024],
      ['small.txt', 1024],
    ]);
    expect(await aws('s3', 'ls', 's3://cli-bucket/')).toMatch(/PRE dir\//);
    for (const [name, body] of files) {
      const back = join(dir, `back-${name.replace('/', '_')}`);
      await aws('s3', 'cp', `s3://cli-bucket/${name}`, back);
      expect(sha256(await readFile(back)), name).toBe(sha256(body));
    }
    await aws('s3', 'rm', 's3://cli-bucket/small.txt');
    await aws('s3', 'rm', '--recursive', 's3://cli-bucket/dir/');
    expect((await aws('s3', 'ls', '--recursive', 's3://cli-bucket/')).trim()).toBe('');
    await aws('s3', 'rb', 's3://cli-bucket');
    await expect(aws('s3', 'ls', 's3://cli-bucket/')).rejects.toThrow(/NoSuchBucket/);
  });
});
