import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, resolveConfig } from '../../../src/config/load.js';
import { isErrorCode, type RingstoreError } from '../../../src/util/errors.js';
import { BASE_ENV } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'ringstore-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function file(content: unknown, mode = 0o600): string {
  const path = join(dir, `f${fileCount++}`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  chmodSync(path, mode);
  return path;
}

function loadError(run: () => unknown): RingstoreError {
  try {
    run();
  } catch (err) {
    if (isErrorCode(err, 'InvalidConfig')) return err;
    throw err;
  }
  throw new Error('expected InvalidConfig');
}

describe('loadConfig precedence: defaults < file < env < flags', () => {
  const configFile = file({ s3: { listen: '127.0.0.1:7001' }, rpc: { timeoutMs: 1111 }, store: { fsync: false } });

  it.each([
    { sources: 'default only', file: undefined, env: {}, flags: {}, listen: '127.0.0.1:9000', timeoutMs: 5000, fsync: true },
    { sources: 'file', file: configFile, env: {}, flags: {}, listen: '127.0.0.1:7001', timeoutMs: 1111, fsync: false },
    {
      sources: 'file + env',
      file: configFile,
      env: { RINGSTORE_S3_LISTEN: '127.0.0.1:7002', RINGSTORE_RPC_TIMEOUT_MS: '2222', RINGSTORE_STORE_FSYNC: 'yes' },
      flags: {},
      listen: '127.0.0.1:7002',
      timeoutMs: 2222,
      fsync: true,
    },
    {
      sources: 'file + env + flags',
      file: configFile,
      env: { RINGSTORE_S3_LISTEN: '127.0.0.1:7002', RINGSTORE_RPC_TIMEOUT_MS: '2222' },
      flags: { 's3.listen': '127.0.0.1:7003', 'rpc.timeoutMs': '3333', 'store.fsync': 'off' },
      listen: '127.0.0.1:7003',
      timeoutMs: 3333,
      fsync: false,
    },
    { sources: 'file + flags', file: configFile, env: {}, flags: { 'rpc.timeoutMs': '4444' }, listen: '127.0.0.1:7001', timeoutMs: 4444, fsync: false },
  ])('$sources', ({ file: f, env, flags, listen, timeoutMs, fsync }) => {
    const config = loadConfig({ file: f, env: { ...BASE_ENV, ...env }, flags });
    expect(config.s3.listen).toBe(listen);
    expect(config.rpc.timeoutMs).toBe(timeoutMs);
    expect(config.store.fsync).toBe(fsync);
  });

  it('reads the file named by RINGSTORE_CONFIG when --config is absent, and --config wins over it', () => {
    const other = file({ s3: { listen: '127.0.0.1:7009' } });
    expect(loadConfig({ env: { ...BASE_ENV, RINGSTORE_CONFIG: configFile }, flags: {} }).s3.listen).toBe('127.0.0.1:7001');
    expect(loadConfig({ file: other, env: { ...BASE_ENV, RINGSTORE_CONFIG: configFile }, flags: {} }).s3.listen).toBe('127.0.0.1:7009');
  });

  it('applies every default and derives dataDir from nodeId', () => {
    const config = loadConfig({ env: BASE_ENV, flags: {} });
    expect(config).toMatchObject({
      nodeId: 'n1',
      dataDir: './data/n1',
      s3: { listen: '127.0.0.1:9000', region: 'us-east-1', maxObjectSize: 5 * 1024 ** 3 },
      rpc: { listen: '127.0.0.1:9100', timeoutMs: 5000 },
      replication: { factor: 3, readQuorum: 2, writeQuorum: 2, readRepairPercent: 10 },
      ring: { vnodesPerUnit: 2048 },
      store: { inlineThreshold: 65536, fsync: true },
      cluster: { pingIntervalMs: 250, pingTimeoutMs: 1000, downAfterMisses: 2 },
      log: { level: 'info' },
    });
    expect(config.cluster.members.map((m) => m.id)).toEqual(['n1', 'n2', 'n3']);
  });

  it('treats an empty environment variable as unset', () => {
    expect(loadConfig({ env: { ...BASE_ENV, RINGSTORE_S3_LISTEN: '' }, flags: {} }).s3.listen).toBe('127.0.0.1:9000');
  });

  it('accepts sizes with units from the file, env and flags', () => {
    const f = file({ s3: { maxObjectSize: '1GiB' } });
    expect(loadConfig({ file: f, env: BASE_ENV, flags: {} }).s3.maxObjectSize).toBe(1024 ** 3);
    expect(loadConfig({ env: { ...BASE_ENV, RINGSTORE_STORE_INLINE_THRESHOLD: '4 KiB' }, flags: {} }).store.inlineThreshold).toBe(4096);
    expect(loadConfig({ env: BASE_ENV, flags: { 'store.inlineThreshold': '1.5KB' } }).store.inlineThreshold).toBe(1500);
  });

  it('reads members from the environment in compact or JSON form', () => {
    const json = JSON.stringify([{ id: 'a', address: 'h1:1', zone: 'z', capacity: 2 }]);
    const config = loadConfig({
      env: { ...BASE_ENV, RINGSTORE_NODE_ID: 'a', RINGSTORE_CLUSTER_MEMBERS: json, RINGSTORE_REPLICATION_FACTOR: '1', RINGSTORE_REPLICATION_READ_QUORUM: '1', RINGSTORE_REPLICATION_WRITE_QUORUM: '1' },
      flags: {},
    });
    expect(config.cluster.members).toEqual([{ id: 'a', address: 'h1:1', zone: 'z', capacity: 2 }]);
    expect(loadConfig({ env: BASE_ENV, flags: {} }).cluster.members[2]).toEqual({ id: 'n3', address: '127.0.0.1:9102', zone: 'z3', capacity: 1 });
  });

  it('rejects a malformed compact members list, naming the variable', () => {
    const err = loadError(() => loadConfig({ env: { ...BASE_ENV, RINGSTORE_CLUSTER_MEMBERS: 'n1@127.0.0.1:9100' }, flags: {} }));
    expect(err.message).toContain('config: cluster.members = "n1@127.0.0.1:9100"; expected id@host:port/zone/capacity');
    expect(err.message).toContain('(from RINGSTORE_CLUSTER_MEMBERS)');
  });

  it('names the env variable or flag a bad value came from', () => {
    const err = loadError(() => loadConfig({ env: { ...BASE_ENV, RINGSTORE_REPLICATION_FACTOR: 'three' }, flags: { 'cluster.pingIntervalMs': '5' } }));
    expect(err.message).toContain('config: replication.factor = "three"; expected an integer ≥ 1 (from RINGSTORE_REPLICATION_FACTOR)');
    expect(err.message).toContain('config: cluster.pingIntervalMs = 5; expected an integer between 10 and 600000 (from --cluster.pingIntervalMs)');
    expect(err.message).toMatch(/^invalid configuration \(2 problems\):/);
  });
});

describe('config file', () => {
  it('rejects unknown keys, naming the key path and suggesting the likely one', () => {
    const f = file({ s3: { lisen: '127.0.0.1:9000' }, replicaton: { factor: 3 } });
    const err = loadError(() => loadConfig({ file: f, env: BASE_ENV, flags: {} }));
    expect(err.message).toContain(`config: s3.lisen: unknown key in config file ${f} (did you mean s3.listen?)`);
    expect(err.message).toContain('config: replicaton: unknown key');
  });

  it('rejects unknown keys inside a member', () => {
    const f = file({ cluster: { members: [{ id: 'n1', address: 'h:1', zone: 'z', capacity: 1, weight: 2 }] } });
    const err = loadError(() => loadConfig({ file: f, env: { ...BASE_ENV, RINGSTORE_CLUSTER_MEMBERS: '' }, flags: {} }));
    expect(err.message).toContain('config: cluster.members[0].weight = 2; expected only the member keys id, address, zone, capacity');
  });

  it('rejects a section that is not an object', () => {
    const err = loadError(() => loadConfig({ file: file({ s3: 'x' }), env: BASE_ENV, flags: {} }));
    expect(err.message).toContain('config: s3 = "x"; expected an object with the keys listen, region, accessKey, secretKey, maxObjectSize');
  });

  it('reports a missing file and invalid JSON with the file name', () => {
    expect(loadError(() => loadConfig({ file: join(dir, 'nope.json'), env: BASE_ENV, flags: {} })).message).toContain(`cannot read config file ${join(dir, 'nope.json')} (ENOENT)`);
    const bad = file('{ "nodeId": ');
    expect(loadError(() => loadConfig({ file: bad, env: BASE_ENV, flags: {} })).message).toContain(`config file ${bad} is not valid JSON`);
    const array = file([]);
    expect(loadError(() => loadConfig({ file: array, env: BASE_ENV, flags: {} })).message).toContain('must hold a JSON object');
  });
});

describe('secrets from *_FILE', () => {
  const env = { ...BASE_ENV, RINGSTORE_CLUSTER_SECRET: '', RINGSTORE_SECRET_KEY: '' };

  it('reads secrets from 0600 files, dropping the trailing newline', () => {
    const cluster = file('cluster-secret-from-file-0001\n', 0o600);
    const secret = file('s3-secret-from-file', 0o400);
    const config = loadConfig({ env: { ...env, RINGSTORE_CLUSTER_SECRET_FILE: cluster, RINGSTORE_SECRET_KEY_FILE: secret }, flags: {} });
    expect(config.rpc.secret).toBe('cluster-secret-from-file-0001');
    expect(config.s3.secretKey).toBe('s3-secret-from-file');
  });

  it('refuses a world-readable (0644) secret file with a message naming the file', () => {
    const cluster = file('cluster-secret-from-file-0001\n', 0o644);
    const err = loadError(() => loadConfig({ env: { ...env, RINGSTORE_SECRET_KEY: 'sk-0123456789abcdef', RINGSTORE_CLUSTER_SECRET_FILE: cluster }, flags: {} }));
    expect(err.message).toContain(`config: rpc.secret: secret file ${cluster} (from RINGSTORE_CLUSTER_SECRET_FILE) is readable by every user (mode 0644)`);
    expect(err.message).toContain(`chmod 600 ${cluster}`);
    // The file problem is reported once, not again as "rpc.secret not set".
    expect(err.details['problems']).toHaveLength(1);
  });

  it('accepts a world-readable secret file when RINGSTORE_ALLOW_WORLD_READABLE_SECRETS=true', () => {
    const cluster = file('cluster-secret-from-file-0001', 0o644);
    const config = loadConfig({ env: { ...env, RINGSTORE_SECRET_KEY: 'sk-0123456789abcdef', RINGSTORE_CLUSTER_SECRET_FILE: cluster, RINGSTORE_ALLOW_WORLD_READABLE_SECRETS: 'true' }, flags: {} });
    expect(config.rpc.secret).toBe('cluster-secret-from-file-0001');
  });

  it('reports a missing secret file and refuses both X and X_FILE', () => {
    const missing = join(dir, 'missing-secret');
    expect(loadError(() => loadConfig({ env: { ...env, RINGSTORE_SECRET_KEY: 'sk-0123456789abcdef', RINGSTORE_CLUSTER_SECRET_FILE: missing }, flags: {} })).message).toContain(
      `config: rpc.secret: cannot read secret file ${missing} (from RINGSTORE_CLUSTER_SECRET_FILE): ENOENT`,
    );
    const both = loadError(() => loadConfig({ env: { ...BASE_ENV, RINGSTORE_SECRET_KEY_FILE: file('x') }, flags: {} }));
    expect(both.message).toContain('config: s3.secretKey: both RINGSTORE_SECRET_KEY and RINGSTORE_SECRET_KEY_FILE are set; set only one');
  });
});

describe('flags and warnings', () => {
  it('rejects an unknown flag with a suggestion', () => {
    expect(loadError(() => loadConfig({ env: BASE_ENV, flags: { 's3.listn': 'x' } })).message).toContain('config: --s3.listn: unknown option (did you mean --s3.listen?)');
  });

  it('warns about unknown RINGSTORE_* variables and secrets given as flags', () => {
    const warnings: string[] = [];
    loadConfig({ env: { ...BASE_ENV, RINGSTORE_REPLICATON_FACTOR: '2' }, flags: { 's3.secretKey': 'from-a-flag-0123456789' }, onWarning: (w) => warnings.push(w) });
    expect(warnings).toContain('environment variable RINGSTORE_REPLICATON_FACTOR is not a ringstore setting and is ignored (did you mean RINGSTORE_REPLICATION_FACTOR?)');
    expect(warnings.some((w) => w.startsWith('--s3.secretKey puts a secret on the command line'))).toBe(true);
  });

  it('resolveConfig records where each value came from', () => {
    const f = file({ s3: { region: 'eu-1' } });
    const resolved = resolveConfig({ file: f, env: { RINGSTORE_S3_LISTEN: '127.0.0.1:1' }, flags: { 'log.level': 'debug' } });
    expect(resolved.sources).toMatchObject({ 's3.region': `config file ${f}`, 's3.listen': 'RINGSTORE_S3_LISTEN', 'log.level': '--log.level' });
    expect(resolved.sources['rpc.listen']).toBeUndefined();
  });
});
