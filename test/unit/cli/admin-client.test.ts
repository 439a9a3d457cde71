import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveAdminTarget } from '../../../src/cli/admin-client.js';
import { formatStatus } from '../../../src/cli/commands/status.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rs-admin-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function devFiles(token = 'f'.repeat(40)): Promise<void> {
  await writeFile(join(dir, 'dev-cluster.json'), JSON.stringify({ nodes: [{ id: 'n1', s3: '127.0.0.1:9000', rpc: '127.0.0.1:9100' }] }));
  await writeFile(join(dir, 'dev-credentials.json'), JSON.stringify({ accessKey: 'A', secretKey: 'B', clusterSecret: 'C', adminToken: token }));
}

describe('resolveAdminTarget', () => {
  it("finds the dev cluster's admin address and token in the data dir when nothing is given", async () => {
    await devFiles();
    expect(await resolveAdminTarget(undefined, {}, dir)).toEqual({ url: 'http://127.0.0.1:9100', token: 'f'.repeat(40) });
  });

  it('prefers --admin and RINGSTORE_ADMIN_TOKEN over the dev cluster', async () => {
    await devFiles();
    expect(await resolveAdminTarget('10.0.0.5:9100', { RINGSTORE_ADMIN_TOKEN: 't'.repeat(20) }, dir)).toEqual({ url: 'http://10.0.0.5:9100', token: 't'.repeat(20) });
    expect(await resolveAdminTarget(undefined, { RINGSTORE_ADMIN_URL: 'http://h:1/', RINGSTORE_ADMIN_TOKEN: 'x'.repeat(20) }, dir)).toEqual({ url: 'http://h:1', token: 'x'.repeat(20) });
  });

  it('says what to set when there is no address or no token', async () => {
    await expect(resolveAdminTarget(undefined, {}, dir)).rejects.toThrow(/--admin/);
    await expect(resolveAdminTarget('127.0.0.1:9100', {}, dir)).rejects.toThrow(/RINGSTORE_ADMIN_TOKEN/);
    await expect(resolveAdminTarget('http://[bad', { RINGSTORE_ADMIN_TOKEN: 'x'.repeat(20) }, dir)).rejects.toThrow(/expected http:\/\/HOST:PORT/);
  });
});

describe('formatStatus', () => {
  it('prints a row per member with its state and share, and each node background section', () => {
    const text = formatStatus({
      layoutVersion: 3,
      via: 'n1',
      members: [
        {
          id: 'n1',
          address: '127.0.0.1:9100',
          zone: 'z1',
          capacity: 1,
          state: 'up',
          share: 0.6,
          status: { node: 'n1', s3: '127.0.0.1:9000', uptimeMs: 61_000, layout: { version: 3, members: [] }, hints: { queued: 2, bytes: 100 } },
        },
        { id: 'n2', address: '127.0.0.1:9101', zone: 'z2', capacity: 1, state: 'unreachable', share: 0.4, error: 'connect ECONNREFUSED' },
      ],
    });
    expect(text).toContain('layout version 3');
    expect(text).toMatch(/n1\s+up\s+z1\s+1\s+60\.0%\s+127\.0\.0\.1:9100\s+61s/);
    expect(text).toMatch(/n2\s+unreachable\s+z2/);
    expect(text).toContain('n2: connect ECONNREFUSED');
    expect(text).toContain('n1 hints: queued=2 bytes=100');
  });
});
