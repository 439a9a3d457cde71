import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { isRecycling, resumeAfter, sendBody } from '../../../src/util/send-body.js';

/** A body of `count` chunks that records which chunks came back, and whether it was destroyed. */
function recyclingSource(count: number, size: number, failAt?: number) {
  const made: Buffer[] = [];
  const recycled = new Set<Uint8Array>();
  let i = 0;
  const stream = Object.assign(
    new Readable({
      // One chunk per read(), as the store's file streams do.
      objectMode: true,
      read() {
        if (i === failAt) {
          this.destroy(new Error('disk went away'));
          return;
        }
        if (i === count) {
          this.push(null);
          return;
        }
        const chunk = Buffer.alloc(size, i++ % 251);
        made.push(chunk);
        this.push(chunk);
      },
    }),
    { recycle: (chunk: Uint8Array) => recycled.add(chunk) },
  );
  return { stream, made, recycled };
}

async function serve(handler: (res: ServerResponse) => Promise<void>): Promise<{ server: Server; url: string; done: Promise<unknown> }> {
  let settle!: (v: unknown) => void;
  const done = new Promise((r) => (settle = r));
  const server = createServer((_req, res) => {
    res.statusCode = 200;
    handler(res).then(
      () => settle('ok'),
      (err: unknown) => settle(err),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, done };
}

describe('sendBody', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  it('sends every byte and takes back every chunk only after the socket has it', async () => {
    const source = recyclingSource(40, 256 * 1024);
    expect(isRecycling(source.stream)).toBe(true);
    const s = await serve((res) => sendBody(res, source.stream, (chunk) => source.stream.recycle(chunk)));
    server = s.server;
    const res = await request(s.url);
    const body = Buffer.from(await res.body.arrayBuffer());
    expect(await s.done).toBe('ok');
    expect(body.equals(Buffer.concat(source.made))).toBe(true);
    expect(source.made.every((c) => source.recycled.has(c))).toBe(true);
  });

  it('cuts the connection when the source fails half-way, so the client sees a short body', async () => {
    const source = recyclingSource(40, 256 * 1024, 20);
    const s = await serve((res) => sendBody(res, source.stream));
    server = s.server;
    const res = await request(s.url);
    await expect(res.body.arrayBuffer()).rejects.toThrow(/terminated|other side closed/);
    expect(await s.done).toMatchObject({ message: 'disk went away' });
  });

  it('stops reading and destroys the source when the client goes away', async () => {
    // Far more than the socket buffers hold, so the writer is waiting on the client.
    const source = recyclingSource(4096, 256 * 1024);
    const chunks = source.stream[Symbol.asyncIterator]();
    const first = await chunks.next();
    const s = await serve((res) => sendBody(res, resumeAfter(first, chunks)));
    server = s.server;
    const res = await request(s.url);
    for await (const _ of res.body) break;
    expect(await s.done).toBe('ok');
    expect(source.stream.destroyed).toBe(true);
    expect(source.made.length).toBeLessThan(4096);
  });
});
