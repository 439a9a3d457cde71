/**
 * Signature Version 2 query-string authentication: the presigned URLs `s3cmd signurl` (and
 * other older tools) make, `?AWSAccessKeyId=…&Expires=<epoch s>&Signature=<base64 HMAC-SHA1>`.
 * Only this form of SigV2 is accepted (`s3.allowSigV2Presigned`); `Authorization: AWS id:sig`
 * headers stay refused. Pure: the caller passes the clock and the credential lookup.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from '../errors.js';
import { headerValue, parseRawQuery, type HeaderBag } from './canonical.js';
import type { AuthResult, CredentialLookup, RequestToVerify } from './verify.js';

/**
 * Query parameters that are part of the canonicalized resource (sorted when signed), with
 * their values decoded. The response-* overrides are among them.
 */
const SIGNED_SUBRESOURCES = new Set([
  'acl',
  'cors',
  'delete',
  'lifecycle',
  'location',
  'logging',
  'notification',
  'partNumber',
  'policy',
  'requestPayment',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'restore',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
]);

/** True when a request carries SigV2 query-string authentication (and no SigV4 of either kind). */
export function isPresignedV2(rawQuery: string, headers: HeaderBag): boolean {
  if (headerValue(headers, 'authorization') !== undefined) return false;
  const names = new Set(parseRawQuery(rawQuery).map(([name]) => name));
  if (names.has('X-Amz-Algorithm') || names.has('X-Amz-Signature') || names.has('X-Amz-Credential')) return false;
  return names.has('AWSAccessKeyId') || names.has('Signature');
}

/**
 * The canonicalized resource: `/bucket` when the bucket came from the Host (virtual-hosted
 * style), then the raw request path, then the signed subresources sorted by name
 * (`?acl`, `?partNumber=2&uploadId=…`).
 */
export function canonicalizedResourceV2(rawPath: string, rawQuery: string, hostBucket?: string): string {
  const subresources = parseRawQuery(rawQuery)
    .filter(([name]) => SIGNED_SUBRESOURCES.has(name))
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`));
  const path = (hostBucket === undefined ? '' : `/${hostBucket}`) + (rawPath === '' ? '/' : rawPath);
  return subresources.length === 0 ? path : `${path}?${subresources.join('&')}`;
}

/** `x-amz-*` headers, lower-cased, sorted, values trimmed and joined with `,`: `name:value\n` each. */
export function canonicalizedAmzHeadersV2(headers: HeaderBag): string {
  const amz = new Map<string, string[]>();
  for (const [name, raw] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!lower.startsWith('x-amz-') || raw === undefined) continue;
    const values = typeof raw === 'string' ? [raw] : [...raw];
    amz.set(lower, [...(amz.get(lower) ?? []), ...values.map((v) => v.trim().replace(/\s*\n\s*/g, ' '))]);
  }
  let out = '';
  for (const name of [...amz.keys()].sort()) out += `${name}:${amz.get(name)!.join(',')}\n`;
  return out;
}

/**
 * The SigV2 string to sign: `VERB\nContent-MD5\nContent-Type\nDate-or-Expires\n` followed by the
 * canonicalized amz headers and resource. For query-string auth the date line is `Expires`.
 */
export function stringToSignV2(method: string, headers: HeaderBag, dateOrExpires: string, canonicalizedResource: string): string {
  const md5 = headerValue(headers, 'content-md5') ?? '';
  const type = headerValue(headers, 'content-type') ?? '';
  return `${method.toUpperCase()}\n${md5.trim()}\n${type.trim()}\n${dateOrExpires}\n${canonicalizedAmzHeadersV2(headers)}${canonicalizedResource}`;
}

/** Base64 HMAC-SHA1 of a string to sign (UTF-8) under a secret key. */
export function signV2(secret: string, toSign: string): string {
  return createHmac('sha1', secret).update(toSign, 'utf8').digest('base64');
}

function signaturesEqualV2(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'base64');
  const b = Buffer.from(provided, 'base64');
  return a.length === 20 && b.length === a.length && timingSafeEqual(a, b);
}

/**
 * Verifies a SigV2 presigned request at `now` (epoch ms). `hostBucket` is the bucket named by
 * the Host header under virtual-hosted–style addressing. Throws `S3Error`: AccessDenied
 * (missing parameters, a bad or past Expires: "Request has expired"), InvalidAccessKeyId,
 * SignatureDoesNotMatch (with StringToSign).
 */
export function verifyPresignedV2(req: RequestToVerify, creds: CredentialLookup, now: number, hostBucket?: string): AuthResult {
  const query = new Map(parseRawQuery(req.query));
  const accessKeyId = query.get('AWSAccessKeyId');
  const expires = query.get('Expires');
  // A raw `+` of a base64 signature arrives as a space (form decoding); base64 has no spaces.
  const signature = query.get('Signature')?.replaceAll(' ', '+');
  if (accessKeyId === undefined || accessKeyId === '' || expires === undefined || signature === undefined) {
    throw new S3Error('AccessDenied', 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters');
  }
  if (!/^\d{1,12}$/.test(expires)) throw new S3Error('AccessDenied', `Invalid date (should be seconds since epoch): ${expires}`);
  const expiresMs = Number(expires) * 1000;
  if (now > expiresMs) {
    throw new S3Error('AccessDenied', 'Request has expired', { extra: { Expires: new Date(expiresMs).toISOString(), ServerTime: new Date(now).toISOString() } });
  }
  const secret = creds.lookup(accessKeyId);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId', undefined, { extra: { AWSAccessKeyId: accessKeyId } });
  const toSign = stringToSignV2(req.method, req.headers, expires, canonicalizedResourceV2(req.path, req.query, hostBucket));
  if (!signaturesEqualV2(signV2(secret, toSign), signature)) {
    throw new S3Error('SignatureDoesNotMatch', undefined, { extra: { AWSAccessKeyId: accessKeyId, StringToSign: toSign, SignatureProvided: signature } });
  }
  // The body is not covered by a SigV2 signature (only Content-MD5, when sent, which is checked).
  return { accessKeyId, via: 'presigned', payload: { kind: 'unsigned' } };
}
