/**
 * Builds the verifying transform chain for a request body from its headers and the SigV4
 * result: an aws-chunked decoder for the STREAMING-* modes, then a `VerifyingBody` for the
 * signed SHA-256, Content-MD5, x-amz-checksum-* (header or trailer) and length. The PUT and
 * UploadPart handlers pipe the raw request through it and store what comes out.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
import type { Transform } from 'node:stream';
import { S3Error } from '../errors.js';
import { headerValue, type HeaderBag } from '../sigv4/canonical.js';
import type { AuthResult } from '../sigv4/verify.js';
import { AwsChunkedDecoder } from './aws-chunked.js';
import { algorithmOfHeader, checksumHeaderName, isValidChecksumValue, parseChecksumAlgorithm, type ChecksumAlgorithm } from './checksums.js';
import { VerifyingBody, type ChecksumExpectation, type VerifiedBody } from './verify-body.js';

/** Limits and extras of a body pipeline. */
export interface BodyPipelineOptions {
  /** Largest accepted object/part size → EntityTooLarge (checked up front when the length is declared). */
  readonly maxLength?: number;
  /** Checksums to compute for storage even when the client sent none. */
  readonly compute?: readonly ChecksumAlgorithm[];
}

/** The transform chain for one body. */
export interface BodyPipeline {
  /**
   * Pipe the raw request through these, in order. Use the array form so TypeScript accepts
   * the spread: `await pipeline([req, ...p.transforms, sink])`. Any failure (S3Error) rejects
   * the pipeline; nothing read so far may be committed.
   */
  readonly transforms: readonly Transform[];
  /** Decoded object length declared by the client (Content-Length or x-amz-decoded-content-length). */
  readonly declaredLength: number | undefined;
  /** The checksum the client asked to be verified, if any (its algorithm is in `result().checksums`). */
  readonly checksumAlgorithm: ChecksumAlgorithm | undefined;
  /** MD5, size and checksums; only after the last transform ended without error. */
  result(): VerifiedBody;
}

const DECIMAL = /^\d{1,16}$/;

function parseLength(value: string, header: string): number {
  const v = value.trim();
  if (!DECIMAL.test(v) || !Number.isSafeInteger(Number(v))) throw new S3Error('InvalidArgument', `Invalid ${header}: ${value}`, { extra: { ArgumentName: header, ArgumentValue: value } });
  return Number(v);
}

/** Content-MD5 must be base64 of 16 bytes → InvalidDigest. */
function parseContentMd5(value: string): string {
  const v = value.trim();
  const bytes = Buffer.from(v, 'base64');
  if (bytes.length !== 16 || bytes.toString('base64') !== v) throw new S3Error('InvalidDigest');
  return v;
}

/** The flexible checksum the request declares (header value or trailer), validating the combination. */
function checksumExpectation(headers: HeaderBag, auth: Pick<AuthResult, 'payload'>): ChecksumExpectation | undefined {
  const declared: ChecksumExpectation[] = [];
  for (const [name, raw] of Object.entries(headers)) {
    const alg = raw === undefined ? undefined : algorithmOfHeader(name);
    if (alg === undefined) continue;
    const value = (typeof raw === 'string' ? raw : (raw ?? []).join(',')).trim();
    if (!isValidChecksumValue(alg, value)) throw new S3Error('InvalidRequest', `Value for ${checksumHeaderName(alg)} header is invalid.`);
    declared.push({ alg, expected: value });
  }
  const trailer = headerValue(headers, 'x-amz-trailer');
  if (trailer !== undefined && trailer.trim() !== '') {
    const kind = auth.payload.kind;
    if (kind !== 'streaming-signed-trailer' && kind !== 'streaming-unsigned-trailer') {
      throw new S3Error('InvalidRequest', 'x-amz-trailer requires x-amz-content-sha256 STREAMING-UNSIGNED-PAYLOAD-TRAILER or STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.');
    }
    for (const name of trailer.split(',')) {
      const alg = algorithmOfHeader(name);
      if (alg === undefined) throw new S3Error('InvalidRequest', `The value specified in the x-amz-trailer header is not supported: ${name.trim()}`);
      declared.push({ alg, expected: 'trailer' });
    }
  }
  if (declared.length > 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  const sdkAlg = headerValue(headers, 'x-amz-sdk-checksum-algorithm');
  if (sdkAlg !== undefined) {
    if (parseChecksumAlgorithm(sdkAlg) === undefined) throw new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.');
    // When a checksum value is present AWS ignores the SDK hint, so only its absence is an error.
    if (declared.length === 0) {
      throw new S3Error('InvalidRequest', 'x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.');
    }
  }
  return declared[0];
}

/**
 * The verifying transform chain for a request body with these `headers`, authenticated as
 * `auth`. Throws `S3Error` for invalid combinations before any byte is read:
 * MissingContentLength (streaming without x-amz-decoded-content-length), InvalidDigest
 * (malformed Content-MD5), InvalidRequest (bad or multiple checksums, x-amz-trailer without a
 * trailer mode), InvalidArgument (malformed lengths), EntityTooLarge (declared too large).
 */
export function buildBodyPipeline(headers: HeaderBag, auth: Pick<AuthResult, 'payload' | 'seed'>, options: BodyPipelineOptions = {}): BodyPipeline {
  const kind = auth.payload.kind;
  const streaming = kind === 'streaming-signed' || kind === 'streaming-signed-trailer' || kind === 'streaming-unsigned-trailer';

  let declaredLength: number | undefined;
  if (streaming) {
    const decoded = headerValue(headers, 'x-amz-decoded-content-length');
    if (decoded === undefined) throw new S3Error('MissingContentLength', 'You must provide the x-amz-decoded-content-length header with a STREAMING-* x-amz-content-sha256.');
    declaredLength = parseLength(decoded, 'x-amz-decoded-content-length');
  } else {
    const length = headerValue(headers, 'content-length');
    if (length !== undefined) declaredLength = parseLength(length, 'Content-Length');
  }
  if (options.maxLength !== undefined && declaredLength !== undefined && declaredLength > options.maxLength) {
    throw new S3Error('EntityTooLarge', undefined, { extra: { ProposedSize: String(declaredLength), MaxSizeAllowed: String(options.maxLength) } });
  }

  const md5Header = headerValue(headers, 'content-md5');
  const contentMd5 = md5Header === undefined ? undefined : parseContentMd5(md5Header);
  const checksum = checksumExpectation(headers, auth);

  const transforms: Transform[] = [];
  let decoder: AwsChunkedDecoder | undefined;
  if (streaming) {
    const signed = kind === 'streaming-signed' || kind === 'streaming-signed-trailer';
    if (signed && auth.seed === undefined) throw new S3Error('InternalError', 'signed streaming payload without a signing seed', { internal: true });
    decoder = new AwsChunkedDecoder({
      trailer: kind !== 'streaming-signed',
      decodedLength: declaredLength!,
      ...(signed && auth.seed !== undefined ? { seed: auth.seed } : {}),
    });
    transforms.push(decoder);
  }
  const source = decoder;
  const verifier = new VerifyingBody({
    ...(auth.payload.kind === 'signed' ? { expectedSha256: auth.payload.sha256 } : {}),
    ...(contentMd5 === undefined ? {} : { contentMd5 }),
    ...(checksum === undefined ? {} : { checksum }),
    ...(options.compute === undefined ? {} : { compute: options.compute }),
    ...(declaredLength === undefined ? {} : { expectedLength: declaredLength }),
    ...(options.maxLength === undefined ? {} : { maxLength: options.maxLength }),
    ...(source === undefined ? {} : { trailers: () => source.trailers }),
  });
  transforms.push(verifier);
  return {
    transforms,
    declaredLength,
    checksumAlgorithm: checksum?.alg,
    result: () => verifier.result,
  };
}
