import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { checksumBase64 } from '../../../../src/s3/body/checksums.js';
import { VerifyingBody, verifyingBody, type VerifyingBodyOptions } from '../../../../src/s3/body/verify-body.js';
import { S3Error } from '../../../../src/s3/errors.js';

const BODY = Buffer.from('The quick brown fox jumps over the lazy dog');
const MD5_HEX = createHash('md5').update(BODY).digest('hex');
const MD5_B64 = createHash('md5').update(BODY).digest('base64');
const SHA256_HEX = createHash('sha256').update(BODY).digest('hex');

async function run(options: VerifyingBodyOptions, pieces: readonly Buffer[] = [BODY.subarray(0, 10), BODY.subarray(10)]): Promise<{ out: Buffer; verifier: VerifyingBody }> {
  const verifier = verifyingBody(options);
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces),
    verifier,
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        out.push(chunk);
        cb();
      },
    }),
  );
  return { out: Buffer.concat(out), verifier };
}

async function failure(options: VerifyingBodyOptions, pieces?: readonly Buffer[]): Promise<S3Error> {
  try {
    await run(options, pieces);
  } catch (err) {
    if (err instanceof S3Error) return err;
    throw err;
  }
  throw new Error('expected verification to fail');
}

describe('verifyingBody', () => {
  it('passes bytes through and always yields the MD5 (ETag) and size', async () => {
    const { out, verifier } = await run({});
    expect(out.equals(BODY)).toBe(true);
    expect(verifier.result).toEqual({ md5Hex: MD5_HEX, size: BODY.length, checksums: {} });
  });

  it('accepts matching digests of every kind and reports the checksums it computed', async () => {
    const { verifier } = await run({
      expectedSha256: SHA256_HEX,
      contentMd5: MD5_B64,
      checksum: { alg: 'CRC32C', expected: checksumBase64('CRC32C', BODY) },
      compute: ['CRC64NVME', 'CRC32C'],
      expectedLength: BODY.length,
      maxLength: BODY.length,
    });
    expect(verifier.result.checksums).toEqual({ CRC32C: checksumBase64('CRC32C', BODY), CRC64NVME: checksumBase64('CRC64NVME', BODY) });
  });

  it('reads a trailer checksum at the end', async () => {
    const trailers: Record<string, string> = {};
    const pending = run({ checksum: { alg: 'SHA1', expected: 'trailer' }, trailers: () => trailers });
    trailers['x-amz-checksum-sha1'] = checksumBase64('SHA1', BODY);
    expect((await pending).verifier.result.checksums['SHA1']).toBe(checksumBase64('SHA1', BODY));
  });

  it.each<[string, VerifyingBodyOptions, string]>([
    ['a wrong x-amz-content-sha256', { expectedSha256: '0'.repeat(64) }, 'XAmzContentSHA256Mismatch'],
    ['a wrong Content-MD5', { contentMd5: Buffer.alloc(16).toString('base64') }, 'BadDigest'],
    ['a wrong x-amz-checksum-crc32', { checksum: { alg: 'CRC32', expected: 'AAAAAA==' } }, 'BadDigest'],
    ['a wrong trailing checksum', { checksum: { alg: 'CRC32', expected: 'trailer' }, trailers: () => ({ 'x-amz-checksum-crc32': 'AAAAAA==' }) }, 'BadDigest'],
    ['a missing trailing checksum', { checksum: { alg: 'CRC32', expected: 'trailer' }, trailers: () => ({}) }, 'MalformedTrailerError'],
    ['a malformed trailing checksum', { checksum: { alg: 'CRC32', expected: 'trailer' }, trailers: () => ({ 'x-amz-checksum-crc32': 'xyz' }) }, 'InvalidRequest'],
    ['a body shorter than declared', { expectedLength: BODY.length + 1 }, 'IncompleteBody'],
    ['a body longer than allowed', { maxLength: 10 }, 'EntityTooLarge'],
  ])('%s → %s', async (_name, options, code) => {
    expect((await failure(options)).code).toBe(code);
  });

  it('names both hashes on a SHA-256 mismatch', async () => {
    const err = await failure({ expectedSha256: '0'.repeat(64) });
    expect(err.extra).toEqual({ ClientComputedContentSHA256: '0'.repeat(64), S3ComputedContentSHA256: SHA256_HEX });
  });

  it('has no result before the body is verified', () => {
    expect(() => new VerifyingBody({}).result).toThrow(/before/);
  });
});
