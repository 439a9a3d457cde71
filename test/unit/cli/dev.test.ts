import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { devBanner } from '../../../src/cli/commands/dev.js';
import type { DevChild } from '../../../src/cli/dev/child.js';
import { generateDevCredentials, loadOrCreateDevCredentials } from '../../../src/devcluster/credentials.js';
import { LineTail, formatLogLine } from '../../../src/devcluster/log-format.js';
import { devChildEnv, planDevCluster } from '../../../src/devcluster/plan.js';
import { loadConfig } from '../../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'ringstore-dev-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const credentials = { accessKey: 'RSABCDEFGHIJKLMNOPQR', secretKey: 'a'.repeat(40), clusterSecret: '0'.repeat(32), adminToken: 'f'.repeat(40) };

describe('planDevCluster', () => {
  it('plans n1..n3 on 9000-9002 / 9100-9102 in zones z1..z3 with N=3 R=2 W=2', () => {
    const plan = planDevCluster({ nodes: 3, basePort: 9000, dataRoot: '/tmp/rs', credentials });
    expect(plan.nodes.map((n) => [n.id, n.s3Listen, n.rpcListen, n.zone, n.dataDir])).toEqual([
      ['n1', '127.0.0.1:9000', '127.0.0.1:9100', 'z1', '/tmp/rs/n1'],
      ['n2', '127.0.0.1:9001', '127.0.0.1:9101', 'z2', '/tmp/rs/n2'],
      ['n3', '127.0.0.1:9002', '127.0.0.1:9102', 'z3', '/tmp/rs/n3'],
    ]);
    expect(plan.replication).toEqual({ factor: 3, readQuorum: 2, writeQuorum: 2 });
  });

  it.each([1, 2, 3, 5, 9])('gives every node of a %i-node cluster a valid config', (nodes) => {
    const plan = planDevCluster({ nodes, basePort: 19000, dataRoot: '/tmp/rs', credentials, logLevel: 'debug' });
    for (const node of plan.nodes) {
      const config = loadConfig({ env: devChildEnv({}, node), flags: {} });
      expect(config.nodeId).toBe(node.id);
      expect(config.s3.listen).toBe(node.s3Listen);
      expect(config.rpc.listen).toBe(node.rpcListen);
      expect(config.dataDir).toBe(node.dataDir);
      expect(config.cluster.members).toHaveLength(nodes);
      expect(config.replication.factor).toBe(Math.min(3, nodes));
      expect(config.log.level).toBe('debug');
      expect(config.s3.secretKey).toBe(credentials.secretKey);
    }
  });

  it('child env drops RINGSTORE_CONFIG and conflicting *_FILE variables, passes other settings through', () => {
    const [node] = planDevCluster({ nodes: 1, basePort: 9000, dataRoot: '/tmp/rs', credentials }).nodes;
    const env = devChildEnv({ PATH: '/bin', RINGSTORE_CONFIG: '/etc/x.json', RINGSTORE_SECRET_KEY_FILE: '/run/s', RINGSTORE_NODE_ID: 'zz', RINGSTORE_STORE_FSYNC: 'false' }, node!);
    expect(env['PATH']).toBe('/bin');
    expect(env['RINGSTORE_CONFIG']).toBeUndefined();
    expect(env['RINGSTORE_SECRET_KEY_FILE']).toBeUndefined();
    expect(env['RINGSTORE_NODE_ID']).toBe('n1');
    expect(env['RINGSTORE_STORE_FSYNC']).toBe('false');
  });
});

describe('dev credentials', () => {
  it('generates keys of the documented shapes', () => {
    const c = generateDevCredentials();
    expect(c.accessKey).toMatch(/^RS[A-Z0-9]{18}$/);
    expect(c.secretKey).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(c.clusterSecret).toMatch(/^[0-9a-f]{32}$/);
    expect(c.adminToken).toMatch(/^[0-9a-f]{40}$/);
  });

  it('adds an admin token to a file written before the admin API, keeping every other value', async () => {
    const file = join(dir, 'old-credentials.json');
    const old = { accessKey: 'RSABCDEFGHIJKLMNOPQR', secretKey: 'a'.repeat(40), clusterSecret: '0'.repeat(32) };
    writeFileSync(file, JSON.stringify(old));
    const loaded = await loadOrCreateDevCredentials(file);
    expect(loaded.credentials).toMatchObject(old);
    expect(loaded.credentials.adminToken).toMatch(/^[0-9a-f]{40}$/);
    expect((await loadOrCreateDevCredentials(file)).credentials).toEqual(loaded.credentials);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('creates the file once with mode 0600 and returns the same keys afterwards', async () => {
    const file = join(dir, 'sub', 'dev-credentials.json');
    const first = await loadOrCreateDevCredentials(file);
    expect(first.created).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = await loadOrCreateDevCredentials(file);
    expect(second).toEqual({ credentials: first.credentials, created: false });
  });

  it('refuses a damaged file instead of replacing it', async () => {
    const file = join(dir, 'bad-credentials.json');
    writeFileSync(file, '{"accessKey": "x"}');
    await expect(loadOrCreateDevCredentials(file)).rejects.toThrow(/are not valid.*fix or delete the file/);
  });
});

describe('formatLogLine', () => {
  it.each([
    ['{"level":30,"time":1,"node":"n1","msg":"node started","s3":"127.0.0.1:9000"}', '[n1] info  node started s3=127.0.0.1:9000'],
    ['{"level":50,"time":1,"msg":"rpc failed","err":{"message":"boom","stack":"..."},"peer":"n2"}', '[n1] error rpc failed err="boom" peer=n2'],
    ['{"level":40,"msg":"slow","detail":"two words"}', '[n1] warn  slow detail="two words"'],
    ['plain text', '[n1] plain text'],
    ['{not json', '[n1] {not json'],
  ])('%s', (line, expected) => {
    expect(formatLogLine('n1', line)).toBe(expected);
  });

  it('LineTail keeps the last lines', () => {
    const tail = new LineTail(3);
    for (const line of ['a', 'b', 'c', 'd']) tail.push(line);
    expect(tail.last()).toEqual(['b', 'c', 'd']);
    expect(tail.last(1)).toEqual(['d']);
  });
});

describe('devBanner', () => {
  it('shows the endpoint, credentials, region, exports and an aws command', () => {
    const plan = planDevCluster({ nodes: 3, basePort: 9000, dataRoot: '/tmp/rs', credentials });
    const children = plan.nodes.map((n, i) => ({ id: n.id, pid: 1000 + i }) as unknown as DevChild);
    const banner = devBanner(plan, children, credentials, 'us-east-1', '/tmp/rs/dev-credentials.json');
    expect(banner).toContain('S3 endpoint  http://127.0.0.1:9000');
    expect(banner).toContain(`access key   ${credentials.accessKey}`);
    expect(banner).toContain(`secret key   ${credentials.secretKey}`);
    expect(banner).toContain('region       us-east-1');
    expect(banner).toContain(`export AWS_ACCESS_KEY_ID=${credentials.accessKey}`);
    expect(banner).toContain(`export AWS_SECRET_ACCESS_KEY=${credentials.secretKey}`);
    expect(banner).toContain('export AWS_ENDPOINT_URL=http://127.0.0.1:9000');
    expect(banner).toContain('aws --endpoint-url http://127.0.0.1:9000 s3 ls');
    expect(banner).toMatch(/n2 +127\.0\.0\.1:9001 +127\.0\.0\.1:9101 +z2 +1001/);
  });
});
