/**
 * Domain errors. Every error a layer raises on purpose is a `RingstoreError` carrying a
 * machine-readable `code`; the S3 gateway maps codes to HTTP status and S3 XML in one table
 * (`s3/errors.ts`). Anything that is not a `RingstoreError` is a bug and becomes InternalError.
 */

/** Codes raised below the S3 layer, spelled as the S3 code they surface as where one exists. */
export type ErrorCode =
  // object/bucket lookups
  | 'NoSuchKey'
  | 'NoSuchBucket'
  | 'BucketNotEmpty'
  | 'BucketAlreadyOwnedByYou'
  | 'BucketAlreadyExists'
  // multipart
  | 'NoSuchUpload'
  | 'InvalidPart'
  | 'EntityTooSmall'
  // quorum / availability: surfaced as 503 so that SDKs retry
  | 'QuorumNotReached'
  | 'ServiceUnavailable'
  // this node's clock disagrees with the cluster's (or a replica holds a version from a skewed clock)
  | 'ClockSkew'
  // this node lost its disk and has not yet compared with every peer: it takes writes but serves no reads
  | 'Refilling'
  // data integrity
  | 'ChecksumMismatch'
  | 'BadDigest'
  | 'IncompleteBody'
  // rpc
  | 'RpcUnauthorized'
  | 'RpcProtocol'
  | 'RpcTimeout'
  | 'PeerUnavailable'
  // local store
  | 'StoreClosed'
  | 'CorruptBody'
  /** The disk is full (ENOSPC): nothing was stored. */
  | 'InsufficientStorage'
  // config
  | 'InvalidConfig'
  // input validation in pure modules
  | 'InvalidArgument';

/** Base class of every deliberate error in ringstore. */
export class RingstoreError extends Error {
  readonly code: ErrorCode;
  /** Structured details for logs and error bodies (never secrets). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RingstoreError';
    this.code = code;
    this.details = details;
  }
}

/** True when `err` is a RingstoreError with the given code. */
export function isErrorCode(err: unknown, code: ErrorCode): err is RingstoreError {
  return err instanceof RingstoreError && err.code === code;
}

/** A short one-line description of any thrown value, for logs and aggregated quorum errors. */
export function describeError(err: unknown): string {
  if (err instanceof RingstoreError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
