/**
 * SigV4 request verification for the gateway: `Authorization` header auth and presigned URLs.
 * Pure: the caller passes the clock, the region and a credential lookup. The result says how
 * the body is protected (`PayloadMode`) and carries the seed that aws-chunked chunk signatures
 * chain from.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-auth-using-authorization-header.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */
import { timingSafeEqual } from 'node:crypto';
import { S3Error, type S3ErrorCode } from '../errors.js';
import { UNSIGNED_PAYLOAD, canonicalRequest, hasNonAscii, headerValue, parseRawQuery, type HeaderBag, type HeaderReading } from './canonical.js';
import { ALGORITHM, credentialScope, deriveSigningKey, parseAmzDate, sign, stringToSign, toAmzDate, type SigningSeed } from './signing.js';

/** How the request body is authenticated, from `x-amz-content-sha256`. */
export type PayloadMode =
  /** The body's SHA-256 was signed: it must hash to `sha256` (hex). */
  | { readonly kind: 'signed'; readonly sha256: string }
  /** `UNSIGNED-PAYLOAD`. */
  | { readonly kind: 'unsigned' }
  /** `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: aws-chunked, every chunk signed. */
  | { readonly kind: 'streaming-signed' }
  /** `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: as above plus signed trailing headers. */
  | { readonly kind: 'streaming-signed-trailer' }
  /** `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: aws-chunked, unsigned chunks, trailing checksum (today's SDK default). */
  | { readonly kind: 'streaming-unsigned-trailer' };

/** A verified request. */
export interface AuthResult {
  readonly accessKeyId: string;
  /** `header` for Authorization-header auth, `presigned` for query-string auth. */
  readonly via: 'header' | 'presigned';
  readonly payload: PayloadMode;
  /** Present whenever a signature was verified; needed to verify aws-chunked chunk signatures. */
  readonly seed?: SigningSeed;
}

/** Where secrets come from: undefined for an unknown access key id. */
export interface CredentialLookup {
  lookup(accessKeyId: string): string | undefined;
}

/** The parts of an incoming request that SigV4 covers. */
export interface RequestToVerify {
  readonly method: string;
  /** Raw path, still percent-encoded. */
  readonly path: string;
  /** Raw query string, without `?`. */
  readonly query: string;
  readonly headers: HeaderBag;
}

/** Largest accepted |request time − server time| (AWS: 15 minutes). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** Longest presigned URL validity, in seconds (7 days). */
export const MAX_PRESIGN_EXPIRES_S = 604_800;

const HEX64 = /^[0-9a-f]{64}$/;

/** Maps an x-amz-content-sha256 value to the payload mode, or throws. */
export function payloadModeOf(value: string): PayloadMode {
  switch (value) {
    case UNSIGNED_PAYLOAD:
      return { kind: 'unsigned' };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
      return { kind: 'streaming-signed' };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER':
      return { kind: 'streaming-signed-trailer' };
    case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
      return { kind: 'streaming-unsigned-trailer' };
    default:
      if (HEX64.test(value)) return { kind: 'signed', sha256: value };
      if (value.startsWith('STREAMING-AWS4-ECDSA-P256-SHA256-')) throw new S3Error('NotImplemented', 'SigV4a (ECDSA) streaming signatures are not supported.');
      throw new S3Error(
        'InvalidArgument',
        'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
        {
          extra: { ArgumentName: 'x-amz-content-sha256', ArgumentValue: value },
        },
      );
  }
}

/** Constant-time comparison of two hex signatures. */
export function signaturesEqual(expectedHex: string, providedHex: string): boolean {
  const provided = providedHex.toLowerCase();
  if (!HEX64.test(provided) || !HEX64.test(expectedHex)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(provided, 'hex'));
}

interface Parsed {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  requestMs: number;
  payloadHash: string;
}

/**
 * Verifies a request's SigV4 signature (header or presigned) against `creds` at time `now`
 * (epoch ms) for `region`. Throws `S3Error`: AccessDenied (no auth, expired URL, unsigned
 * x-amz-* headers), InvalidAccessKeyId, SignatureDoesNotMatch (with StringToSign and
 * CanonicalRequest), AuthorizationHeaderMalformed / AuthorizationQueryParametersError
 * (bad credential scope), RequestTimeTooSkewed, InvalidRequest / InvalidArgument.
 */
export function verifyRequest(req: RequestToVerify, creds: CredentialLookup, now: number, region: string): AuthResult {
  const authorization = headerValue(req.headers, 'authorization');
  const query = new Map(parseRawQuery(req.query));
  const presigned = query.has('X-Amz-Algorithm') || query.has('X-Amz-Signature') || query.has('X-Amz-Credential');
  if (authorization !== undefined && presigned) {
    throw new S3Error('InvalidArgument', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified');
  }
  if (authorization !== undefined) return verify(req, creds, region, 'header', parseHeaderAuth(req, authorization, now));
  if (presigned) return verify(req, creds, region, 'presigned', parsePresigned(req, query, now));
  if (query.has('Signature') || query.has('AWSAccessKeyId')) throw new S3Error('InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
  throw new S3Error('AccessDenied', 'Anonymous access is not allowed; sign the request with AWS Signature Version 4.');
}

function verify(req: RequestToVerify, creds: CredentialLookup, region: string, via: 'header' | 'presigned', p: Parsed): AuthResult {
  const malformed: S3ErrorCode = via === 'header' ? 'AuthorizationHeaderMalformed' : 'AuthorizationQueryParametersError';
  const what = via === 'header' ? 'The authorization header is malformed' : 'Error parsing the X-Amz-Credential parameter';
  if (p.date !== p.amzDate.slice(0, 8)) {
    throw new S3Error(malformed, `${what}; Invalid credential date "${p.date}". This date is not the same as X-Amz-Date: "${p.amzDate.slice(0, 8)}".`);
  }
  if (p.region !== region) throw new S3Error(malformed, `${what}; the region '${p.region}' is wrong; expecting '${region}'`, { extra: { Region: region } });
  if (p.service !== 's3') throw new S3Error(malformed, `${what}; incorrect service "${p.service}". This endpoint belongs to "s3".`);
  if (!p.signedHeaders.includes('host')) throw new S3Error(malformed, `${what}; SignedHeaders must include host.`);

  const secret = creds.lookup(p.accessKeyId);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId', undefined, { extra: { AWSAccessKeyId: p.accessKeyId } });

  const scope = credentialScope(p.date, p.region, p.service);
  const signingKey = deriveSigningKey(secret, p.date, p.region, p.service);
  const attempt = (headerReading: HeaderReading): { canonical: string; toSign: string; expected: string } => {
    const canonical = canonicalRequest({
      method: req.method,
      path: req.path,
      query: req.query,
      headers: req.headers,
      signedHeaders: p.signedHeaders,
      payloadHash: p.payloadHash,
      headerReading,
      ...(via === 'presigned' ? { excludeQuery: 'X-Amz-Signature' } : {}),
    });
    const toSign = stringToSign(p.amzDate, scope, canonical);
    return { canonical, toSign, expected: sign(signingKey, toSign) };
  };
  const first = attempt('as-received');
  let expected = first.expected;
  // Non-ASCII header values were signed either as the string the client had or as the UTF-8
  // bytes it sent (see HeaderReading); both are accepted. Only then is a second HMAC computed.
  if (!signaturesEqual(expected, p.signature) && p.signedHeaders.some((h) => hasNonAscii(headerValue(req.headers, h) ?? ''))) {
    const second = attempt('utf8-bytes');
    if (signaturesEqual(second.expected, p.signature)) expected = second.expected;
  }
  if (!signaturesEqual(expected, p.signature)) {
    throw new S3Error('SignatureDoesNotMatch', undefined, {
      extra: { AWSAccessKeyId: p.accessKeyId, StringToSign: first.toSign, SignatureProvided: p.signature, CanonicalRequest: first.canonical },
    });
  }
  // AWS refuses x-amz-* headers the client did not sign: they change the request's meaning
  // (a presigned URL must not become a PUT with another x-amz-acl or copy source either).
  const unsigned = Object.entries(req.headers)
    .filter(([, v]) => v !== undefined)
    .map(([h]) => h.toLowerCase())
    .filter((h) => h.startsWith('x-amz-') && !p.signedHeaders.includes(h));
  if (unsigned.length > 0) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', { extra: { HeadersNotSigned: unsigned.join(', ') } });
  }
  return {
    accessKeyId: p.accessKeyId,
    via,
    payload: payloadModeOf(p.payloadHash),
    seed: { signature: expected, signingKey, scope, amzDate: p.amzDate },
  };
}

function parseCredential(credential: string, malformed: S3ErrorCode, what: string): Pick<Parsed, 'accessKeyId' | 'date' | 'region' | 'service'> {
  const parts = credential.split('/');
  const [accessKeyId, date, region, service, terminator] = parts;
  if (
    parts.length !== 5 ||
    accessKeyId === undefined ||
    accessKeyId === '' ||
    date === undefined ||
    !/^\d{8}$/.test(date) ||
    region === undefined ||
    region === '' ||
    service === undefined ||
    terminator !== 'aws4_request'
  ) {
    throw new S3Error(malformed, `${what}; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  }
  return { accessKeyId, date, region, service };
}

function checkSkew(amzDate: string, requestMs: number, now: number): void {
  if (Math.abs(requestMs - now) > MAX_CLOCK_SKEW_MS) {
    throw new S3Error('RequestTimeTooSkewed', undefined, {
      extra: { RequestTime: amzDate, ServerTime: new Date(now).toISOString(), MaxAllowedSkewMilliseconds: String(MAX_CLOCK_SKEW_MS) },
    });
  }
}

function parseHeaderAuth(req: RequestToVerify, authorization: string, now: number): Parsed {
  const what = 'The authorization header is malformed';
  const space = authorization.indexOf(' ');
  const algorithm = space < 0 ? authorization : authorization.slice(0, space);
  if (algorithm !== ALGORITHM) {
    if (algorithm === 'AWS') throw new S3Error('InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
    throw new S3Error('InvalidArgument', 'Unsupported Authorization Type', { extra: { ArgumentName: 'Authorization', ArgumentValue: authorization } });
  }
  const fields = new Map<string, string>();
  for (const part of authorization.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined || signedHeaders === '') {
    throw new S3Error('AuthorizationHeaderMalformed', `${what}; the Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.`);
  }
  const cred = parseCredential(credential, 'AuthorizationHeaderMalformed', what);

  const xAmzDate = headerValue(req.headers, 'x-amz-date');
  let amzDate: string;
  let requestMs: number | undefined;
  if (xAmzDate !== undefined) {
    amzDate = xAmzDate.trim();
    requestMs = parseAmzDate(amzDate);
  } else {
    const date = headerValue(req.headers, 'date');
    requestMs = date === undefined ? undefined : Date.parse(date);
    amzDate = requestMs === undefined || Number.isNaN(requestMs) ? '' : toAmzDate(requestMs);
  }
  if (requestMs === undefined || Number.isNaN(requestMs)) throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  checkSkew(amzDate, requestMs, now);

  // S3 requires the header so it knows how the body is protected (it is part of the signature).
  const payloadHash = headerValue(req.headers, 'x-amz-content-sha256')?.trim();
  if (payloadHash === undefined) throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  return { ...cred, signedHeaders: signedHeaders.split(';').map((h) => h.trim().toLowerCase()), signature, amzDate, requestMs, payloadHash };
}

/**
 * Checks `X-Amz-Expires` (seconds, 0…604800) and returns it. S3 answers a bad value with
 * AuthorizationQueryParametersError and status 403 (not that code's usual 400), as the s3-tests
 * suite's `x_amz_expires_out_*` cases expect.
 */
export function checkPresignExpires(expires: string): number {
  const refuse = (message: string): S3Error => new S3Error('AuthorizationQueryParametersError', message, { status: 403 });
  if (/^-\d+$/.test(expires)) throw refuse('X-Amz-Expires must be non-negative');
  if (!/^\d{1,15}$/.test(expires)) throw refuse('X-Amz-Expires should be a number');
  const seconds = Number(expires);
  if (seconds > MAX_PRESIGN_EXPIRES_S) {
    throw refuse(`X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires must be less than ${MAX_PRESIGN_EXPIRES_S} seconds`);
  }
  return seconds;
}

function parsePresigned(req: RequestToVerify, query: ReadonlyMap<string, string>, now: number): Parsed {
  const what = 'Error parsing the X-Amz-Credential parameter';
  const algorithm = query.get('X-Amz-Algorithm');
  const credential = query.get('X-Amz-Credential');
  const amzDate = query.get('X-Amz-Date');
  const expires = query.get('X-Amz-Expires');
  const signedHeaders = query.get('X-Amz-SignedHeaders');
  const signature = query.get('X-Amz-Signature');
  if (algorithm === undefined || credential === undefined || amzDate === undefined || expires === undefined || signedHeaders === undefined || signature === undefined) {
    throw new S3Error(
      'AuthorizationQueryParametersError',
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  if (algorithm !== ALGORITHM) throw new S3Error('AuthorizationQueryParametersError', `X-Amz-Algorithm only supports "${ALGORITHM}"`);
  const cred = parseCredential(credential, 'AuthorizationQueryParametersError', what);
  const requestMs = parseAmzDate(amzDate);
  if (requestMs === undefined) throw new S3Error('AuthorizationQueryParametersError', `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  const expiresS = checkPresignExpires(expires);
  if (requestMs - now > MAX_CLOCK_SKEW_MS) throw new S3Error('AccessDenied', 'Request is not valid yet');
  if (now > requestMs + expiresS * 1000) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      extra: { 'X-Amz-Expires': expires, Expires: new Date(requestMs + expiresS * 1000).toISOString(), ServerTime: new Date(now).toISOString() },
    });
  }
  const hoisted = query.get('X-Amz-Content-Sha256') ?? query.get('x-amz-content-sha256');
  const list = signedHeaders.split(';').map((h) => h.trim().toLowerCase());
  const header = list.includes('x-amz-content-sha256') ? headerValue(req.headers, 'x-amz-content-sha256')?.trim() : undefined;
  return { ...cred, signedHeaders: list, signature, amzDate, requestMs, payloadHash: hoisted ?? header ?? UNSIGNED_PAYLOAD };
}
