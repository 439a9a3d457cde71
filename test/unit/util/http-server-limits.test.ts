/**
 * The connection limits of `startHttpServer`: at most `maxConnections` open connections, and a
 * connection silent mid-request for `socketIdleTimeoutMs` is closed, on its first request and
 * on later keep-alive ones alike, while an idle keep-alive connection stays for keepAliveTimeout.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer, type StartedHttpServer } from '../../../src/util/http-server.js';
import { parseHostPort } from '../../../src/util/http-server.js';

let started: StartedHttpServer | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await started?.close(0);
  started = undefined;
});

function open(address: string): { socket: Socket; closed: Promise<number>; text: () => string } {
  const { host, port } = parseHostPort(address);
  const opened = performance.now();
  const socket = connect(port, host);
  sockets.push(socket);
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((r) => socket.on('close', () => r(performance.now() - opened)));
  return { socket, closed, text: () => text };
}

describe('startHttpServer limits', () => {
  it('closes connections beyond maxConnections at once', async () => {
    started = await startHttpServer((_req, res) => res.end('ok'), '127.0.0.1:0', { maxConnections: 2 });
    const a = open(started.address);
    const b = open(started.address);
    await new Promise((r) => setTimeout(r, 100));
    const c = open(started.address);
    const cClosed = await Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(-1), 2000))]);
    expect(cClosed).toBeGreaterThanOrEqual(0);
    expect(a.socket.destroyed || b.socket.destroyed).toBe(false);
  });

  it('closes a connection silent mid-request, also on a later keep-alive request', async () => {
    const idle = 300;
    // The handler answers GET /fast and never answers anything else (it hangs, silently).
    started = await startHttpServer(
      (req, res) => {
        if (req.url === '/fast') res.end('ok');
      },
      '127.0.0.1:0',
      { socketIdleTimeoutMs: idle, keepAliveTimeoutMs: 10_000 },
    );
    const conn = open(started.address);
    conn.socket.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, idle * 2));
    expect(conn.text()).toMatch(/^HTTP\/1\.1 200/);
    expect(conn.socket.destroyed).toBe(false);
    const second = performance.now();
    conn.socket.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\n');
    await Promise.race([conn.closed, new Promise((r) => setTimeout(r, 3000))]);
    const took = performance.now() - second;
    expect(conn.socket.destroyed).toBe(true);
    expect(took).toBeGreaterThanOrEqual(idle - 20);
    expect(took).toBeLessThan(idle + 1500);
  });
});
