import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { checksumBase64 } from '../../../../src/s3/body/checksums.js';
import { buildBodyPipeline, type BodyPipelineOptions } from '../../../../src/s3/body/pipeline.js';
import { S3Error } from '../../../../src/s3/errors.js';
import type { HeaderBag } from '../../../../src/s3/sigv4/canonical.js';
import { verifyRequest, type AuthResult } from '../../../../src/s3/sigv4/verify.js';
import { ACCESS_KEY, EMPTY_HASH, REGION, SECRET_KEY, exampleCreds } from '../fixtures/aws-examples.js';
import { NodeSha256, capturingClient, type CapturedRequest } from '../fixtures/sdk.js';

const md5Hex = (data: Buffer | string): string => createHash('md5').update(data).digest('hex');
const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** Verifies a captured request and streams its body through the pipeline. */
async function receive(req: CapturedRequest, body: Buffer = req.body, now = Date.now(), options: BodyPipelineOptions = {}) {
  const auth = verifyRequest({ method: req.method, path: req.path, query: req.query, headers: req.headers }, exampleCreds, now, REGION);
  const p = buildBodyPipeline(req.headers, auth, options);
  const out: Buffer[] = [];
  // Split the body awkwardly, as a socket would.
  const pieces = [body.subarray(0, 3), body.subarray(3, 17), body.subarray(17)];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk);
      cb();
    },
  });
  await pipeline([Readable.from(pieces), ...p.transforms, sink]);
  return { auth, data: Buffer.concat(out), result: p.result(), checksumAlgorithm: p.checksumAlgorithm };
}

async function receiveError(req: CapturedRequest, body: Buffer, now = Date.now()): Promise<string> {
  try {
    await receive(req, body, now);
  } catch (err) {
    if (err instanceof S3Error) return err.code;
    throw err;
  }
  throw new Error('expected the body to be rejected');
}

const streamOf = (...parts: string[]): Readable => Readable.from(parts.map((p) => Buffer.from(p)));

describe('buildBodyPipeline with bodies sent by @aws-sdk/client-s3', () => {
  it('PutObject with a string body: signed payload + x-amz-checksum-crc32 header', async () => {
    const { client, requests } = capturingClient(ACCESS_KEY, SECRET_KEY);
    await client.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'k', Body: 'hello world' }));
    const got = await receive(requests[0]!);
    expect(got.auth.payload).toEqual({ kind: 'signed', sha256: sha256Hex('hello world') });
    expect(got.data.toString()).toBe('hello world');
    expect(got.result).toEqual({ md5Hex: md5Hex('hello world'), size: 11, checksums: { CRC32: 'DUoRhQ==' } });
    expect(await receiveError(requests[0]!, Buffer.from('hello worle'))).toBe('XAmzContentSHA256Mismatch');
    client.destroy();
  });

  it('PutObject with a stream body: STREAMING-UNSIGNED-PAYLOAD-TRAILER with an x-amz-checksum-crc32 trailer', async () => {
    const { client, requests } = capturingClient(ACCESS_KEY, SECRET_KEY);
    await client.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'k', Body: streamOf('hello ', 'stream'), ContentLength: 12 }));
    const req = requests[0]!;
    expect(req.headers['x-amz-content-sha256']).toBe('STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    expect(req.headers['x-amz-trailer']).toBe('x-amz-checksum-crc32');
    const got = await receive(req);
    expect(got.data.toString()).toBe('hello stream');
    expect(got.checksumAlgorithm).toBe('CRC32');
    expect(got.result).toEqual({ md5Hex: md5Hex('hello stream'), size: 12, checksums: { CRC32: checksumBase64('CRC32', 'hello stream') } });

    // The chunks are unsigned: a changed byte is caught by the trailing checksum.
    const tampered = Buffer.from(req.body.toString('latin1').replace('stream', 'strean'), 'latin1');
    expect(await receiveError(req, tampered)).toBe('BadDigest');
    client.destroy();
  });

  it.each([['CRC32C'], ['SHA1'], ['SHA256'], ['CRC64NVME']] as const)('UploadPart with ChecksumAlgorithm %s as a trailer', async (alg) => {
    const { client, requests } = capturingClient(ACCESS_KEY, SECRET_KEY);
    await client.send(new UploadPartCommand({ Bucket: 'bkt', Key: 'k', UploadId: 'u1', PartNumber: 3, Body: streamOf('part ', 'body ', 'bytes'), ContentLength: 15, ChecksumAlgorithm: alg }));
    const got = await receive(requests[0]!);
    expect(got.data.toString()).toBe('part body bytes');
    expect(got.result.checksums).toEqual({ [alg]: checksumBase64(alg, 'part body bytes') });
    client.destroy();
  });

  it('PutObject with Content-MD5', async () => {
    const { client, requests } = capturingClient(ACCESS_KEY, SECRET_KEY);
    const md5 = createHash('md5').update('md5 body').digest('base64');
    await client.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'k', Body: 'md5 body', ContentMD5: md5 }));
    expect((await receive(requests[0]!)).result.md5Hex).toBe(md5Hex('md5 body'));
    client.destroy();
  });

  it('enforces maxLength up front from the declared length', async () => {
    const { client, requests } = capturingClient(ACCESS_KEY, SECRET_KEY);
    await client.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'k', Body: 'hello world' }));
    await expect(receive(requests[0]!, undefined, Date.now(), { maxLength: 5 })).rejects.toMatchObject({ code: 'EntityTooLarge' });
    client.destroy();
  });
});

describe('buildBodyPipeline with STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] signed by @smithy/signature-v4', () => {
  const signer = new SignatureV4({ credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, region: REGION, service: 's3', sha256: NodeSha256, uriEscapePath: false });
  const now = Date.UTC(2025, 2, 3, 4, 5, 6);
  const signingDate = new Date(now);
  const amzDate = '20250303T040506Z';
  const scope = `20250303/${REGION}/s3/aws4_request`;
  const data = Buffer.alloc(20_000, 'z');
  const chunks = [data.subarray(0, 8192), data.subarray(8192, 16_384), data.subarray(16_384)];

  async function signedStream(trailer: boolean): Promise<CapturedRequest> {
    const headers: Record<string, string> = {
      host: 'localhost:9000',
      'content-encoding': 'aws-chunked',
      'x-amz-content-sha256': trailer ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'x-amz-decoded-content-length': String(data.length),
      ...(trailer ? { 'x-amz-trailer': 'x-amz-checksum-crc32c' } : {}),
    };
    const signed = await signer.sign(new HttpRequest({ method: 'PUT', protocol: 'http:', hostname: 'localhost', port: 9000, path: '/bkt/big', headers }), { signingDate });
    const authorization = String(signed.headers['authorization']);
    let previous = /Signature=([0-9a-f]{64})/.exec(authorization)![1]!;
    const parts: Buffer[] = [];
    for (const chunk of [...chunks, Buffer.alloc(0)]) {
      const toSign = ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previous, EMPTY_HASH, sha256Hex(chunk)].join('\n');
      previous = await signer.sign(toSign, { signingDate });
      parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n`), chunk);
      if (chunk.length > 0) parts.push(Buffer.from('\r\n'));
    }
    if (trailer) {
      const trailerLine = `x-amz-checksum-crc32c:${checksumBase64('CRC32C', data)}`;
      const toSign = ['AWS4-HMAC-SHA256-TRAILER', amzDate, scope, previous, sha256Hex(`${trailerLine}\n`)].join('\n');
      parts.push(Buffer.from(`${trailerLine}\r\nx-amz-trailer-signature:${await signer.sign(toSign, { signingDate })}\r\n`));
    }
    parts.push(Buffer.from('\r\n'));
    const lower = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    return { method: 'PUT', path: '/bkt/big', query: '', headers: lower, body: Buffer.concat(parts) };
  }

  it.each([
    ['without trailer', false, {}],
    ['with a signed x-amz-checksum-crc32c trailer', true, { CRC32C: checksumBase64('CRC32C', data) }],
  ])('%s', async (_name, trailer, checksums) => {
    const req = await signedStream(trailer);
    const got = await receive(req, req.body, now);
    expect(got.auth.payload.kind).toBe(trailer ? 'streaming-signed-trailer' : 'streaming-signed');
    expect(got.data.equals(data)).toBe(true);
    expect(got.result).toEqual({ md5Hex: md5Hex(data), size: data.length, checksums });

    const tampered = Buffer.from(req.body);
    tampered[tampered.indexOf('zzzz')] = 0x79;
    expect(await receiveError(req, tampered, now)).toBe('SignatureDoesNotMatch');
  });
});

const unsigned: Pick<AuthResult, 'payload'> = { payload: { kind: 'unsigned' } };
const unsignedTrailer: Pick<AuthResult, 'payload'> = { payload: { kind: 'streaming-unsigned-trailer' } };

describe('buildBodyPipeline rejects invalid header combinations before reading', () => {
  it.each<[string, HeaderBag, Pick<AuthResult, 'payload'>, string]>([
    ['STREAMING-* without x-amz-decoded-content-length', {}, unsignedTrailer, 'MissingContentLength'],
    ['a non-numeric x-amz-decoded-content-length', { 'x-amz-decoded-content-length': '12a' }, unsignedTrailer, 'InvalidArgument'],
    ['a non-numeric Content-Length', { 'content-length': '-1' }, unsigned, 'InvalidArgument'],
    ['a Content-MD5 that is not 16 bytes of base64', { 'content-md5': 'abc' }, unsigned, 'InvalidDigest'],
    ['two checksum headers', { 'x-amz-checksum-crc32': 'DUoRhQ==', 'x-amz-checksum-crc32c': 'rDzTHA==' }, unsigned, 'InvalidRequest'],
    ['a malformed checksum header', { 'x-amz-checksum-sha256': 'DUoRhQ==' }, unsigned, 'InvalidRequest'],
    ['x-amz-trailer without a trailer payload mode', { 'x-amz-trailer': 'x-amz-checksum-crc32' }, unsigned, 'InvalidRequest'],
    ['x-amz-trailer naming an unsupported header', { 'x-amz-decoded-content-length': '1', 'x-amz-trailer': 'x-amz-meta-foo' }, unsignedTrailer, 'InvalidRequest'],
    [
      'a checksum header and a checksum trailer',
      { 'x-amz-decoded-content-length': '1', 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-checksum-crc32c': 'rDzTHA==' },
      unsignedTrailer,
      'InvalidRequest',
    ],
    ['x-amz-sdk-checksum-algorithm without a checksum', { 'x-amz-sdk-checksum-algorithm': 'CRC32' }, unsigned, 'InvalidRequest'],
    ['an unknown x-amz-sdk-checksum-algorithm', { 'x-amz-sdk-checksum-algorithm': 'MD4', 'x-amz-checksum-crc32': 'DUoRhQ==' }, unsigned, 'InvalidRequest'],
  ])('%s → %s', (_name, headers, auth, code) => {
    expect(() => buildBodyPipeline(headers, auth)).toThrow(expect.objectContaining({ code }));
  });

  it('ignores x-amz-checksum-type and x-amz-checksum-mode', () => {
    expect(buildBodyPipeline({ 'x-amz-checksum-type': 'FULL_OBJECT', 'x-amz-checksum-mode': 'ENABLED' }, unsigned).checksumAlgorithm).toBeUndefined();
  });

  it('reports the declared length', () => {
    expect(buildBodyPipeline({ 'content-length': '42' }, unsigned).declaredLength).toBe(42);
    expect(buildBodyPipeline({ 'content-length': '99', 'x-amz-decoded-content-length': '42' }, unsignedTrailer).declaredLength).toBe(42);
  });
});
