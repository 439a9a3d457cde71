/**
 * Incremental checksums for the S3 flexible-checksum algorithms. Values are what AWS puts in
 * `x-amz-checksum-*`: base64 of the big-endian digest (a CRC32 is 4 bytes, not its decimal).
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
import { createHash } from 'node:crypto';
import { crc32, crc32c } from '../../util/crc.js';

/** The checksum algorithms, spelled as in `x-amz-sdk-checksum-algorithm`. */
export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;

/** One of the S3 flexible-checksum algorithms. */
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** Digest length in bytes of each algorithm. */
export const CHECKSUM_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 };

/** An incremental checksum. */
export interface Checksum {
  update(data: Uint8Array): void;
  /** The big-endian digest; call once, after the last update. */
  digest(): Buffer;
}

/** Parses an algorithm name case-insensitively (`crc32c` → `CRC32C`); undefined when unknown. */
export function parseChecksumAlgorithm(name: string): ChecksumAlgorithm | undefined {
  const upper = name.trim().toUpperCase();
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(upper) ? (upper as ChecksumAlgorithm) : undefined;
}

/** The header carrying an algorithm's value, e.g. `x-amz-checksum-crc32c`. */
export function checksumHeaderName(alg: ChecksumAlgorithm): string {
  return `x-amz-checksum-${alg.toLowerCase()}`;
}

/** The algorithm of a checksum header name (`x-amz-checksum-sha256` → `SHA256`); undefined otherwise. */
export function algorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  const lower = name.trim().toLowerCase();
  return lower.startsWith('x-amz-checksum-') ? parseChecksumAlgorithm(lower.slice('x-amz-checksum-'.length)) : undefined;
}

/** True when `value` is canonical base64 of exactly the algorithm's digest length. */
export function isValidChecksumValue(alg: ChecksumAlgorithm, value: string): boolean {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return false;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === CHECKSUM_BYTES[alg] && bytes.toString('base64') === value;
}

class Crc32 implements Checksum {
  #crc = 0;
  update(data: Uint8Array): void {
    this.#crc = crc32(data, this.#crc);
  }
  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.#crc >>> 0);
    return out;
  }
}

class Crc32c implements Checksum {
  #crc = 0;
  update(data: Uint8Array): void {
    this.#crc = crc32c(data, this.#crc);
  }
  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.#crc >>> 0);
    return out;
  }
}

// CRC-64/NVME: reflected polynomial 0x9A6C9329AC4BC9B5, init and xorout all ones. The 64-bit
// register is kept as two uint32 halves, so no BigInt in the byte loop.
const CRC64_LO = new Uint32Array(256);
const CRC64_HI = new Uint32Array(256);
for (let b = 0; b < 256; b++) {
  let lo = b;
  let hi = 0;
  for (let i = 0; i < 8; i++) {
    const carry = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi >>>= 1;
    if (carry) {
      lo = (lo ^ 0xac4bc9b5) >>> 0;
      hi = (hi ^ 0x9a6c9329) >>> 0;
    }
  }
  CRC64_LO[b] = lo;
  CRC64_HI[b] = hi;
}

class Crc64Nvme implements Checksum {
  #lo = 0xffffffff;
  #hi = 0xffffffff;
  update(data: Uint8Array): void {
    let lo = this.#lo;
    let hi = this.#hi;
    for (let i = 0; i < data.length; i++) {
      const idx = (lo ^ data[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ CRC64_LO[idx]!;
      hi = (hi >>> 8) ^ CRC64_HI[idx]!;
    }
    this.#lo = lo >>> 0;
    this.#hi = hi >>> 0;
  }
  digest(): Buffer {
    const out = Buffer.alloc(8);
    out.writeUInt32BE((this.#hi ^ 0xffffffff) >>> 0, 0);
    out.writeUInt32BE((this.#lo ^ 0xffffffff) >>> 0, 4);
    return out;
  }
}

class NodeHash implements Checksum {
  readonly #hash;
  constructor(alg: 'sha1' | 'sha256' | 'md5') {
    this.#hash = createHash(alg);
  }
  update(data: Uint8Array): void {
    this.#hash.update(data);
  }
  digest(): Buffer {
    return this.#hash.digest();
  }
}

/** A fresh incremental checksum for `alg`. */
export function createChecksum(alg: ChecksumAlgorithm): Checksum {
  switch (alg) {
    case 'CRC32':
      return new Crc32();
    case 'CRC32C':
      return new Crc32c();
    case 'CRC64NVME':
      return new Crc64Nvme();
    case 'SHA1':
      return new NodeHash('sha1');
    case 'SHA256':
      return new NodeHash('sha256');
  }
}

/** The `x-amz-checksum-*` value (base64 big-endian digest) of a whole buffer. */
export function checksumBase64(alg: ChecksumAlgorithm, data: Uint8Array | string): string {
  const c = createChecksum(alg);
  c.update(typeof data === 'string' ? Buffer.from(data) : data);
  return c.digest().toString('base64');
}
