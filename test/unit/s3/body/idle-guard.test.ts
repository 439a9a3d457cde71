/**
 * The request body idle timer: a body that stops arriving fails the upload with RequestTimeout
 * (without destroying the request, so the error can be answered); time the body waits for us
 * (back-pressure) does not count.
 */
import { PassThrough, Transform } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { verifiedStream } from '../../../../src/s3/body/request-stream.js';
import { S3Error } from '../../../../src/s3/errors.js';

const IDLE = 200;

function identity(): Transform {
  return new Transform({ transform: (chunk: Buffer, _e, cb) => cb(null, chunk) });
}

describe('request body idle timeout', () => {
  it('fails a body that stops arriving with RequestTimeout, leaving the request itself open', async () => {
    const req = new PassThrough();
    const out = verifiedStream(req, [identity()], IDLE);
    req.write(Buffer.alloc(1000));
    const started = performance.now();
    const chunks: Buffer[] = [];
    const err = await (async () => {
      for await (const c of out) chunks.push(c as Buffer);
    })().catch((e: unknown) => e);
    const took = performance.now() - started;
    expect(err).toBeInstanceOf(S3Error);
    expect((err as S3Error).code).toBe('RequestTimeout');
    expect((err as S3Error).status).toBe(400);
    expect(took).toBeGreaterThanOrEqual(IDLE - 20);
    expect(took).toBeLessThan(IDLE + 1000);
    expect(req.destroyed).toBe(false);
  });

  it('does not count time the body is paused because we do not read it', async () => {
    const req = new PassThrough();
    const out = verifiedStream(req, [identity()], IDLE);
    // Far more than the buffers hold, so the pipe pauses the request.
    for (let i = 0; i < 64; i++) req.write(Buffer.alloc(64 * 1024));
    req.end();
    await new Promise((r) => setTimeout(r, IDLE * 3));
    let size = 0;
    for await (const c of out) size += (c as Buffer).length;
    expect(size).toBe(64 * 64 * 1024);
  });

  it('is not armed once the body has ended', async () => {
    const req = new PassThrough();
    const out = verifiedStream(req, [identity()], IDLE);
    req.end(Buffer.from('all of it'));
    const chunks: Buffer[] = [];
    for await (const c of out) chunks.push(c as Buffer);
    await new Promise((r) => setTimeout(r, IDLE * 2));
    expect(Buffer.concat(chunks).toString()).toBe('all of it');
  });
});
