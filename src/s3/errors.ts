/**
 * The ONE table of S3 error codes: code → HTTP status and default message, the `S3Error`
 * class every S3-layer failure is thrown as, the mapping from domain `RingstoreError`s, and
 * the XML error body.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */
import { RingstoreError, type ErrorCode } from '../util/errors.js';

/** One row of the error table. */
export interface S3ErrorSpec {
  /** HTTP status sent with this code. */
  readonly status: number;
  /** Message used when the thrower gives none (AWS wording where AWS documents one). */
  readonly message: string;
}

/**
 * Every S3 error code ringstore can answer with. Codes are spelled exactly as AWS spells them;
 * statuses follow the AWS list (cross-checked with Swift's `s3response.py`).
 */
export const S3_ERRORS = {
  AccessDenied: { status: 403, message: 'Access Denied' },
  AuthorizationHeaderMalformed: { status: 400, message: 'The authorization header is malformed.' },
  AuthorizationQueryParametersError: { status: 400, message: 'Error parsing the X-Amz-Credential parameter.' },
  BadDigest: { status: 400, message: 'The Content-MD5 or checksum value that you specified did not match what the server received.' },
  BucketAlreadyExists: { status: 409, message: 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.' },
  BucketAlreadyOwnedByYou: { status: 409, message: 'Your previous request to create the named bucket succeeded and you already own it.' },
  BucketNotEmpty: { status: 409, message: 'The bucket you tried to delete is not empty.' },
  EntityTooLarge: { status: 400, message: 'Your proposed upload exceeds the maximum allowed object size.' },
  EntityTooSmall: { status: 400, message: 'Your proposed upload is smaller than the minimum allowed object size.' },
  ExpiredToken: { status: 400, message: 'The provided token has expired.' },
  IllegalLocationConstraintException: { status: 400, message: 'The specified location-constraint is not valid for this endpoint.' },
  IncompleteBody: { status: 400, message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.' },
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.' },
  InvalidAccessKeyId: { status: 403, message: 'The AWS Access Key Id you provided does not exist in our records.' },
  InvalidArgument: { status: 400, message: 'Invalid Argument' },
  InvalidBucketName: { status: 400, message: 'The specified bucket is not valid.' },
  InvalidDigest: { status: 400, message: 'The Content-MD5 you specified is not valid.' },
  InvalidLocationConstraint: { status: 400, message: 'The specified location constraint is not valid.' },
  InvalidPart: {
    status: 400,
    message: "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
  },
  InvalidPartOrder: { status: 400, message: 'The list of parts was not in ascending order. The parts list must be specified in order by part number.' },
  InvalidPartNumber: { status: 416, message: 'The requested partnumber is not satisfiable' },
  InvalidRange: { status: 416, message: 'The requested range is not satisfiable' },
  InvalidRequest: { status: 400, message: 'Invalid Request' },
  InvalidURI: { status: 400, message: "Couldn't parse the specified URI." },
  KeyTooLongError: { status: 400, message: 'Your key is too long' },
  MalformedTrailerError: { status: 400, message: 'The request contained trailing data that was not well-formed or did not conform to our published schema.' },
  MalformedXML: { status: 400, message: 'The XML you provided was not well-formed or did not validate against our published schema.' },
  MetadataTooLarge: { status: 400, message: 'Your metadata headers exceed the maximum allowed metadata size.' },
  MethodNotAllowed: { status: 405, message: 'The specified method is not allowed against this resource.' },
  MissingContentLength: { status: 411, message: 'You must provide the Content-Length HTTP header.' },
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist' },
  NoSuchKey: { status: 404, message: 'The specified key does not exist.' },
  NoSuchUpload: { status: 404, message: 'The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.' },
  NotImplemented: { status: 501, message: 'A header you provided implies functionality that is not implemented.' },
  PreconditionFailed: { status: 412, message: 'At least one of the preconditions you specified did not hold.' },
  RequestHeaderSectionTooLarge: { status: 400, message: 'Your request header section exceeds the maximum allowed size.' },
  RequestTimeTooSkewed: { status: 403, message: 'The difference between the request time and the current time is too large.' },
  RequestTimeout: { status: 400, message: 'Your socket connection to the server was not read from or written to within the timeout period.' },
  ServiceUnavailable: { status: 503, message: 'Service is unable to handle request.' },
  SignatureDoesNotMatch: { status: 403, message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.' },
  SlowDown: { status: 503, message: 'Please reduce your request rate.' },
  XAmzContentSHA256Mismatch: { status: 400, message: "The provided 'x-amz-content-sha256' header does not match what was computed." },
} as const satisfies Record<string, S3ErrorSpec>;

/** Union of every S3 error code in the table. */
export type S3ErrorCode = keyof typeof S3_ERRORS;

/** Options of an `S3Error` beyond code and message. */
export interface S3ErrorOptions {
  /** The resource (`/bucket/key`) the error is about; the server fills it in when absent. */
  readonly resource?: string;
  /** Extra elements of the error body, e.g. `Key`, `BucketName`, `StringToSign`, `CanonicalRequest`. */
  readonly extra?: Readonly<Record<string, string>>;
  /** True for failures that are bugs or infrastructure faults: the server logs them at warn/error with the request id. */
  readonly internal?: boolean;
  /** The underlying error (kept for the log, never sent to the client). */
  readonly cause?: unknown;
  /** A status other than the table's, where AWS answers one code with two (presigned X-Amz-Expires errors are 403; InvalidRange is 400 for a copy source range). */
  readonly status?: number;
}

/** An error answered to an S3 client: a code from the table, its HTTP status, and the body's details. */
export class S3Error extends Error {
  readonly code: S3ErrorCode;
  readonly status: number;
  readonly resource: string | undefined;
  readonly extra: Readonly<Record<string, string>>;
  readonly internal: boolean;

  constructor(code: S3ErrorCode, message?: string, options: S3ErrorOptions = {}) {
    super(message ?? S3_ERRORS[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'S3Error';
    this.code = code;
    this.status = options.status ?? S3_ERRORS[code].status;
    this.resource = options.resource;
    this.extra = options.extra ?? {};
    this.internal = options.internal ?? false;
  }
}

/** The HTTP status of an S3 error code. */
export function s3ErrorStatus(code: S3ErrorCode): number {
  return S3_ERRORS[code].status;
}

// Domain codes and what the client sees. Availability failures are 503 so that SDKs retry
// (STYLE "Retries"). A corrupt replica must never be served: the coordinator retries other
// replicas, so if CorruptBody still reaches the gateway no good copy answered in time → 503.
// A full disk is 503 ServiceUnavailable with its own message: S3 has no code for it, 507 is
// unknown to SDKs, and space can come back (garbage collection, an operator), so a retry may work.
const DOMAIN_TO_S3: Readonly<Record<ErrorCode, { code: S3ErrorCode; internal: boolean; keepMessage: boolean; message?: string }>> = {
  NoSuchKey: { code: 'NoSuchKey', internal: false, keepMessage: false },
  NoSuchBucket: { code: 'NoSuchBucket', internal: false, keepMessage: false },
  BucketNotEmpty: { code: 'BucketNotEmpty', internal: false, keepMessage: false },
  BucketAlreadyOwnedByYou: { code: 'BucketAlreadyOwnedByYou', internal: false, keepMessage: false },
  BucketAlreadyExists: { code: 'BucketAlreadyExists', internal: false, keepMessage: false },
  NoSuchUpload: { code: 'NoSuchUpload', internal: false, keepMessage: false },
  InvalidPart: { code: 'InvalidPart', internal: false, keepMessage: true },
  EntityTooSmall: { code: 'EntityTooSmall', internal: false, keepMessage: true },
  QuorumNotReached: { code: 'ServiceUnavailable', internal: true, keepMessage: false },
  ServiceUnavailable: { code: 'ServiceUnavailable', internal: true, keepMessage: false },
  // The message says why (the offset and the bound), so the client knows to write elsewhere; the
  // node logs the skew itself once, not once per refused request.
  ClockSkew: { code: 'ServiceUnavailable', internal: false, keepMessage: true },
  PeerUnavailable: { code: 'ServiceUnavailable', internal: true, keepMessage: false },
  Refilling: { code: 'ServiceUnavailable', internal: true, keepMessage: false },
  RpcTimeout: { code: 'ServiceUnavailable', internal: true, keepMessage: false },
  StoreClosed: { code: 'ServiceUnavailable', internal: true, keepMessage: false },
  CorruptBody: { code: 'ServiceUnavailable', internal: true, keepMessage: false },
  InsufficientStorage: {
    code: 'ServiceUnavailable',
    internal: true,
    keepMessage: false,
    message: 'Insufficient storage: a replica has no free disk space, so the object was not stored. Retry later.',
  },
  ChecksumMismatch: { code: 'BadDigest', internal: false, keepMessage: false },
  BadDigest: { code: 'BadDigest', internal: false, keepMessage: false },
  IncompleteBody: { code: 'IncompleteBody', internal: false, keepMessage: false },
  InvalidArgument: { code: 'InvalidArgument', internal: false, keepMessage: true },
  RpcUnauthorized: { code: 'InternalError', internal: true, keepMessage: false },
  RpcProtocol: { code: 'InternalError', internal: true, keepMessage: false },
  InvalidConfig: { code: 'InternalError', internal: true, keepMessage: false },
};

/**
 * Turns anything thrown while serving a request into the `S3Error` to answer with.
 * `S3Error`s pass through; `RingstoreError`s map by code (details `bucket`/`key` become the
 * `BucketName`/`Key` elements); anything else is a bug → `InternalError` with `internal: true`.
 * Messages of internal failures are never sent to the client; the original is kept as `cause`.
 */
export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  if (err instanceof RingstoreError) {
    const row = DOMAIN_TO_S3[err.code] as (typeof DOMAIN_TO_S3)[ErrorCode] | undefined;
    if (row !== undefined) {
      const extra: Record<string, string> = {};
      const bucket = err.details['bucket'];
      const key = err.details['key'];
      if (!row.internal && typeof bucket === 'string') extra['BucketName'] = bucket;
      if (!row.internal && typeof key === 'string') extra['Key'] = key;
      return new S3Error(row.code, row.keepMessage ? err.message : row.message, { extra, internal: row.internal, cause: err });
    }
  }
  return new S3Error('InternalError', undefined, { internal: true, cause: err });
}

// A literal CR would reach the client as LF (XML parsers normalise line ends), so it goes as a
// character reference, as S3 sends it.
const XML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#xD;' };
// XML 1.0 forbids most C0 controls even as character references; they are dropped.
const XML_SPECIAL = /[&<>"'\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/** Escapes text for an XML element or attribute value (control characters XML 1.0 cannot carry are dropped). */
export function escapeXml(text: string): string {
  XML_SPECIAL.lastIndex = 0;
  if (!XML_SPECIAL.test(text)) return text;
  return text.replace(XML_SPECIAL, (c) => XML_ESCAPES[c] ?? '');
}

/**
 * The AWS error body for `err`:
 * `<?xml …?><Error><Code/><Message/>[extras]<Resource/><RequestId/></Error>`.
 * `resource` is used when the error does not carry its own.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#RESTErrorResponses
 */
export function errorXml(err: S3Error, requestId: string, resource: string): string {
  let body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${escapeXml(err.message)}</Message>`;
  for (const [name, value] of Object.entries(err.extra)) {
    if (/^[A-Za-z][A-Za-z0-9-]*$/.test(name)) body += `<${name}>${escapeXml(value)}</${name}>`;
  }
  body += `<Resource>${escapeXml(err.resource ?? resource)}</Resource><RequestId>${escapeXml(requestId)}</RequestId></Error>`;
  return body;
}
