/**
 * Real clients' sync and round trips against one 3-node cluster, as a user would type them:
 * Debian's AWS CLI v2 `aws s3 sync` both ways (local tree → bucket → another local tree, then
 * changes and deletions with --delete), `rclone sync` of 500 small files and a clean
 * `rclone check`, and s3cmd put/get/ls/del. CI installs the three with apt-get (.ci/run).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { awsCli, writeS3cmdConfig } from '../helpers/s3-cli.js';
import { TestCluster, ACCESS_KEY, SECRET_KEY } from '../helpers/cluster.js';
import { randomBody, sha256 } from '../helpers/data.js';

const AWS = '/usr/bin/aws';
const RCLONE = '/usr/bin/rclone';
const S3CMD = '/usr/bin/s3cmd';
const run = promisify(execFile);
const MiB = 1024 * 1024;

/** Every file under `root`, by relative path, with the SHA-256 of its bytes. */
async function tree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[relative(root, path)] = sha256(await readFile(path));
  }
  return out;
}

async function writeTree(root: string, files: Record<string, Buffer | string>): Promise<void> {
  for (const [name, body] of Object.entries(files)) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), body);
  }
}

function withoutCaBundle(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { AWS_CA_BUNDLE: _, ...rest } = env;
  return rest;
}

// CI installs the clients, so there they must run; elsewhere a missing one is skipped.
const inCi = process.env['CI'] !== undefined;

describe('real S3 clients: sync and round trips', () => {
  let cluster: TestCluster;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringstore-clients-'));
    cluster = await TestCluster.start({ nodes: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe.skipIf(!existsSync(AWS) && !inCi)('aws cli v2', () => {
    const aws = awsCli(
      () => cluster.endpoint('n2'),
      () => dir,
      { timeoutMs: 60_000 },
    );

    it('aws s3 sync: a local tree up to a bucket and down into another tree, then changes and deletions with --delete', async () => {
      const up = join(dir, 'aws-up');
      const down = join(dir, 'aws-down');
      const files: Record<string, Buffer | string> = { 'top.txt': 'top level\n', 'empty.bin': Buffer.alloc(0), 'big/video.bin': randomBody(9 * MiB), 'a b/ünï cödé.txt': 'non-ASCII name\n' };
      for (let i = 0; i < 40; i++) files[`many/d${i % 4}/f${i}.dat`] = randomBody(100 + i * 37);
      await writeTree(up, files);
      await aws('s3', 'mb', 's3://aws-sync');
      await aws('s3', 'sync', up, 's3://aws-sync/tree');
      await aws('s3', 'sync', 's3://aws-sync/tree', down);
      const expected = await tree(up);
      expect(Object.keys(expected)).toHaveLength(44);
      expect(await tree(down)).toEqual(expected);
      // A second sync with nothing changed transfers nothing.
      expect((await aws('s3', 'sync', up, 's3://aws-sync/tree')).trim()).toBe('');

      await writeFile(join(up, 'top.txt'), 'top level, changed and longer\n');
      await rm(join(up, 'many/d1'), { recursive: true });
      await writeTree(up, { 'new/one.txt': 'new' });
      await aws('s3', 'sync', '--delete', up, 's3://aws-sync/tree');
      await aws('s3', 'sync', '--delete', 's3://aws-sync/tree', down);
      expect(await tree(down)).toEqual(await tree(up));
      const listed = (await aws('s3', 'ls', '--recursive', 's3://aws-sync/tree/')).trim().split('\n');
      expect(listed).toHaveLength(Object.keys(await tree(up)).length);
    });
  });

  describe.skipIf(!existsSync(RCLONE) && !inCi)('rclone', () => {
    async function rclone(...args: string[]): Promise<{ stdout: string; stderr: string }> {
      return run(RCLONE, [...args, '--transfers', '16', '--checkers', '16'], {
        env: {
          // rclone's AWS SDK fails on a custom CA bundle ("HTTPClient's transport unsupported type"); plain HTTP needs none.
          ...withoutCaBundle(process.env),
          RCLONE_CONFIG: join(dir, 'rclone-none.conf'),
          RCLONE_CONFIG_RS_TYPE: 's3',
          RCLONE_CONFIG_RS_PROVIDER: 'Other',
          RCLONE_CONFIG_RS_ACCESS_KEY_ID: ACCESS_KEY,
          RCLONE_CONFIG_RS_SECRET_ACCESS_KEY: SECRET_KEY,
          RCLONE_CONFIG_RS_ENDPOINT: cluster.endpoint('n3'),
          RCLONE_CONFIG_RS_FORCE_PATH_STYLE: 'true',
          RCLONE_CONFIG_RS_REGION: 'us-east-1',
        },
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      });
    }

    it('rclone sync of 500 small files to a bucket, and rclone check finds no difference', async () => {
      const src = join(dir, 'rclone-src');
      const files: Record<string, Buffer> = {};
      for (let i = 0; i < 500; i++) files[`d${i % 10}/file-${i}.txt`] = randomBody(50 + ((i * 131) % 4000));
      await writeTree(src, files);
      await rclone('mkdir', 'rs:rclone-sync');
      await rclone('sync', src, 'rs:rclone-sync');
      const check = await rclone('check', src, 'rs:rclone-sync');
      expect(check.stderr).toMatch(/0 differences found/);
      expect(check.stderr).toMatch(/500 matching files/);
      const { stdout } = await rclone('lsf', '-R', '--files-only', 'rs:rclone-sync');
      expect(stdout.trim().split('\n')).toHaveLength(500);
      // A changed and a deleted file are synced too, and check is clean again.
      await writeFile(join(src, 'd3/file-3.txt'), 'changed');
      await rm(join(src, 'd4/file-4.txt'));
      await rclone('sync', src, 'rs:rclone-sync');
      expect((await rclone('check', src, 'rs:rclone-sync')).stderr).toMatch(/0 differences found/);
    });
  });

  describe.skipIf(!existsSync(S3CMD) && !inCi)('s3cmd', () => {
    async function s3cmd(...args: string[]): Promise<string> {
      const { stdout } = await run(S3CMD, ['-c', join(dir, 's3cmd.cfg'), ...args], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    }

    it('s3cmd mb, put, ls, get and del round trip byte-identical', async () => {
      const host = `127.0.0.1:${cluster.node('n1').s3Port}`;
      await writeS3cmdConfig(join(dir, 's3cmd.cfg'), `${host}`);
      const small = randomBody(2000);
      const large = randomBody(17 * MiB); // above s3cmd's 15 MiB multipart chunk
      await writeFile(join(dir, 'small.bin'), small);
      await writeFile(join(dir, 'large.bin'), large);
      await s3cmd('mb', 's3://s3cmd-trip');
      await s3cmd('put', join(dir, 'small.bin'), 's3://s3cmd-trip/x/small.bin');
      await s3cmd('put', join(dir, 'large.bin'), 's3://s3cmd-trip/x/large.bin');
      const listing = await s3cmd('ls', '--recursive', 's3://s3cmd-trip');
      expect(listing).toMatch(/\s2000\s+s3:\/\/s3cmd-trip\/x\/small\.bin/);
      expect(listing).toMatch(new RegExp(`\\s${17 * MiB}\\s+s3://s3cmd-trip/x/large\\.bin`));
      expect(await s3cmd('ls', 's3://s3cmd-trip')).toMatch(/DIR\s+s3:\/\/s3cmd-trip\/x\//);
      for (const [name, body] of [
        ['small.bin', small],
        ['large.bin', large],
      ] as const) {
        const back = join(dir, `back-${name}`);
        await s3cmd('get', `s3://s3cmd-trip/x/${name}`, back);
        expect(sha256(await readFile(back)), name).toBe(sha256(body));
      }
      await s3cmd('del', 's3://s3cmd-trip/x/small.bin', 's3://s3cmd-trip/x/large.bin');
      expect((await s3cmd('ls', '--recursive', 's3://s3cmd-trip')).trim()).toBe('');
      await s3cmd('rb', 's3://s3cmd-trip');
    });
  });
});
