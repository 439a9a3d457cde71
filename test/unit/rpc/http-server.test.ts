import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { formatHostPort, parseHostPort, startHttpServer, type StartedHttpServer } from '../../../src/util/http-server.js';
import { RingstoreError } from '../../../src/util/errors.js';

const servers: StartedHttpServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close(100);
});

describe('parseHostPort / formatHostPort', () => {
  it.each([
    ['127.0.0.1:9100', '127.0.0.1', 9100],
    ['node-1.local:0', 'node-1.local', 0],
    ['[::1]:9000', '::1', 9000],
  ])('parses %s', (address, host, port) => {
    expect(parseHostPort(address)).toEqual({ host, port });
    expect(formatHostPort(host, port)).toBe(address);
  });

  it.each(['9100', 'host:', ':9100', 'host:65536', '::1:9000', 'a b:1', 'http://x:1', 'x:1/path'])('rejects %s', (address) => {
    expect(() => parseHostPort(address)).toThrow(RingstoreError);
  });
});

describe('startHttpServer', () => {
  it('listens on a free port and reports the bound address', async () => {
    const s = await startHttpServer((_req, res) => res.end('hi'), '127.0.0.1:0');
    servers.push(s);
    expect(s.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(s.address).not.toBe('127.0.0.1:0');
    expect(s.server.keepAliveTimeout).toBe(65_000);
    expect(s.server.requestTimeout).toBe(0);
    const res = await request(`http://${s.address}/`);
    expect(await res.body.text()).toBe('hi');
  });

  it('close() lets an in-flight request finish and closes idle keep-alive sockets', async () => {
    const s = await startHttpServer((req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('done'), 200);
      else res.end('fast');
    }, '127.0.0.1:0');
    const agent = new Agent({ keepAliveTimeout: 60_000 });
    try {
      // One idle keep-alive connection, one busy one.
      await (await request(`http://${s.address}/fast`, { dispatcher: agent })).body.text();
      const slow = request(`http://${s.address}/slow`, { dispatcher: agent });
      await new Promise((r) => setTimeout(r, 50));
      const started = Date.now();
      const closed = s.close(5_000);
      expect(await (await slow).body.text()).toBe('done');
      await closed;
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(s.server.listening).toBe(false);
    } finally {
      await agent.close();
    }
  });

  it('close() cuts requests still running at the deadline', async () => {
    const s = await startHttpServer(() => {
      // never answers
    }, '127.0.0.1:0');
    const pending = request(`http://${s.address}/hang`).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await s.close(200);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(await pending).toMatchObject({ code: expect.stringMatching(/^UND_ERR_SOCKET$|^ECONNRESET$/) });
    await s.close(); // idempotent
  });

  it('fails to start on an address in use', async () => {
    const s = await startHttpServer((_req, res) => res.end(), '127.0.0.1:0');
    servers.push(s);
    await expect(startHttpServer((_req, res) => res.end(), s.address)).rejects.toThrow(/EADDRINUSE/);
  });
});
