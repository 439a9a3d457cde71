import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { healthCommand } from '../../../src/cli/commands/health.js';
import { connectAddress } from '../../../src/util/http-probe.js';
import { capture } from './capture.js';

let server: Server;
let port = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/health') res.writeHead(200).end('ok');
    else if (req.url === '/ready') res.writeHead(503).end('layout not known yet');
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('ringstore health', () => {
  it('exits 0 and prints ok when /health answers 200', async () => {
    const { result, stdout } = await capture(() => healthCommand.run(['--address', `127.0.0.1:${port}`]));
    expect(result).toBe(0);
    expect(stdout).toBe(`ok: GET http://127.0.0.1:${port}/health → 200\n`);
  });

  it('exits 1 when /ready answers 503 (alive, not ready)', async () => {
    const { result, stderr } = await capture(() => healthCommand.run(['--address', `127.0.0.1:${port}`, '--ready']));
    expect(result).toBe(1);
    expect(stderr).toContain('→ 503: layout not known yet');
  });

  it('exits 2 when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const { result, stderr } = await capture(() => healthCommand.run(['--address', `127.0.0.1:${deadPort}`, '--timeout', '1000']));
    expect(result).toBe(2);
    expect(stderr).toContain('down: GET');
    expect(stderr).toContain('ECONNREFUSED');
  });

  it('finds the address from s3.listen, reaching a wildcard host on loopback', async () => {
    vi.stubEnv('RINGSTORE_CONFIG', '');
    vi.stubEnv('RINGSTORE_S3_LISTEN', `0.0.0.0:${port}`);
    const { result } = await capture(() => healthCommand.run([]));
    expect(result).toBe(0);
  });

  it('exits 2 on a bad --address or --timeout', async () => {
    expect((await capture(() => healthCommand.run(['--address', 'nope']))).result).toBe(2);
    expect((await capture(() => healthCommand.run(['--timeout', 'soon']))).result).toBe(2);
  });
});

describe('connectAddress', () => {
  it.each([
    ['0.0.0.0:9000', '127.0.0.1:9000'],
    ['[::]:9000', '[::1]:9000'],
    ['10.0.0.5:9000', '10.0.0.5:9000'],
    ['node1:9000', 'node1:9000'],
  ])('%s → %s', (listen, address) => {
    expect(connectAddress(listen)).toBe(address);
  });
});
