import { Crc32cJs, Crc64NvmeJs } from '@aws-sdk/checksums/crc';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CHECKSUM_ALGORITHMS,
  algorithmOfHeader,
  checksumBase64,
  checksumHeaderName,
  createChecksum,
  isValidChecksumValue,
  parseChecksumAlgorithm,
  type ChecksumAlgorithm,
} from '../../../../src/s3/body/checksums.js';

const hexToB64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

describe('checksum test vectors', () => {
  it.each<[ChecksumAlgorithm, string, string]>([
    // The catalogue "check" values (CRC RevEng) of "123456789".
    ['CRC32', '123456789', hexToB64('cbf43926')],
    ['CRC32C', '123456789', hexToB64('e3069283')],
    ['CRC64NVME', '123456789', hexToB64('ae8b14860a799888')],
    ['SHA1', 'abc', hexToB64('a9993e364706816aba3e25717850c26c9cd0d89d')],
    ['SHA256', '', '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='],
    ['CRC32', '', 'AAAAAA=='],
    ['CRC32C', '', 'AAAAAA=='],
    // Values the AWS SDK sent for these bodies (captured from @aws-sdk/client-s3).
    ['CRC32', 'hello world', 'DUoRhQ=='],
    ['CRC32', 'hello stream', 'gtnkmQ=='],
    ['CRC32C', 'buf', 'rDzTHA=='],
    // The AWS trailing-header example: 66560 × 'a'.
    ['CRC32C', 'a'.repeat(66560), 'sOO8/Q=='],
  ])('%s(%j) = %s', (alg, input, expected) => {
    expect(checksumBase64(alg, input)).toBe(expected);
  });
});

describe('incremental checksums', () => {
  it.each(CHECKSUM_ALGORITHMS.map((a) => [a]))('%s is independent of how the input is split', (alg) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 6 }), (data, cuts) => {
        const c = createChecksum(alg);
        const points = [...new Set(cuts.map((x) => x % (data.length + 1)))].sort((a, b) => a - b);
        let prev = 0;
        for (const p of [...points, data.length]) {
          c.update(data.subarray(prev, p));
          prev = p;
        }
        expect(c.digest().toString('base64')).toBe(checksumBase64(alg, data));
      }),
      { numRuns: 100 },
    );
  });

  it('CRC32C (slicing-by-8) and CRC64NVME agree with the AWS SDK implementations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (data) => {
        const crc32c = new Crc32cJs();
        crc32c.update(data);
        expect(checksumBase64('CRC32C', data)).toBe(Buffer.from(await crc32c.digest()).toString('base64'));
        const crc64 = new Crc64NvmeJs();
        crc64.update(data);
        expect(checksumBase64('CRC64NVME', data)).toBe(Buffer.from(await crc64.digest()).toString('base64'));
      }),
      { numRuns: 100 },
    );
  });
});

describe('checksum names and values', () => {
  it.each([
    ['crc32', 'CRC32'],
    ['Crc32C', 'CRC32C'],
    [' sha256 ', 'SHA256'],
    ['crc64nvme', 'CRC64NVME'],
    ['md5', undefined],
  ])('parseChecksumAlgorithm(%j) = %s', (name, alg) => {
    expect(parseChecksumAlgorithm(name)).toBe(alg);
  });

  it.each([
    ['x-amz-checksum-crc32c', 'CRC32C'],
    ['X-Amz-Checksum-SHA1', 'SHA1'],
    ['x-amz-checksum-type', undefined],
    ['x-amz-checksum-mode', undefined],
    ['content-md5', undefined],
  ])('algorithmOfHeader(%j) = %s', (name, alg) => {
    expect(algorithmOfHeader(name)).toBe(alg);
  });

  it('names the header of each algorithm', () => {
    expect(CHECKSUM_ALGORITHMS.map(checksumHeaderName)).toEqual(['x-amz-checksum-crc32', 'x-amz-checksum-crc32c', 'x-amz-checksum-crc64nvme', 'x-amz-checksum-sha1', 'x-amz-checksum-sha256']);
  });

  it.each<[ChecksumAlgorithm, string, boolean]>([
    ['CRC32', 'DUoRhQ==', true],
    ['CRC32', 'DUoRhQ', false],
    ['CRC32', 'DUoRhQAA', false],
    ['CRC32', '12345678', false],
    ['SHA256', '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=', true],
    ['SHA1', '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=', false],
    ['CRC64NVME', 'rosUhgp5mIg=', true],
    ['CRC32C', 'not base64!', false],
  ])('isValidChecksumValue(%s, %j) = %s', (alg, value, valid) => {
    expect(isValidChecksumValue(alg, value)).toBe(valid);
  });
});
