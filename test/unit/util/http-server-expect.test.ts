import { afterEach, describe, expect, it } from 'vitest';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { startHttpServer, type StartedHttpServer } from '../../../src/util/http-server.js';

/** Answers after reading the body, or at once (without reading it) for /refuse. */
function handler(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/refuse') {
    res.writeHead(403, { connection: 'close' }).end('refused');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => res.writeHead(200).end(`got ${Buffer.concat(chunks).toString()}`));
}

let server: StartedHttpServer | undefined;
afterEach(async () => {
  await server?.close(0);
  server = undefined;
});

function exchange(path: string, expectValue: string, body: string, waitForContinue: boolean): Promise<{ status: number; body: string; continued: boolean }> {
  const port = Number(server!.address.split(':').pop());
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path, agent: false, headers: { expect: expectValue, 'content-length': String(body.length) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, continued }));
    });
    req.on('error', reject);
    if (waitForContinue) {
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.flushHeaders();
    } else req.end(body);
  });
}

describe('startHttpServer: Expect', () => {
  it('100-continue: 100 Continue once the handler reads the body, then its answer', async () => {
    server = await startHttpServer(handler, '127.0.0.1:0');
    expect(await exchange('/put', '100-continue', 'abc', true)).toEqual({ status: 200, body: 'got abc', continued: true });
  });

  it('100-continue refused before the body is read: the answer comes without a 100', async () => {
    server = await startHttpServer(handler, '127.0.0.1:0');
    expect(await exchange('/refuse', '100-continue', 'abc', true)).toEqual({ status: 403, body: 'refused', continued: false });
  });

  it.each(['', 'foo', '200-ok'])('Expect "%s" is served (Node alone answers 417)', async (value) => {
    server = await startHttpServer(handler, '127.0.0.1:0');
    expect(await exchange('/put', value, 'xyz', false)).toMatchObject({ status: 200, body: 'got xyz' });
  });
});
