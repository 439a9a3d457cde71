/**
 * A pass-through Transform that checks an object body while it streams: it always computes
 * the MD5 (the ETag, computed exactly once here) and the size, plus whatever the request asks
 * to be verified, and fails at the end with the S3 error AWS answers for that mismatch.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#API_PutObject_RequestSyntax
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from '../errors.js';
import { checksumHeaderName, createChecksum, isValidChecksumValue, type Checksum, type ChecksumAlgorithm } from './checksums.js';

/** A flexible checksum to verify: its value is given up front, or arrives as an aws-chunked trailer. */
export interface ChecksumExpectation {
  readonly alg: ChecksumAlgorithm;
  /** Base64 value, `'trailer'` (read from `trailers()` at the end), or omitted to only compute it. */
  readonly expected?: string;
}

/** What to verify. */
export interface VerifyingBodyOptions {
  /** Signed payload hash (hex) from x-amz-content-sha256 → XAmzContentSHA256Mismatch. */
  readonly expectedSha256?: string;
  /** Content-MD5 header (base64, already validated) → BadDigest. */
  readonly contentMd5?: string;
  /** An x-amz-checksum-* expectation → BadDigest. */
  readonly checksum?: ChecksumExpectation;
  /** Further algorithms to compute (no expectation), e.g. for storage. */
  readonly compute?: readonly ChecksumAlgorithm[];
  /** Exact body length (Content-Length or x-amz-decoded-content-length) → IncompleteBody. */
  readonly expectedLength?: number;
  /** Largest accepted body → EntityTooLarge as soon as it is exceeded. */
  readonly maxLength?: number;
  /** Source of trailing headers when `checksum.expected` is `'trailer'` (the aws-chunked decoder's). */
  readonly trailers?: () => Readonly<Record<string, string>>;
}

/** The result of a fully verified body. */
export interface VerifiedBody {
  /** Hex MD5 of the body: the (unquoted) ETag of a single-part object. */
  readonly md5Hex: string;
  readonly size: number;
  /** Base64 value of every flexible checksum computed (the verified one and `compute`). */
  readonly checksums: Readonly<Partial<Record<ChecksumAlgorithm, string>>>;
}

/** The verifying Transform; `result` is available once it has flushed without error. */
export class VerifyingBody extends Transform {
  readonly #options: VerifyingBodyOptions;
  readonly #md5: Hash = createHash('md5');
  readonly #sha256: Hash | undefined;
  readonly #checksums = new Map<ChecksumAlgorithm, Checksum>();
  #size = 0;
  #result: VerifiedBody | undefined;

  constructor(options: VerifyingBodyOptions) {
    super();
    this.#options = options;
    this.#sha256 = options.expectedSha256 === undefined ? undefined : createHash('sha256');
    for (const alg of [...(options.checksum === undefined ? [] : [options.checksum.alg]), ...(options.compute ?? [])]) {
      if (!this.#checksums.has(alg)) this.#checksums.set(alg, createChecksum(alg));
    }
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.#size;
  }

  /** Hex MD5 (the ETag) once verified; throws before. */
  get md5Hex(): string {
    return this.result.md5Hex;
  }

  /** The verified digests; throws if the body has not been fully verified yet. */
  get result(): VerifiedBody {
    if (this.#result === undefined) throw new Error('VerifyingBody.result read before the body was fully verified');
    return this.#result;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#size += chunk.length;
    const max = this.#options.maxLength;
    if (max !== undefined && this.#size > max) {
      callback(new S3Error('EntityTooLarge', undefined, { extra: { ProposedSize: String(this.#size), MaxSizeAllowed: String(max) } }));
      return;
    }
    this.#md5.update(chunk);
    this.#sha256?.update(chunk);
    for (const c of this.#checksums.values()) c.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#result = this.#verify();
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  #verify(): VerifiedBody {
    const o = this.#options;
    if (o.expectedLength !== undefined && this.#size !== o.expectedLength) {
      throw new S3Error('IncompleteBody', `You did not provide the number of bytes specified by the Content-Length HTTP header (expected ${o.expectedLength}, got ${this.#size}).`);
    }
    const md5 = this.#md5.digest();
    if (this.#sha256 !== undefined && o.expectedSha256 !== undefined) {
      const computed = this.#sha256.digest('hex');
      if (computed !== o.expectedSha256.toLowerCase()) {
        throw new S3Error('XAmzContentSHA256Mismatch', undefined, { extra: { ClientComputedContentSHA256: o.expectedSha256, S3ComputedContentSHA256: computed } });
      }
    }
    if (o.contentMd5 !== undefined && md5.toString('base64') !== o.contentMd5) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
        extra: { ExpectedDigest: o.contentMd5, CalculatedDigest: md5.toString('base64') },
      });
    }
    const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
    for (const [alg, c] of this.#checksums) checksums[alg] = c.digest().toString('base64');
    if (o.checksum?.expected !== undefined) {
      const { alg } = o.checksum;
      const expected = o.checksum.expected === 'trailer' ? this.#trailerValue(alg) : o.checksum.expected;
      if (checksums[alg] !== expected) throw new S3Error('BadDigest', `The ${alg} you specified did not match the calculated checksum.`);
    }
    return { md5Hex: md5.toString('hex'), size: this.#size, checksums };
  }

  #trailerValue(alg: ChecksumAlgorithm): string {
    const name = checksumHeaderName(alg);
    const value = this.#options.trailers?.()[name];
    if (value === undefined) throw new S3Error('MalformedTrailerError', `The trailing header ${name} declared in x-amz-trailer was not sent.`);
    if (!isValidChecksumValue(alg, value)) throw new S3Error('InvalidRequest', `Value for ${name} trailing header is invalid.`);
    return value;
  }
}

/** A verifying pass-through Transform for one request body. */
export function verifyingBody(options: VerifyingBodyOptions): VerifyingBody {
  return new VerifyingBody(options);
}
