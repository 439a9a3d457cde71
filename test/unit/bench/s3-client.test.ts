import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keystream } from '../../../src/bench/bodies.js';
import { BenchS3Client } from '../../../src/bench/s3-client.js';

// A plain HTTP server stands in for the S3 endpoint: what is under test is how the client
// reads a body (compare with the reference, or hash), not S3.
const reference = keystream(1000, 300_000);
const bodies = new Map<string, Buffer>();
let server: Server;
let client: BenchS3Client;

function flipped(at: number): Buffer {
  const b = Buffer.from(reference);
  b[at] = b[at]! ^ 0x01;
  return b;
}

beforeAll(async () => {
  bodies.set('same', reference);
  bodies.set('first-byte', flipped(0));
  bodies.set('middle', flipped(150_001));
  bodies.set('last-byte', flipped(reference.length - 1));
  bodies.set('longer', Buffer.concat([reference, Buffer.from('x')]));
  bodies.set('shorter', reference.subarray(0, reference.length - 7));
  server = createServer((req, res) => {
    const body = bodies.get(req.url!.split('/').pop()!)!;
    res.writeHead(200, { 'content-length': body.length, 'x-ref': 'yes' });
    // Many small writes, so the body arrives in many chunks.
    for (let off = 0; off < body.length; off += 7_000) res.write(body.subarray(off, off + 7_000));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new BenchS3Client({ endpoint: `http://127.0.0.1:${port}`, accessKey: 'k', secretKey: 's', region: 'us-east-1', bucket: 'bkt' }, { connections: 2, timeoutMs: 10_000, signPayload: false });
});

afterAll(async () => {
  await client.close();
  await new Promise((resolve) => server.close(resolve));
});

describe('BenchS3Client.get with a reference body', () => {
  it('reports a body equal to the reference as matched', async () => {
    const got = await client.get('same', (headers) => (headers['x-ref'] === 'yes' ? reference : undefined));
    expect(got).toMatchObject({ bytes: reference.length, matched: true });
  });

  for (const name of ['first-byte', 'middle', 'last-byte', 'longer', 'shorter']) {
    it(`does not match a body that differs (${name}) and gives the CRC32 of what it read`, async () => {
      const got = await client.get(name, () => reference);
      const body = bodies.get(name)!;
      expect(got).toEqual({ bytes: body.length, matched: false, crc: crc32(body) });
    });
  }

  it('hashes the whole body when there is no reference', async () => {
    const got = await client.get('middle');
    expect(got).toEqual({ bytes: reference.length, matched: false, crc: crc32(bodies.get('middle')!) });
  });
});
