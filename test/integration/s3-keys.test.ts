/**
 * Users with their own keys, on one 3-node cluster: a key made with the real `ringstore key
 * create` cannot read, list or delete the root key's bucket until `key allow`, and cannot again
 * after `key deny` (within the gateway's cache bound); a deleted key is InvalidAccessKeyId;
 * bucket names are global (BucketAlreadyExists vs 200 for your own in us-east-1); ListBuckets
 * shows what a key may see, paged; the ACL answers; keys survive a restart of every node; the
 * admin API needs its token.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketAclCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { writeS3cmdConfig } from '../helpers/s3-cli.js';
import { TestCluster, ACCESS_KEY } from '../helpers/cluster.js';
import { signRequest } from '../../src/s3/sigv4/signing.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const TOKEN = 'keys-test-admin-token-0123456789';
/** The gateway caches keys and grants this long (model/keys.ts ACCESS_CACHE_TTL_MS), plus slack. */
const CACHE_BOUND_MS = 2000 + 3000;

interface Cli {
  code: number;
  stdout: string;
  stderr: string;
}

function codeOf(xml: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];
}

/** The S3 error code of a failed SDK call, or 'OK'. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (error) {
    const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    return `${e.$metadata?.httpStatusCode ?? '?'} ${e.Code ?? e.name ?? 'error'}`;
  }
}

/** Polls `check` until it returns `want` (bounded). */
async function eventually(check: () => Promise<string>, want: string, ms = CACHE_BOUND_MS): Promise<string> {
  const until = Date.now() + ms;
  let got = await check();
  while (got !== want && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    got = await check();
  }
  return got;
}

describe('access keys and grants', () => {
  let cluster: TestCluster;
  let root: S3Client;
  let admin: string;
  const clients: S3Client[] = [];

  async function cli(...args: string[]): Promise<Cli> {
    return promisify(execFile)(process.execPath, [MAIN, ...args, '--admin', admin], { env: { ...process.env, RINGSTORE_ADMIN_TOKEN: TOKEN } }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  }

  async function createKey(name: string, ...flags: string[]): Promise<{ accessKeyId: string; secretAccessKey: string }> {
    const r = await cli('key', 'create', name, ...flags, '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { accessKeyId: string; secretAccessKey: string };
  }

  function clientOf(key: { accessKeyId: string; secretAccessKey: string }, node = 'n1'): S3Client {
    const c = new S3Client({ endpoint: cluster.endpoint(node), region: 'us-east-1', forcePathStyle: true, credentials: key, maxAttempts: 1 });
    clients.push(c);
    return c;
  }

  async function raw(method: string, path: string, key: { accessKeyId: string; secretAccessKey: string }, headers: Record<string, string> = {}, body?: string) {
    const url = new URL(path, cluster.endpoint());
    const req = signRequest(
      { method, url: url.toString(), headers, ...(body !== undefined && { body: Buffer.from(body) }) } as Parameters<typeof signRequest>[0],
      { ...key, region: 'us-east-1' } as Parameters<typeof signRequest>[1],
    );
    const res = await request(url, { method, headers: req.headers, ...(body !== undefined && { body }) });
    return { status: res.statusCode, text: await res.body.text() };
  }

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3, config: { admin: { token: TOKEN } } });
    root = cluster.s3();
    admin = `http://127.0.0.1:${cluster.node('n1').rpcPort}`;
    await root.send(new CreateBucketCommand({ Bucket: 'rootbucket' }));
    await root.send(new PutObjectCommand({ Bucket: 'rootbucket', Key: 'secret.txt', Body: 'root data' }));
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    root?.destroy();
    await cluster?.stop();
  });

  it('a second key cannot read, list or delete the root bucket until granted; can after key allow; cannot after key deny', async () => {
    const key = await createKey('alice');
    expect(key.accessKeyId).toMatch(/^RK[0-9A-F]{24}$/);
    const alice = clientOf(key);
    const read = (): Promise<string> => outcome(alice.send(new GetObjectCommand({ Bucket: 'rootbucket', Key: 'secret.txt' })));
    const list = (): Promise<string> => outcome(alice.send(new ListObjectsV2Command({ Bucket: 'rootbucket' })));
    const del = (): Promise<string> => outcome(alice.send(new DeleteObjectCommand({ Bucket: 'rootbucket', Key: 'secret.txt' })));
    const seen = async (): Promise<boolean> => ((await alice.send(new ListBucketsCommand({}))).Buckets ?? []).some((b) => b.Name === 'rootbucket');

    expect([await read(), await list(), await del(), await seen()]).toEqual(['403 AccessDenied', '403 AccessDenied', '403 AccessDenied', false]);

    const allow = await cli('key', 'allow', 'alice', '--bucket', 'rootbucket', '--read');
    expect(allow.code, allow.stderr).toBe(0);
    expect(allow.stdout).toContain('rootbucket  read');
    // Grants are not cached while missing: the new one works at once.
    expect([await read(), await list(), await seen()]).toEqual(['OK', 'OK', true]);
    expect(await del()).toBe('403 AccessDenied');
    const body = await (await alice.send(new GetObjectCommand({ Bucket: 'rootbucket', Key: 'secret.txt' }))).Body!.transformToString();
    expect(body).toBe('root data');

    expect((await cli('key', 'allow', key.accessKeyId, '--bucket', 'rootbucket', '--write')).code).toBe(0);
    expect(await del()).toBe('OK');
    await root.send(new PutObjectCommand({ Bucket: 'rootbucket', Key: 'secret.txt', Body: 'root data' }));

    const info = await cli('key', 'info', 'alice', '--json');
    expect(JSON.parse(info.stdout)).toMatchObject({ accessKeyId: key.accessKeyId, name: 'alice', allowCreateBucket: false, grants: [{ bucket: 'rootbucket', read: true, write: true, owner: false }] });
    expect(JSON.parse(info.stdout)).not.toHaveProperty('secretAccessKey');

    expect((await cli('key', 'deny', 'alice', '--bucket', 'rootbucket', '--read', '--write')).code).toBe(0);
    expect(await eventually(read, '403 AccessDenied')).toBe('403 AccessDenied');
    expect([await list(), await del(), await seen()]).toEqual(['403 AccessDenied', '403 AccessDenied', false]);
  });

  it('key delete makes the key InvalidAccessKeyId within the cache bound', async () => {
    const key = await createKey('short-lived', '--allow-create-bucket');
    const c = clientOf(key, 'n2');
    expect(await outcome(c.send(new ListBucketsCommand({})))).toBe('OK');
    const list = await cli('key', 'list', '--json');
    expect((JSON.parse(list.stdout) as { accessKeyId: string }[]).map((k) => k.accessKeyId)).toContain(key.accessKeyId);
    const del = await cli('key', 'delete', key.accessKeyId);
    expect(del.code, del.stderr).toBe(0);
    expect(await eventually(() => outcome(c.send(new ListBucketsCommand({}))), '403 InvalidAccessKeyId')).toBe('403 InvalidAccessKeyId');
    expect((await cli('key', 'info', key.accessKeyId)).code).toBe(2);
  });

  it('CreateBucket: AccessDenied without --allow-create-bucket; global names: BucketAlreadyExists, and 200 for your own in us-east-1', async () => {
    const plain = clientOf(await createKey('plain'));
    expect(await outcome(plain.send(new CreateBucketCommand({ Bucket: 'plain-bucket' })))).toBe('403 AccessDenied');
    const maker = clientOf(await createKey('maker', '--allow-create-bucket'));
    expect(await outcome(maker.send(new CreateBucketCommand({ Bucket: 'maker-bucket' })))).toBe('OK');
    expect(await outcome(maker.send(new CreateBucketCommand({ Bucket: 'maker-bucket' })))).toBe('OK');
    expect(await outcome(maker.send(new CreateBucketCommand({ Bucket: 'rootbucket' })))).toBe('409 BucketAlreadyExists');
    expect(await outcome(root.send(new CreateBucketCommand({ Bucket: 'maker-bucket' })))).toBe('409 BucketAlreadyExists');
    // The owner can use its bucket; the root key can too (every right); another key cannot.
    expect(await outcome(maker.send(new PutObjectCommand({ Bucket: 'maker-bucket', Key: 'k', Body: 'x' })))).toBe('OK');
    expect(await outcome(root.send(new GetObjectCommand({ Bucket: 'maker-bucket', Key: 'k' })))).toBe('OK');
    expect(await outcome(plain.send(new GetObjectCommand({ Bucket: 'maker-bucket', Key: 'k' })))).toBe('403 AccessDenied');
    // An existing bucket is answered by name, whether or not the key may create buckets; one it has a grant on counts as its own.
    expect(await outcome(plain.send(new CreateBucketCommand({ Bucket: 'maker-bucket' })))).toBe('409 BucketAlreadyExists');
    expect((await cli('key', 'allow', 'plain', '--bucket', 'maker-bucket', '--read')).code).toBe(0);
    expect(await outcome(plain.send(new CreateBucketCommand({ Bucket: 'maker-bucket' })))).toBe('OK');
    // A missing bucket is NoSuchBucket whoever asks.
    expect(await outcome(plain.send(new GetObjectCommand({ Bucket: 'no-such-bucket-here', Key: 'k' })))).toBe('404 NoSuchBucket');
    const owner = (await maker.send(new ListBucketsCommand({}))).Owner;
    expect(owner?.DisplayName).toBe('maker');
    expect((await maker.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['maker-bucket']);
  });

  it('ListBuckets pages with max-buckets and continuation-token, filters with prefix', async () => {
    for (const name of ['page-a', 'page-b', 'page-c', 'page-d', 'page-e']) await root.send(new CreateBucketCommand({ Bucket: name }));
    const names: string[] = [];
    let token: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await root.send(new ListBucketsCommand({ MaxBuckets: 2, Prefix: 'page-', ...(token !== undefined && { ContinuationToken: token }) }));
      expect(page.Prefix).toBe('page-');
      expect(page.Buckets!.length).toBeLessThanOrEqual(2);
      names.push(...page.Buckets!.map((b) => b.Name!));
      token = page.ContinuationToken;
      if (token === undefined) break;
    }
    expect(names).toEqual(['page-a', 'page-b', 'page-c', 'page-d', 'page-e']);
    const all = await raw('GET', '/?max-buckets=10000', { accessKeyId: ACCESS_KEY, secretAccessKey: (await import('../helpers/cluster.js')).SECRET_KEY });
    expect(all.status).toBe(200);
    expect(all.text).not.toContain('<ContinuationToken>');
    expect(all.text).not.toContain('<Prefix>');
  });

  it('GetBucketAcl / GetObjectAcl: the owner with FULL_CONTROL; x-amz-acl private is accepted, public-read is 501', async () => {
    const acl = await root.send(new GetBucketAclCommand({ Bucket: 'rootbucket' }));
    expect(acl.Owner?.ID).toBe(ACCESS_KEY);
    expect(acl.Grants).toEqual([{ Grantee: { ID: ACCESS_KEY, DisplayName: ACCESS_KEY, Type: 'CanonicalUser' }, Permission: 'FULL_CONTROL' }]);
    const objectAcl = await root.send(new GetObjectAclCommand({ Bucket: 'rootbucket', Key: 'secret.txt' }));
    expect(objectAcl.Grants?.[0]?.Permission).toBe('FULL_CONTROL');
    expect(await outcome(root.send(new GetObjectAclCommand({ Bucket: 'rootbucket', Key: 'absent' })))).toBe('404 NoSuchKey');
    expect(await outcome(root.send(new PutObjectCommand({ Bucket: 'rootbucket', Key: 'acl-private', Body: 'x', ACL: 'private' })))).toBe('OK');
    expect(await outcome(root.send(new PutObjectCommand({ Bucket: 'rootbucket', Key: 'acl-public', Body: 'x', ACL: 'public-read' })))).toBe('501 NotImplemented');
  });

  const { SECRET_KEY: rootSecret } = { SECRET_KEY: 'test-secret-key-0123456789abcdefghijklmnop' };
  const ownerGrant = `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>${ACCESS_KEY}</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>`;
  const policy = (grants: string): string =>
    `<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>${ACCESS_KEY}</ID></Owner><AccessControlList>${grants}</AccessControlList></AccessControlPolicy>`;
  it.each([
    ['PUT /rootbucket?acl x-amz-acl: private', 'PUT', '/rootbucket?acl', { 'x-amz-acl': 'private' }, undefined, 200, undefined],
    ['PUT /rootbucket?acl x-amz-acl: public-read', 'PUT', '/rootbucket?acl', { 'x-amz-acl': 'public-read' }, undefined, 501, 'NotImplemented'],
    ['PUT /rootbucket/secret.txt?acl owner FULL_CONTROL body', 'PUT', '/rootbucket/secret.txt?acl', {}, policy(ownerGrant), 200, undefined],
    [
      'PUT /rootbucket/secret.txt?acl AllUsers READ body',
      'PUT',
      '/rootbucket/secret.txt?acl',
      {},
      policy(
        `${ownerGrant}<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>`,
      ),
      501,
      'NotImplemented',
    ],
    ['PUT /rootbucket/k x-amz-grant-read', 'PUT', '/rootbucket/k', { 'x-amz-grant-read': 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' }, 'x', 501, 'NotImplemented'],
    ['PUT /acl-bucket x-amz-acl: public-read-write', 'PUT', '/acl-bucket', { 'x-amz-acl': 'public-read-write' }, undefined, 501, 'NotImplemented'],
    ['PUT /rootbucket?acl malformed body', 'PUT', '/rootbucket?acl', {}, '<AccessControlPolicy><oops', 400, 'MalformedXML'],
    ['GET /?max-buckets=0', 'GET', '/?max-buckets=0', {}, undefined, 400, 'InvalidArgument'],
    ['GET /?continuation-token=garbage!', 'GET', '/?continuation-token=garbage!', {}, undefined, 400, 'InvalidArgument'],
  ])('%s', async (_name, method, path, headers, body, status, code) => {
    const res = await raw(method, path, { accessKeyId: ACCESS_KEY, secretAccessKey: rootSecret }, headers, body);
    expect([res.status, codeOf(res.text)]).toEqual([status, code]);
  });

  it('a granted key works with rclone and s3cmd as they come (rclone may send x-amz-acl: private; s3cmd info reads the ACLs)', async () => {
    const key = await createKey('tools');
    expect((await cli('key', 'allow', 'tools', '--bucket', 'rootbucket', '--read', '--write')).code).toBe(0);
    const dir = await mkdtemp(join(tmpdir(), 'ringstore-keys-'));
    try {
      await writeFile(join(dir, 'local.txt'), 'from a tool');
      const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir };
      const rclone = {
        ...env,
        RCLONE_CONFIG: join(dir, 'rclone.conf'),
        RCLONE_CONFIG_RS_TYPE: 's3',
        RCLONE_CONFIG_RS_PROVIDER: 'Other',
        RCLONE_CONFIG_RS_ACCESS_KEY_ID: key.accessKeyId,
        RCLONE_CONFIG_RS_SECRET_ACCESS_KEY: key.secretAccessKey,
        RCLONE_CONFIG_RS_ENDPOINT: cluster.endpoint('n2'),
        RCLONE_CONFIG_RS_REGION: 'us-east-1',
        RCLONE_CONFIG_RS_FORCE_PATH_STYLE: 'true',
        RCLONE_CONFIG_RS_ACL: 'private',
      };
      await promisify(execFile)('/usr/bin/rclone', ['copyto', join(dir, 'local.txt'), 'rs:rootbucket/tools/rclone.txt'], { env: rclone, timeout: 60_000 });
      const listed = await promisify(execFile)('/usr/bin/rclone', ['lsf', 'rs:rootbucket/tools'], { env: rclone, timeout: 60_000 });
      expect(listed.stdout.trim()).toBe('rclone.txt');
      const host = `127.0.0.1:${cluster.node('n3').s3Port}`;
      const config = join(dir, 's3cmd.cfg');
      await writeS3cmdConfig(config, host, { accessKey: key.accessKeyId, secretKey: key.secretAccessKey });
      await promisify(execFile)('/usr/bin/s3cmd', ['-c', config, 'put', join(dir, 'local.txt'), 's3://rootbucket/tools/s3cmd.txt'], { env, timeout: 60_000 });
      const info = await promisify(execFile)('/usr/bin/s3cmd', ['-c', config, 'info', 's3://rootbucket/tools/s3cmd.txt'], { env, timeout: 60_000 });
      expect(info.stdout).toMatch(/ACL:\s+\S+: FULL_CONTROL/);
      const got = await root.send(new GetObjectCommand({ Bucket: 'rootbucket', Key: 'tools/s3cmd.txt' }));
      expect(await got.Body!.transformToString()).toBe('from a tool');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the admin API needs its token', async () => {
    const none = await request(`${admin}/admin/v1/keys`);
    expect(none.statusCode).toBe(401);
    await none.body.dump();
    const wrong = await request(`${admin}/admin/v1/keys`, { method: 'POST', headers: { authorization: 'Bearer nope' }, body: '{"name":"x"}' });
    expect(wrong.statusCode).toBe(401);
    await wrong.body.dump();
    const noToken = await promisify(execFile)(process.execPath, [MAIN, 'key', 'list', '--admin', admin], { env: { ...process.env, RINGSTORE_ADMIN_TOKEN: 'wrong-token-0123456789' } }).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    expect(noToken).toBe(2);
    expect((await cli('key', 'allow', 'nobody-by-that-name', '--bucket', 'rootbucket', '--read')).code).toBe(2);
    expect((await cli('key', 'allow', 'alice', '--bucket', 'rootbucket')).code).toBe(2);
    expect((await cli('key', 'create')).code).toBe(2);
    expect((await cli('key', 'create', '--help')).stdout).toContain('--allow-create-bucket');
  });

  it('keys, grants and owners survive a restart of every node', async () => {
    const key = await createKey('durable', '--allow-create-bucket');
    const before = clientOf(key);
    await before.send(new CreateBucketCommand({ Bucket: 'durable-bucket' }));
    expect((await cli('key', 'allow', 'durable', '--bucket', 'rootbucket', '--read')).code).toBe(0);
    for (const node of cluster.nodes) await node.proc.stop(10_000);
    for (const node of cluster.nodes) await cluster.startNode(node.id);
    await Promise.all(cluster.nodes.map((n) => n.proc.waitRefilled(15_000)));
    const after = clientOf(key, 'n3');
    expect(await outcome(after.send(new GetObjectCommand({ Bucket: 'rootbucket', Key: 'secret.txt' })))).toBe('OK');
    expect(((await after.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name)).toEqual(['durable-bucket', 'rootbucket']);
    expect(await outcome(after.send(new CreateBucketCommand({ Bucket: 'durable-bucket' })))).toBe('OK');
  });
});
