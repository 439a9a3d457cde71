import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { configPrintCommand } from '../../../src/cli/commands/config.js';
import { CONFIG_KEYS, META_ENV } from '../../../src/config/schema.js';
import { capture } from './capture.js';

const example = fileURLToPath(new URL('../../../config/example.json', import.meta.url));

beforeEach(() => {
  for (const spec of CONFIG_KEYS) {
    vi.stubEnv(spec.env, '');
    if (spec.fileEnv !== undefined) vi.stubEnv(spec.fileEnv, '');
  }
  vi.stubEnv(META_ENV.config, '');
  vi.stubEnv('RINGSTORE_ACCESS_KEY', 'AKPRINT');
  vi.stubEnv('RINGSTORE_SECRET_KEY', 'print-secret-key');
  vi.stubEnv('RINGSTORE_CLUSTER_SECRET', 'print-cluster-secret-0000');
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('ringstore config print', () => {
  it('prints the effective config as JSON with secrets redacted, exit 0', async () => {
    const { result, stdout, stderr } = await capture(() => configPrintCommand.run(['--config', example, '--s3.listen', '127.0.0.1:9500']));
    expect(stderr).toBe('');
    expect(result).toBe(0);
    const printed = JSON.parse(stdout) as { s3: Record<string, unknown>; rpc: Record<string, unknown>; nodeId: string };
    expect(printed.nodeId).toBe('n1');
    expect(printed.s3).toMatchObject({ listen: '127.0.0.1:9500', accessKey: 'AKPRINT', secretKey: '[redacted]' });
    expect(printed.rpc['secret']).toBe('[redacted]');
    expect(stdout).not.toContain('print-secret-key');
    expect(stdout).not.toContain('print-cluster-secret');
  });

  it('--sources shows where each value came from', async () => {
    const { stdout } = await capture(() => configPrintCommand.run(['--config', example, '--sources', '--log.level', 'debug']));
    expect(stdout).toContain('log.level = "debug"  (--log.level)');
    expect(stdout).toContain(`s3.region = "us-east-1"  (config file ${example})`);
    expect(stdout).toContain('rpc.secret = "[redacted]"  (RINGSTORE_CLUSTER_SECRET)');
  });

  it('still prints a broken config, then lists the problems on stderr and exits 2', async () => {
    const { result, stdout, stderr } = await capture(() => configPrintCommand.run(['--config', example, '--replication.factor', '0']));
    expect(result).toBe(2);
    expect(JSON.parse(stdout)).toMatchObject({ replication: { factor: 0 }, s3: { secretKey: '[redacted]' } });
    expect(stderr).toContain('config: replication.factor = 0; expected an integer ≥ 1 (from --replication.factor)');
  });
});
