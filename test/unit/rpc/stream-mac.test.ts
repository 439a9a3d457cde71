import { describe, expect, it } from 'vitest';
import { streamMac } from '../../../src/rpc/auth.js';
import { verifiedStream, type StreamCheck } from '../../../src/rpc/server.js';
import { RingstoreError } from '../../../src/util/errors.js';

const SECRET = 'cluster-secret-for-tests';
const caller = { nodeId: 'n1', timestampMs: 0, signature: 'ab'.repeat(32) };

async function* chunked(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function drain(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of source) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

describe('verifiedStream (the stage body and its trailing MAC)', () => {
  const body = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
  const framed = Buffer.concat([body, streamMac(SECRET, caller.signature).update(body).digest()]);

  it.each([1, 7, 31, 32, 33, 1000, 100_000])('passes the body through without its MAC, in chunks of %i', async (size) => {
    const check: StreamCheck = { verified: false };
    expect((await drain(verifiedStream(chunked(framed, size), SECRET, caller, check))).equals(body)).toBe(true);
    expect(check.verified).toBe(true);
  });

  it('accepts an empty body followed by its MAC', async () => {
    const check: StreamCheck = { verified: false };
    const mac = streamMac(SECRET, caller.signature).digest();
    expect((await drain(verifiedStream(chunked(mac, 5), SECRET, caller, check))).length).toBe(0);
    expect(check.verified).toBe(true);
  });

  it.each([
    [
      'a changed body byte',
      (() => {
        const b = Buffer.from(framed);
        b.writeUInt8(b.readUInt8(10) ^ 1, 10);
        return b;
      })(),
    ],
    ["another request's MAC", Buffer.concat([body, streamMac(SECRET, 'cd'.repeat(32)).update(body).digest()])],
    ['no MAC at all', body],
    ['a body shorter than a MAC', Buffer.from('short')],
  ])('fails at the end with RpcUnauthorized for %s', async (_name, data) => {
    const check: StreamCheck = { verified: false };
    const err = await drain(verifiedStream(chunked(data, 64), SECRET, caller, check)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RingstoreError);
    expect((err as RingstoreError).code).toBe('RpcUnauthorized');
    expect(check.verified).toBe(false);
  });
});
