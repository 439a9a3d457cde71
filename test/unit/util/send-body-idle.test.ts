/**
 * A streamed response whose reader stops taking data is cut after the idle timeout (the
 * response, its buffers and its source are released); a reader that pauses for less than that
 * gets the whole body.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sendBody } from '../../../src/util/send-body.js';

const IDLE = 300;
const CHUNK = 512 * 1024;

/** `count` chunks of CHUNK bytes; `closed` resolves when the source is released. */
function source(count: number): { chunks: AsyncGenerator<Uint8Array>; released: Promise<void> } {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  async function* gen(): AsyncGenerator<Uint8Array> {
    try {
      for (let i = 0; i < count; i++) yield Buffer.alloc(CHUNK, i);
    } finally {
      release();
    }
  }
  return { chunks: gen(), released };
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  server = undefined;
});

async function serve(handler: (res: ServerResponse) => Promise<void>): Promise<{ port: number; done: Promise<number> }> {
  let settle!: (ms: number) => void;
  const done = new Promise<number>((r) => (settle = r));
  server = createServer((_req, res) => {
    const started = performance.now();
    res.statusCode = 200;
    void handler(res).finally(() => settle(performance.now() - started));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, done };
}

describe('sendBody idle timeout', () => {
  it('cuts a response whose reader stops reading, and releases its source', async () => {
    const body = source(400); // 200 MiB: far more than the socket buffers hold
    let response: ServerResponse | undefined;
    const { port, done } = await serve(async (res) => {
      response = res;
      await sendBody(res, body.chunks, undefined, IDLE);
    });
    const client = connect(port, '127.0.0.1', () => client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    client.on('error', () => undefined);
    client.pause();
    const took = await done;
    await body.released;
    client.destroy();
    expect(response?.destroyed).toBe(true);
    expect(response?.writableFinished).toBe(false);
    expect(took).toBeGreaterThanOrEqual(IDLE - 20);
    expect(took).toBeLessThan(IDLE + 2000);
  });

  it('delivers the whole body to a reader that pauses for less than the timeout', async () => {
    const count = 24; // 12 MiB
    const body = source(count);
    const { port, done } = await serve((res) => sendBody(res, body.chunks, undefined, IDLE));
    let received = 0;
    const ended = new Promise<void>((resolve) => {
      const client = connect(port, '127.0.0.1', () => client.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      client.on('data', (d: Buffer) => {
        received += d.length;
        // A short pause now and then, each well below the idle timeout.
        if (received % (4 * 1024 * 1024) < d.length) {
          client.pause();
          setTimeout(() => client.resume(), IDLE / 3);
        }
      });
      client.on('close', () => resolve());
    });
    await ended;
    await done;
    expect(received).toBeGreaterThan(count * CHUNK);
  });
});
