import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { CONFIG_KEYS, META_ENV } from '../../../src/config/schema.js';
import { getPath } from '../../../src/config/values.js';
import { BASE_ENV } from './fixtures.js';

const root = (path: string): string => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const CREDENTIALS = ['s3.accessKey', 's3.secretKey', 'rpc.secret'];
const SECRETS_ONLY = {
  RINGSTORE_ACCESS_KEY: BASE_ENV['RINGSTORE_ACCESS_KEY']!,
  RINGSTORE_SECRET_KEY: BASE_ENV['RINGSTORE_SECRET_KEY']!,
  RINGSTORE_CLUSTER_SECRET: BASE_ENV['RINGSTORE_CLUSTER_SECRET']!,
};

describe('docs/configuration.md', () => {
  const doc = readFileSync(root('docs/configuration.md'), 'utf8');

  it.each(CONFIG_KEYS.map((k) => [k.path, k]))('documents %s, its variable(s) and its default', (path, spec) => {
    expect(doc).toContain(`\`${path}\``);
    expect(doc).toContain(`\`${spec.env}\``);
    if (spec.fileEnv !== undefined) expect(doc).toContain(`\`${spec.fileEnv}\``);
    if (spec.default === '') expect(doc).toContain('`""`');
    else if (typeof spec.default === 'string' || typeof spec.default === 'boolean') expect(doc).toContain(`\`${String(spec.default)}\``);
    if (typeof spec.default === 'number' && spec.kind === 'int') expect(doc).toContain(`\`${spec.default}\``);
    if (typeof spec.default === 'number' && spec.kind === 'size') expect(doc).toContain(`(${spec.default})`);
  });

  it('documents the loader variables', () => {
    for (const name of Object.values(META_ENV)) expect(doc).toContain(`\`${name}\``);
  });
});

describe('config files in the repository', () => {
  it('config/example.json has every key except the credentials, at its default, and is valid', () => {
    const example = JSON.parse(readFileSync(root('config/example.json'), 'utf8')) as unknown;
    const missing = CONFIG_KEYS.filter((k) => getPath(example, k.path) === undefined).map((k) => k.path);
    expect(missing).toEqual(CREDENTIALS);
    const config = loadConfig({ file: root('config/example.json'), env: SECRETS_ONLY, flags: {} });
    for (const spec of CONFIG_KEYS) if (spec.default !== undefined && spec.kind !== 'members') expect(getPath(config, spec.path), spec.path).toEqual(spec.default);
  });

  it('config/compose.json is valid for node1..node3 with the compose.env secrets', () => {
    for (const id of ['node1', 'node2', 'node3']) {
      const config = loadConfig({ file: root('config/compose.json'), env: { ...SECRETS_ONLY, RINGSTORE_NODE_ID: id }, flags: {} });
      expect(config.dataDir).toBe('/data');
      expect(config.s3.listen).toBe('0.0.0.0:9000');
      expect(config.cluster.members.find((m) => m.id === id)?.address).toBe(`${id}:9100`);
    }
  });

  it('config/docker.json (the image default) is valid with node id, members and secrets from the environment', () => {
    const env = {
      ...SECRETS_ONLY,
      RINGSTORE_NODE_ID: 'n1',
      RINGSTORE_CLUSTER_MEMBERS: 'n1@127.0.0.1:9100/z1/1',
      RINGSTORE_REPLICATION_FACTOR: '1',
      RINGSTORE_REPLICATION_READ_QUORUM: '1',
      RINGSTORE_REPLICATION_WRITE_QUORUM: '1',
    };
    const config = loadConfig({ file: root('config/docker.json'), env, flags: {} });
    expect(config).toMatchObject({ dataDir: '/data', s3: { listen: '0.0.0.0:9000' }, rpc: { listen: '0.0.0.0:9100' } });
  });

  it('compose.env.example names the secrets without values', () => {
    const example = readFileSync(root('compose.env.example'), 'utf8');
    for (const name of ['RINGSTORE_ACCESS_KEY', 'RINGSTORE_SECRET_KEY', 'RINGSTORE_CLUSTER_SECRET']) expect(example).toMatch(new RegExp(`^${name}=$`, 'm'));
  });
});
