import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../../src/config/schema.js';
import { checkConfig, validateConfig } from '../../../src/config/validate.js';
import { setPath } from '../../../src/config/values.js';
import { isErrorCode } from '../../../src/util/errors.js';
import { validTree } from './fixtures.js';

/** The problems of the valid tree with one value changed. */
function problemsWith(path: string, value: unknown): readonly string[] {
  const tree = validTree();
  setPath(tree, path, value);
  return checkConfig(tree).problems;
}

describe('validateConfig', () => {
  it('accepts the valid fixture and fills defaults', () => {
    const config = validateConfig(validTree());
    expect(config.replication).toEqual({ factor: 3, readQuorum: 2, writeQuorum: 2, readRepairPercent: 10, tombstoneGraceMs: 86_400_000, sloppyQuorum: false });
    expect(config.hints).toEqual({ maxBytes: 1024 ** 3, maxAgeMs: 3 * 3_600_000 });
    expect(config.dataDir).toBe('./data/n1');
  });

  // Every message names the key path and the bad value, then the expected form.
  it.each([
    ['replication.factor', 0, 'config: replication.factor = 0; expected an integer ≥ 1'],
    ['replication.factor', 4, 'config: replication.factor = 4; expected at most the number of cluster.members with capacity > 0 (3)'],
    ['replication.factor', 2.5, 'config: replication.factor = 2.5; expected an integer ≥ 1'],
    ['replication.readQuorum', 4, 'config: replication.readQuorum = 4; expected an integer between 1 and replication.factor (3)'],
    ['replication.readQuorum', 0, 'config: replication.readQuorum = 0; expected an integer ≥ 1'],
    ['replication.writeQuorum', 5, 'config: replication.writeQuorum = 5; expected an integer between 1 and replication.factor (3)'],
    ['replication.writeQuorum', '2', 'config: replication.writeQuorum = "2"; expected an integer ≥ 1'],
    ['s3.listen', 'localhost', 'config: s3.listen = "localhost"; expected "host:port" (or "[ipv6]:port") with a port between 0 and 65535'],
    ['s3.listen', '127.0.0.1:65536', 'config: s3.listen = "127.0.0.1:65536"; expected "host:port"'],
    ['rpc.listen', ':9100', 'config: rpc.listen = ":9100"; expected "host:port"'],
    ['s3.region', 'us/east', 'config: s3.region = "us/east"; expected a region name of 1–64 characters'],
    ['s3.accessKey', '', 'config: s3.accessKey = ""; expected a non-empty access key id'],
    ['s3.accessKey', 'has space', 'config: s3.accessKey = "has space"; expected a non-empty access key id'],
    ['s3.secretKey', '', 'config: s3.secretKey = [redacted, 0 characters]; expected a secret key of 16 to 128 characters'],
    ['s3.secretKey', 'fifteen-chars!!', 'config: s3.secretKey = [redacted, 15 characters]; expected a secret key of 16 to 128 characters'],
    ['s3.rootDomain', 'S3.Localhost', 'config: s3.rootDomain = "S3.Localhost"; expected empty, or a lower-case domain name such as s3.localhost'],
    ['s3.rootDomain', 's3.localhost:9000', 'config: s3.rootDomain = "s3.localhost:9000"; expected empty, or a lower-case domain name'],
    ['s3.rootDomain', 'http://s3.localhost', 'config: s3.rootDomain = "http://s3.localhost"; expected empty, or a lower-case domain name'],
    ['s3.allowSigV2Presigned', 'maybe', 'config: s3.allowSigV2Presigned = "maybe"; expected'],
    ['metrics.token', 'short', 'config: metrics.token = [redacted, 5 characters]; expected empty (no token) or 16 to 256 printable characters'],
    ['s3.maxObjectSize', 0, 'config: s3.maxObjectSize = 0; expected a size between 1 B and 5 TiB'],
    ['s3.maxObjectSize', '5 PiB', 'config: s3.maxObjectSize = "5 PiB"; expected a size between 1 B and 5 TiB'],
    ['rpc.secret', 'tinysecret', 'config: rpc.secret = [redacted, 10 characters]; expected a secret of at least 16 characters'],
    ['rpc.timeoutMs', 0, 'config: rpc.timeoutMs = 0; expected an integer between 1 and 600000'],
    ['ring.vnodesPerUnit', 5000, 'config: ring.vnodesPerUnit = 5000; expected an integer between 1 and 4096'],
    ['store.inlineThreshold', -1, 'config: store.inlineThreshold = -1; expected a size between 0 B and 16 MiB'],
    ['store.fsync', 'maybe', 'config: store.fsync = "maybe"; expected true or false'],
    ['cluster.pingIntervalMs', 5, 'config: cluster.pingIntervalMs = 5; expected an integer between 10 and 600000'],
    ['cluster.downAfterMisses', 0, 'config: cluster.downAfterMisses = 0; expected an integer between 1 and 1000'],
    ['log.level', 'verbose', 'config: log.level = "verbose"; expected one of trace, debug, info, warn, error, fatal, silent'],
    ['nodeId', '', 'config: nodeId = ""; expected a node id of 1–64 characters'],
    ['nodeId', 'bad id!', 'config: nodeId = "bad id!"; expected a node id of 1–64 characters'],
    ['dataDir', '', 'config: dataDir = ""; expected a non-empty directory path'],
    ['cluster.members', 'n1', 'config: cluster.members = "n1"; expected a list of members {id, address, zone, capacity}'],
    ['cluster.members.0', 'x', 'config: cluster.members[0] = "x"; expected an object {id, address, zone, capacity}'],
  ])('%s = %j', (path, value, message) => {
    const tree = validTree();
    if (path === 'cluster.members.0') (tree['cluster'] as { members: unknown[] }).members[0] = value;
    else setPath(tree, path, value);
    const problems = checkConfig(tree).problems;
    expect(
      problems.some((p) => p.startsWith(message)),
      `${message}\nin\n${problems.join('\n')}`,
    ).toBe(true);
  });

  it.each([
    ['id', 'n1', 1, 'config: cluster.members[1].id = "n1"; expected an id not used by another member (also cluster.members[0])'],
    ['address', '127.0.0.1:9100', 2, 'config: cluster.members[2].address = "127.0.0.1:9100"; expected an address not used by another member (also cluster.members[0])'],
    ['address', '127.0.0.1:0', 1, 'config: cluster.members[1].address = "127.0.0.1:0"; expected "host:port" (or "[ipv6]:port") with a port between 1 and 65535'],
    ['zone', '', 0, 'config: cluster.members[0].zone = ""; expected a zone name'],
    ['capacity', -1, 2, 'config: cluster.members[2].capacity = -1; expected a number ≥ 0'],
    ['id', undefined, 0, 'config: cluster.members[0].id = (not set); expected a node id'],
  ])('member %s = %j', (field, value, index, message) => {
    const tree = validTree();
    const member = (tree['cluster'] as { members: Record<string, unknown>[] }).members[index]!;
    if (value === undefined) delete member[field];
    else member[field] = value;
    const problems = checkConfig(tree).problems;
    expect(
      problems.some((p) => p.startsWith(message)),
      `${message}\nin\n${problems.join('\n')}`,
    ).toBe(true);
  });

  it('says how to set a required key that is missing', () => {
    const tree = validTree();
    delete (tree['rpc'] as Record<string, unknown>)['secret'];
    delete tree['nodeId'];
    const problems = checkConfig(tree).problems;
    expect(problems).toContain(
      'config: rpc.secret = (not set); expected a secret of at least 16 characters (e.g. `openssl rand -hex 16`) — set RINGSTORE_CLUSTER_SECRET or RINGSTORE_CLUSTER_SECRET_FILE',
    );
    expect(problems.some((p) => p.startsWith('config: nodeId = (not set)') && p.includes('set RINGSTORE_NODE_ID, --nodeId'))).toBe(true);
    // dataDir derives from nodeId: only the nodeId problem is reported.
    expect(problems).toHaveLength(2);
  });

  it('never shows a secret value', () => {
    expect(problemsWith('rpc.secret', 'tinysecret').join('\n')).not.toContain('tinysecret');
    expect(problemsWith('s3.secretKey', 'with space').join('\n')).not.toContain('with space');
  });

  it('accepts s3.rootDomain empty or a domain, and s3.allowSigV2Presigned false', () => {
    for (const domain of ['', 's3.localhost', 'storage.example.net', 'a-b.c1.example']) expect(problemsWith('s3.rootDomain', domain)).toEqual([]);
    expect(problemsWith('s3.allowSigV2Presigned', false)).toEqual([]);
  });

  it('allows port 0 for listen addresses (bind any free port)', () => {
    expect(problemsWith('s3.listen', '127.0.0.1:0')).toEqual([]);
    expect(problemsWith('rpc.listen', '[::1]:0')).toEqual([]);
  });

  it('throws one InvalidConfig listing every problem', () => {
    const tree = validTree();
    setPath(tree, 'replication.factor', 0);
    setPath(tree, 'log.level', 'loud');
    setPath(tree, 's3.listen', 'nope');
    try {
      validateConfig(tree);
      expect.unreachable();
    } catch (err) {
      expect(isErrorCode(err, 'InvalidConfig')).toBe(true);
      const message = (err as Error).message;
      expect(message.split('\n')[0]).toBe('invalid configuration (3 problems):');
      expect(message).toContain('config: replication.factor = 0; expected an integer ≥ 1');
      expect(message).toContain('config: log.level = "loud"');
      expect(message).toContain('config: s3.listen = "nope"');
    }
  });

  it('rejects unknown keys in a literal tree', () => {
    const tree = { ...validTree(), colour: 'blue' };
    expect(checkConfig(tree).problems).toContain('config: colour: unknown key');
  });

  it('counts only members with capacity > 0 towards N', () => {
    const tree = validTree();
    (tree['cluster'] as { members: { capacity: number }[] }).members[2]!.capacity = 0;
    expect(checkConfig(tree).problems).toEqual(['config: replication.factor = 3; expected at most the number of cluster.members with capacity > 0 (2)']);
  });

  it('asks for members when there are none', () => {
    const tree = validTree();
    setPath(tree, 'cluster.members', []);
    expect(checkConfig(tree).problems).toEqual(['config: replication.factor = 3; expected at most the number of cluster.members with capacity > 0 (0); set cluster.members']);
  });
});

describe('warnings', () => {
  it('allows a gateway-only node absent from members, with a warning', () => {
    const tree = validTree();
    tree['nodeId'] = 'gw1';
    const check = checkConfig(tree);
    expect(check.problems).toEqual([]);
    expect(check.warnings).toContain('nodeId gw1 is not in cluster.members: this node runs as a gateway only and stores no data');
  });

  it('warns when R + W ≤ N', () => {
    const tree = validTree();
    setPath(tree, 'replication.readQuorum', 1);
    setPath(tree, 'replication.writeQuorum', 1);
    expect(checkConfig(tree).warnings).toContain('replication: R (1) + W (1) ≤ N (3): a read may miss the latest acknowledged write');
  });

  it("warns when rpc.listen's port differs from the node's member address", () => {
    const tree = validTree();
    setPath(tree, 'rpc.listen', '0.0.0.0:9200');
    expect(checkConfig(tree).warnings.some((w) => w.startsWith('rpc.listen port 9200 differs'))).toBe(true);
  });
});

describe('key table', () => {
  it('has unique paths and environment variables, and every default is valid', () => {
    const paths = CONFIG_KEYS.map((k) => k.path);
    const envs = CONFIG_KEYS.flatMap((k) => (k.fileEnv !== undefined ? [k.env, k.fileEnv] : [k.env]));
    expect(new Set(paths).size).toBe(paths.length);
    expect(new Set(envs).size).toBe(envs.length);
    for (const env of envs) expect(env).toMatch(/^RINGSTORE_[A-Z0-9_]+$/);
    // validTree sets only the required keys; the rest are defaults.
    expect(checkConfig(validTree()).problems).toEqual([]);
  });

  it('marks exactly the secrets as secret, each with a *_FILE variable', () => {
    expect(CONFIG_KEYS.filter((k) => k.secret).map((k) => [k.path, k.env, k.fileEnv])).toEqual([
      ['s3.secretKey', 'RINGSTORE_SECRET_KEY', 'RINGSTORE_SECRET_KEY_FILE'],
      ['rpc.secret', 'RINGSTORE_CLUSTER_SECRET', 'RINGSTORE_CLUSTER_SECRET_FILE'],
      ['admin.token', 'RINGSTORE_ADMIN_TOKEN', 'RINGSTORE_ADMIN_TOKEN_FILE'],
      ['metrics.token', 'RINGSTORE_METRICS_TOKEN', 'RINGSTORE_METRICS_TOKEN_FILE'],
    ]);
  });
});
