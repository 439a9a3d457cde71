import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { serverCommand, waitForShutdown } from '../../../src/cli/commands/server.js';
import { CONFIG_KEYS, META_ENV } from '../../../src/config/schema.js';
import { silentLogger } from '../../../src/util/logger.js';
import { capture } from './capture.js';

beforeEach(() => {
  // The loader reads process.env: make sure no RINGSTORE_* setting of the machine leaks in.
  for (const spec of CONFIG_KEYS) {
    vi.stubEnv(spec.env, '');
    if (spec.fileEnv !== undefined) vi.stubEnv(spec.fileEnv, '');
  }
  vi.stubEnv(META_ENV.config, '');
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('ringstore server with a bad config', () => {
  it('prints every problem to stderr, no stack trace, and exits 2 without starting a node', async () => {
    const { result, stdout, stderr } = await capture(() => serverCommand.run(['--replication.factor', '0', '--log.level', 'loud']));
    expect(result).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('invalid configuration (');
    expect(stderr).toContain('config: replication.factor = 0; expected an integer ≥ 1 (from --replication.factor)');
    expect(stderr).toContain('config: log.level = "loud"; expected one of trace, debug, info, warn, error, fatal, silent (from --log.level)');
    expect(stderr).toContain('config: nodeId = (not set)');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('reports an unreadable --config file and exits 2', async () => {
    const { result, stderr } = await capture(() => serverCommand.run(['--config', '/nonexistent/ringstore.json']));
    expect(result).toBe(2);
    expect(stderr).toContain('cannot read config file /nonexistent/ringstore.json (ENOENT)');
  });
});

describe('waitForShutdown', () => {
  it('stops the node once on the first signal and resolves 0; a second signal forces exit', async () => {
    let release: () => void = () => {};
    const stop = vi.fn(() => new Promise<void>((r) => (release = r)));
    const forceExit = vi.fn();
    const done = waitForShutdown({ stop }, silentLogger, { forceExit });
    process.emit('SIGTERM', 'SIGTERM');
    expect(stop).toHaveBeenCalledTimes(1);
    process.emit('SIGINT', 'SIGINT');
    expect(forceExit).toHaveBeenCalledTimes(1);
    expect(stop).toHaveBeenCalledTimes(1);
    release();
    await expect(done).resolves.toBe(0);
  });

  it('resolves 2 when stop fails', async () => {
    const done = waitForShutdown({ stop: () => Promise.reject(new Error('disk gone')) }, silentLogger, { forceExit: () => {} });
    process.emit('SIGINT', 'SIGINT');
    await expect(done).resolves.toBe(2);
  });

  it('resolves 2 when stop outlasts the deadline', async () => {
    const done = waitForShutdown({ stop: () => new Promise<void>(() => {}) }, silentLogger, { deadlineMs: 20, forceExit: () => {} });
    process.emit('SIGTERM', 'SIGTERM');
    await expect(done).resolves.toBe(2);
  });

  it('removes its signal listeners once done', async () => {
    const before = process.listenerCount('SIGTERM');
    const done = waitForShutdown({ stop: () => Promise.resolve() }, silentLogger);
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    process.emit('SIGTERM', 'SIGTERM');
    await done;
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
