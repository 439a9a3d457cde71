/**
 * SigV4 signing primitives, used by both sides: the gateway verifies with them and clients
 * (the bench tool, tests) sign with `signRequest` / `presignUrl`, so there is one
 * implementation of the algorithm.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
import { createHash, createHmac } from 'node:crypto';
import { EMPTY_SHA256, UNSIGNED_PAYLOAD, canonicalRequest, uriEncode } from './canonical.js';

/** The only algorithm ringstore speaks. */
export const ALGORITHM = 'AWS4-HMAC-SHA256';

/** Hex SHA-256 of a string or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** HMAC-SHA256 of `data` under `key`. */
export function hmac(key: string | Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** `YYYYMMDDTHHMMSSZ` for an instant (the x-amz-date format). */
export function toAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Parses an x-amz-date (`YYYYMMDDTHHMMSSZ`) to epoch ms; undefined when malformed. */
export function parseAmzDate(amzDate: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  // Date.UTC rolls 2013-02-30 over into March; a valid date formats back to itself.
  return toAmzDate(ms) === amzDate ? ms : undefined;
}

/** `date/region/service/aws4_request`. */
export function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/aws4_request`;
}

const SIGNING_KEY_CACHE_MAX = 256;
const signingKeyCache = new Map<string, Buffer>();

/**
 * The signing key `HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")`.
 * Cached (a few hundred entries, oldest evicted first): it changes once a day per key.
 */
export function deriveSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${date}\0${region}\0${service}\0${secret}`;
  const hit = signingKeyCache.get(cacheKey);
  if (hit !== undefined) return hit;
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  if (signingKeyCache.size >= SIGNING_KEY_CACHE_MAX) {
    const oldest = signingKeyCache.keys().next();
    if (oldest.done !== true) signingKeyCache.delete(oldest.value);
  }
  signingKeyCache.set(cacheKey, key);
  return key;
}

/** `AWS4-HMAC-SHA256\n<amzDate>\n<scope>\n<hex sha256(canonical request)>`. */
export function stringToSign(amzDate: string, scope: string, canonicalReq: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalReq)}`;
}

/** Hex HMAC-SHA256 of a string-to-sign under a signing key: the signature. */
export function sign(signingKey: Uint8Array, toSign: string): string {
  return hmac(signingKey, toSign).toString('hex');
}

/** String-to-sign of one aws-chunked payload chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD). */
export function chunkStringToSign(amzDate: string, scope: string, previousSignature: string, chunkSha256Hex: string): string {
  return `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${previousSignature}\n${EMPTY_SHA256}\n${chunkSha256Hex}`;
}

/**
 * String-to-sign of the trailing headers chunk; `canonicalTrailers` is `name:value\n` per trailer.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 */
export function trailerStringToSign(amzDate: string, scope: string, previousSignature: string, canonicalTrailers: string): string {
  return `AWS4-HMAC-SHA256-TRAILER\n${amzDate}\n${scope}\n${previousSignature}\n${sha256Hex(canonicalTrailers)}`;
}

/** The state a signer or verifier of an aws-chunked body needs to chain chunk signatures. */
export interface SigningSeed {
  /** Signature of the request (the first chunk's "previous signature"). */
  readonly signature: string;
  readonly signingKey: Buffer;
  readonly scope: string;
  readonly amzDate: string;
}

/** Credentials and scope of a client signature. */
export interface SignerCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /** Defaults to `s3`. */
  readonly service?: string;
}

/** A request to sign on the client side. */
export interface RequestToSign {
  readonly method: string;
  /** Full URL (`http://host:port/bucket/key?query`), already percent-encoded as it will be sent. */
  readonly url: string;
  /** Headers to send; `host` is added from the URL when absent. */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Hex SHA-256 of the body or a marker (UNSIGNED-PAYLOAD, STREAMING-…). Defaults to the
   * SHA-256 of `body`, or of the empty string when there is no body.
   */
  readonly payloadHash?: string;
  readonly body?: string | Uint8Array;
  /** Signing time in epoch ms; defaults to now. */
  readonly now?: number;
}

/** A signed request: the headers to send plus what was signed (for chunk signing and debugging). */
export interface SignedRequest {
  /** Lower-case headers including `host`, `x-amz-date`, `x-amz-content-sha256` and `authorization`. */
  readonly headers: Record<string, string>;
  readonly seed: SigningSeed;
  readonly canonicalRequest: string;
  readonly stringToSign: string;
}

// Headers proxies may rewrite or that clients never sign (the SDKs' unsignable list).
const UNSIGNABLE = new Set(['authorization', 'connection', 'expect', 'keep-alive', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'x-amzn-trace-id']);

function scopeParts(creds: SignerCredentials, now: number): { amzDate: string; scope: string; signingKey: Buffer } {
  const amzDate = toAmzDate(now);
  const date = amzDate.slice(0, 8);
  const service = creds.service ?? 's3';
  return { amzDate, scope: credentialScope(date, creds.region, service), signingKey: deriveSigningKey(creds.secretAccessKey, date, creds.region, service) };
}

/**
 * Signs a request with an `Authorization: AWS4-HMAC-SHA256 …` header. Every header given
 * (except hop-by-hop ones) is signed.
 */
export function signRequest(req: RequestToSign, creds: SignerCredentials): SignedRequest {
  const url = new URL(req.url);
  const { amzDate, scope, signingKey } = scopeParts(creds, req.now ?? Date.now());
  const payloadHash = req.payloadHash ?? (req.body === undefined ? EMPTY_SHA256 : sha256Hex(req.body));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  headers['host'] ??= url.host;
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = payloadHash;
  const signedHeaders = Object.keys(headers)
    .filter((h) => !UNSIGNABLE.has(h))
    .sort();
  const creq = canonicalRequest({ method: req.method, path: url.pathname, query: url.search.slice(1), headers, signedHeaders, payloadHash });
  const sts = stringToSign(amzDate, scope, creq);
  const signature = sign(signingKey, sts);
  headers['authorization'] = `${ALGORITHM} Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
  return { headers, seed: { signature, signingKey, scope, amzDate }, canonicalRequest: creq, stringToSign: sts };
}

/**
 * A presigned URL for `method url`, valid `expiresIn` seconds (≤ 604800). Only `host` (and
 * any `headers` given) are signed; the payload is UNSIGNED-PAYLOAD.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */
export function presignUrl(req: Omit<RequestToSign, 'payloadHash' | 'body'> & { readonly expiresIn: number }, creds: SignerCredentials): string {
  const url = new URL(req.url);
  const { amzDate, scope, signingKey } = scopeParts(creds, req.now ?? Date.now());
  const headers: Record<string, string> = { host: url.host };
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  const signedHeaders = Object.keys(headers).sort();
  const params: Array<[string, string]> = [
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', `${creds.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(req.expiresIn)],
    ['X-Amz-SignedHeaders', signedHeaders.join(';')],
  ];
  const existing = url.search.slice(1);
  const query = [existing, ...params.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`)].filter((s) => s !== '').join('&');
  const creq = canonicalRequest({ method: req.method, path: url.pathname, query, headers, signedHeaders, payloadHash: UNSIGNED_PAYLOAD });
  const signature = sign(signingKey, stringToSign(amzDate, scope, creq));
  url.search = `?${query}&X-Amz-Signature=${signature}`;
  return url.toString();
}
