import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AwsChunkedDecoder, encodeAwsChunked, type AwsChunkedOptions } from '../../../../src/s3/body/aws-chunked.js';
import { checksumBase64 } from '../../../../src/s3/body/checksums.js';
import { S3Error } from '../../../../src/s3/errors.js';
import { deriveSigningKey, type SigningSeed } from '../../../../src/s3/sigv4/signing.js';
import { verifyRequest } from '../../../../src/s3/sigv4/verify.js';
import { EXAMPLE_NOW, REGION, SECRET_KEY, STREAMING_BODY, STREAMING_EXAMPLE, TRAILER_EXAMPLE, authorizationFor, exampleCreds } from '../fixtures/aws-examples.js';

/** Runs `pieces` through a decoder; resolves with the decoded bytes and trailers. */
async function decode(pieces: readonly Buffer[], options: AwsChunkedOptions): Promise<{ data: Buffer; trailers: Readonly<Record<string, string>> }> {
  const decoder = new AwsChunkedDecoder(options);
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces),
    decoder,
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        out.push(chunk);
        cb();
      },
    }),
  );
  return { data: Buffer.concat(out), trailers: decoder.trailers };
}

async function decodeError(pieces: readonly Buffer[], options: AwsChunkedOptions): Promise<S3Error> {
  try {
    await decode(pieces, options);
  } catch (err) {
    if (err instanceof S3Error) return err;
    throw err;
  }
  throw new Error('expected the decoder to fail');
}

function seedOf(headers: Readonly<Record<string, string>>, signature: string): SigningSeed {
  const auth = verifyRequest(
    { method: 'PUT', path: '/examplebucket/chunkObject.txt', query: '', headers: { ...headers, authorization: authorizationFor(headers, signature) } },
    exampleCreds,
    EXAMPLE_NOW,
    REGION,
  );
  expect(auth.seed).toBeDefined();
  return auth.seed!;
}

describe('the AWS chunked upload example (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)', () => {
  const seed = seedOf(STREAMING_EXAMPLE.headers, STREAMING_EXAMPLE.seedSignature);
  const body = encodeAwsChunked(STREAMING_BODY, { seed, chunkSize: 65_536 });

  it('verifies the documented seed signature as stream-signed', () => {
    const auth = verifyRequest(
      {
        method: 'PUT',
        path: '/examplebucket/chunkObject.txt',
        query: '',
        headers: { ...STREAMING_EXAMPLE.headers, authorization: authorizationFor(STREAMING_EXAMPLE.headers, STREAMING_EXAMPLE.seedSignature) },
      },
      exampleCreds,
      EXAMPLE_NOW,
      REGION,
    );
    expect(auth.payload).toEqual({ kind: 'streaming-signed' });
  });

  it('encodes to the documented length and chunk signatures', () => {
    expect(body.length).toBe(STREAMING_EXAMPLE.encodedLength);
    const text = body.toString('latin1');
    expect(text.startsWith(`10000;chunk-signature=${STREAMING_EXAMPLE.chunkSignatures[0]}\r\n`)).toBe(true);
    expect(text).toContain(`\r\n400;chunk-signature=${STREAMING_EXAMPLE.chunkSignatures[1]}\r\n`);
    expect(text.endsWith(`\r\n0;chunk-signature=${STREAMING_EXAMPLE.chunkSignatures[2]}\r\n\r\n`)).toBe(true);
  });

  it('decodes and verifies it', async () => {
    const { data, trailers } = await decode([body], { seed, trailer: false, decodedLength: 66_560 });
    expect(data.equals(STREAMING_BODY)).toBe(true);
    expect(trailers).toEqual({});
  });
});

describe('the AWS trailing-header example (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER)', () => {
  const seed = seedOf(TRAILER_EXAMPLE.headers, TRAILER_EXAMPLE.seedSignature);
  const body = encodeAwsChunked(STREAMING_BODY, { seed, trailers: { 'x-amz-checksum-crc32c': 'sOO8/Q==' } });

  it('encodes the documented final chunk, trailer and trailer signature', () => {
    expect(
      body
        .toString('latin1')
        .endsWith(`\r\n0;chunk-signature=${TRAILER_EXAMPLE.finalChunkSignature}\r\n${TRAILER_EXAMPLE.trailer}\r\nx-amz-trailer-signature:${TRAILER_EXAMPLE.trailerSignature}\r\n\r\n`),
    ).toBe(true);
  });

  it('decodes it and exposes the trailer', async () => {
    const { data, trailers } = await decode([body], { seed, trailer: true, decodedLength: 66_560 });
    expect(data.equals(STREAMING_BODY)).toBe(true);
    expect(trailers).toEqual({ 'x-amz-checksum-crc32c': 'sOO8/Q==' });
  });

  it('rejects a changed trailer value', async () => {
    const tampered = Buffer.from(body.toString('latin1').replace('sOO8/Q==', 'AAAAAA=='), 'latin1');
    expect((await decodeError([tampered], { seed, trailer: true })).code).toBe('SignatureDoesNotMatch');
  });
});

const testSeed: SigningSeed = {
  signature: 'f'.repeat(64),
  signingKey: deriveSigningKey(SECRET_KEY, '20250101', REGION, 's3'),
  scope: `20250101/${REGION}/s3/aws4_request`,
  amzDate: '20250101T000000Z',
};

describe('decoding is independent of how the body is split (property)', () => {
  it.each([
    ['unsigned with a trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER)', false, true],
    ['signed (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)', true, false],
    ['signed with a trailer', true, true],
  ])('%s', async (_name, signed, trailer) => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 1, max: 700 }), fc.array(fc.nat(), { maxLength: 12 }), async (raw, chunkSize, cuts) => {
        const data = Buffer.from(raw);
        const trailers = trailer ? { 'x-amz-checksum-crc32': checksumBase64('CRC32', data) } : undefined;
        const encoded = encodeAwsChunked(data, { chunkSize, ...(signed ? { seed: testSeed } : {}), ...(trailers === undefined ? {} : { trailers }) });
        const points = [...new Set(cuts.map((c) => c % (encoded.length + 1)))].sort((a, b) => a - b);
        const pieces: Buffer[] = [];
        let prev = 0;
        for (const p of [...points, encoded.length]) {
          pieces.push(encoded.subarray(prev, p));
          prev = p;
        }
        const result = await decode(pieces, { trailer, decodedLength: data.length, ...(signed ? { seed: testSeed } : {}) });
        expect(result.data.equals(data)).toBe(true);
        expect(result.trailers).toEqual(trailers ?? {});
      }),
      { numRuns: 60 },
    );
  });

  it('decodes one byte at a time', async () => {
    const data = Buffer.from('hello, chunked world');
    const encoded = encodeAwsChunked(data, { chunkSize: 7, seed: testSeed, trailers: { 'x-amz-checksum-sha1': checksumBase64('SHA1', data) } });
    const pieces = [...encoded].map((b) => Buffer.from([b]));
    expect((await decode(pieces, { seed: testSeed, trailer: true, decodedLength: data.length })).data.toString()).toBe('hello, chunked world');
  });
});

const unsignedBody = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('malformed aws-chunked bodies', () => {
  const signedBody = encodeAwsChunked(Buffer.from('0123456789abcdef'), { chunkSize: 8, seed: testSeed });
  const flip = (buf: Buffer, at: number): Buffer => {
    const copy = Buffer.from(buf);
    copy[at] = copy[at]! ^ 1;
    return copy;
  };

  it.each<[string, Buffer, AwsChunkedOptions, string]>([
    ['a changed data byte in a signed chunk', flip(signedBody, signedBody.indexOf('\r\n') + 3), { seed: testSeed, trailer: false }, 'SignatureDoesNotMatch'],
    ['a chunk without chunk-signature in a signed upload', unsignedBody('3\r\nabc\r\n0\r\n\r\n'), { seed: testSeed, trailer: false }, 'SignatureDoesNotMatch'],
    [
      'a signed trailer without x-amz-trailer-signature',
      Buffer.concat([encodeAwsChunked(Buffer.from('abc'), { seed: testSeed }).subarray(0, -2), unsignedBody('x-amz-checksum-crc32:AAAAAA==\r\n\r\n')]),
      { seed: testSeed, trailer: true },
      'SignatureDoesNotMatch',
    ],
    ['a body cut inside the data', unsignedBody('a\r\n01234'), { trailer: false }, 'IncompleteBody'],
    ['a body without its final chunk', unsignedBody('3\r\nabc\r\n'), { trailer: false }, 'IncompleteBody'],
    ['more bytes than x-amz-decoded-content-length', unsignedBody('3\r\nabc\r\n0\r\n\r\n'), { trailer: false, decodedLength: 2 }, 'IncompleteBody'],
    ['fewer bytes than x-amz-decoded-content-length', unsignedBody('3\r\nabc\r\n0\r\n\r\n'), { trailer: false, decodedLength: 4 }, 'IncompleteBody'],
    ['a size that is not hex', unsignedBody('xyz\r\nabc\r\n0\r\n\r\n'), { trailer: false }, 'InvalidRequest'],
    ['data not followed by CRLF', unsignedBody('3\r\nabcd\r\n0\r\n\r\n'), { trailer: false }, 'InvalidRequest'],
    ['an endless framing line', unsignedBody('1'.repeat(5000)), { trailer: false }, 'InvalidRequest'],
    ['an undeclared trailer', unsignedBody('3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n'), { trailer: false }, 'MalformedTrailerError'],
    ['a trailer line without a colon', unsignedBody('3\r\nabc\r\n0\r\nbogus\r\n\r\n'), { trailer: true }, 'MalformedTrailerError'],
    ['data after the final chunk', unsignedBody('3\r\nabc\r\n0\r\n\r\nextra'), { trailer: false }, 'InvalidRequest'],
    // Guards the trailer bound: 300,000 trailer lines were once accepted and kept in memory.
    ['a flood of trailer lines', unsignedBody(`3\r\nabc\r\n0\r\n${'x-amz-meta-a:b\r\n'.repeat(17)}\r\n`), { trailer: true }, 'MalformedTrailerError'],
    ['a flood of distinct trailer names', unsignedBody(`3\r\nabc\r\n0\r\n${Array.from({ length: 1000 }, (_, i) => `x-t${i}:v\r\n`).join('')}\r\n`), { trailer: true }, 'MalformedTrailerError'],
    ['a trailer sent twice', unsignedBody('3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n'), { trailer: true }, 'MalformedTrailerError'],
  ])('%s → %s', async (_name, body, options, code) => {
    expect((await decodeError([body], options)).code).toBe(code);
  });

  it.each([
    ['without the final empty line', '3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n'],
    ['with bare LF line ends', '3\nabc\r\n0\nx-amz-checksum-crc32:NSRBwg==\n\n'],
    ['with chunk extensions other than chunk-signature', '3;foo=bar\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n'],
    ['with a trailer named __proto__', '3\r\nabc\r\n0\r\n__proto__:x\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n'],
  ])('tolerates a body %s', async (_name, text) => {
    const result = await decode([unsignedBody(text)], { trailer: true, decodedLength: 3 });
    expect(result.data.toString()).toBe('abc');
    expect(result.trailers['x-amz-checksum-crc32']).toBe('NSRBwg==');
    expect(Object.getPrototypeOf(result.trailers)).toBeNull();
  });
});
