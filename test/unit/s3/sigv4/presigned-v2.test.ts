import { describe, expect, it } from 'vitest';
import { S3Error } from '../../../../src/s3/errors.js';
import { canonicalizedAmzHeadersV2, canonicalizedResourceV2, isPresignedV2, signV2, stringToSignV2, verifyPresignedV2 } from '../../../../src/s3/sigv4/presigned-v2.js';
import type { RequestToVerify } from '../../../../src/s3/sigv4/verify.js';

// The example credentials of the AWS "Signing and authenticating REST requests" (SigV2) page.
const ACCESS = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const creds = { lookup: (id: string): string | undefined => (id === ACCESS ? SECRET : undefined) };

function s3ErrorOf(fn: () => unknown): S3Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof S3Error) return err;
    throw err;
  }
  throw new Error('expected an S3Error');
}

describe('SigV2: the AWS documentation examples', () => {
  it('Object GET (header auth example): the string to sign and its signature', () => {
    const toSign = stringToSignV2(
      'GET',
      { host: 'awsexamplebucket1.us-west-1.s3.amazonaws.com' },
      'Tue, 27 Mar 2007 19:36:42 +0000',
      canonicalizedResourceV2('/photos/puppy.jpg', '', 'awsexamplebucket1'),
    );
    expect(toSign).toBe('GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg');
    expect(signV2(SECRET, 'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg')).toBe('bWq2s1WEIj+Ydj0vQ697zp+IXMU=');
  });

  it('Object PUT: Content-MD5 is empty, Content-Type signed', () => {
    expect(signV2(SECRET, 'PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg')).toBe('MyyxeRY7whkBe+bq8fHCL/2kKUg=');
  });

  it('Query string authentication: the puppy.jpg URL, Expires in place of the date, valid until then', () => {
    // The signature of the example's string to sign, computed as the header examples above are.
    const signature = signV2(SECRET, 'GET\n\n\n1141889120\n/johnsmith/photos/puppy.jpg');
    const query = `AWSAccessKeyId=${ACCESS}&Expires=1141889120&Signature=${encodeURIComponent(signature)}`;
    const req: RequestToVerify = { method: 'GET', path: '/johnsmith/photos/puppy.jpg', query, headers: { host: 's3.amazonaws.com' } };
    expect(isPresignedV2(query, req.headers)).toBe(true);
    expect(verifyPresignedV2(req, creds, 1141889120 * 1000 - 60_000)).toEqual({ accessKeyId: ACCESS, via: 'presigned', payload: { kind: 'unsigned' } });
    // The same URL virtual-hosted: the bucket comes from the Host and is signed as /johnsmith.
    expect(verifyPresignedV2({ ...req, path: '/photos/puppy.jpg', headers: { host: 'johnsmith.s3.amazonaws.com' } }, creds, 1141889120 * 1000, 'johnsmith').accessKeyId).toBe(ACCESS);
  });

  it('a raw + in the signature (not %2B) is still a plus', () => {
    const toSign = 'GET\n\n\n1141889120\n/b/k7';
    expect(signV2(SECRET, toSign)).toContain('+');
    const query = `AWSAccessKeyId=${ACCESS}&Expires=1141889120&Signature=${signV2(SECRET, toSign).replace('=', '%3D')}`;
    expect(verifyPresignedV2({ method: 'GET', path: '/b/k7', query, headers: {} }, creds, 1141889120 * 1000).via).toBe('presigned');
  });
});

describe('SigV2: canonicalization', () => {
  it.each([
    ['/b/k', '', undefined, '/b/k'],
    ['', '', undefined, '/'],
    ['/k%20x', '', 'b', '/b/k%20x'],
    ['/b/k', 'acl', undefined, '/b/k?acl'],
    ['/b/k', 'uploadId=U1&partNumber=2&foo=bar', undefined, '/b/k?partNumber=2&uploadId=U1'],
    ['/b/k', 'response-content-type=text%2Fplain&AWSAccessKeyId=A&Expires=1&Signature=s', undefined, '/b/k?response-content-type=text/plain'],
    ['/b', 'versioning', undefined, '/b?versioning'],
  ])('resource of %s ? %s (host bucket %s) is %s', (path, query, bucket, expected) => {
    expect(canonicalizedResourceV2(path, query, bucket)).toBe(expected);
  });

  it('amz headers: lower-cased, sorted, values trimmed and joined', () => {
    expect(canonicalizedAmzHeadersV2({ 'X-Amz-Meta-B': ' two ', 'x-amz-date': 'd', host: 'h', 'x-amz-meta-a': ['1', '2'] })).toBe('x-amz-date:d\nx-amz-meta-a:1,2\nx-amz-meta-b:two\n');
  });

  it.each([
    ['AWSAccessKeyId=a&Expires=1&Signature=s', {}, true],
    ['Signature=s', {}, true],
    ['X-Amz-Algorithm=AWS4-HMAC-SHA256&AWSAccessKeyId=a', {}, false],
    ['AWSAccessKeyId=a&Expires=1&Signature=s', { authorization: 'AWS4-HMAC-SHA256 …' }, false],
    ['list-type=2', {}, false],
  ])('isPresignedV2(%s, %o) = %s', (query, headers, expected) => {
    expect(isPresignedV2(query, headers)).toBe(expected);
  });
});

describe('SigV2: errors', () => {
  const now = 1_700_000_000_000;
  const expires = String(now / 1000 + 60);
  const signed = (method: string, path: string, exp: string): string => encodeURIComponent(signV2(SECRET, `${method}\n\n\n${exp}\n${path}`));
  const req = (query: string, path = '/b/k'): RequestToVerify => ({ method: 'GET', path, query, headers: { host: '127.0.0.1:9000' } });

  it('accepts a URL signed for this path until its Expires', () => {
    expect(verifyPresignedV2(req(`AWSAccessKeyId=${ACCESS}&Expires=${expires}&Signature=${signed('GET', '/b/k', expires)}`), creds, now + 60_000).accessKeyId).toBe(ACCESS);
  });

  it.each<[string, string, number, string, string]>([
    ['expired', `AWSAccessKeyId=${ACCESS}&Expires=${expires}&Signature=${signed('GET', '/b/k', expires)}`, now + 61_000, 'AccessDenied', 'Request has expired'],
    ['no Expires', `AWSAccessKeyId=${ACCESS}&Signature=x`, now, 'AccessDenied', 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters'],
    ['no Signature', `AWSAccessKeyId=${ACCESS}&Expires=${expires}`, now, 'AccessDenied', 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters'],
    ['no AWSAccessKeyId', `Expires=${expires}&Signature=x`, now, 'AccessDenied', 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters'],
    ['a non-numeric Expires', `AWSAccessKeyId=${ACCESS}&Expires=soon&Signature=x`, now, 'AccessDenied', 'Invalid date (should be seconds since epoch): soon'],
    [
      'an unknown key',
      `AWSAccessKeyId=NOBODY&Expires=${expires}&Signature=${signed('GET', '/b/k', expires)}`,
      now,
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
    ],
    ['another path', `AWSAccessKeyId=${ACCESS}&Expires=${expires}&Signature=${signed('GET', '/b/other', expires)}`, now, 'SignatureDoesNotMatch', ''],
    ['another method', `AWSAccessKeyId=${ACCESS}&Expires=${expires}&Signature=${signed('PUT', '/b/k', expires)}`, now, 'SignatureDoesNotMatch', ''],
    ['a changed Expires', `AWSAccessKeyId=${ACCESS}&Expires=${Number(expires) + 1}&Signature=${signed('GET', '/b/k', expires)}`, now, 'SignatureDoesNotMatch', ''],
  ])('%s → %s', (_name, query, at, code, message) => {
    const err = s3ErrorOf(() => verifyPresignedV2(req(query), creds, at));
    expect(err.code).toBe(code);
    expect(err.status).toBe(403);
    if (message !== '') expect(err.message).toBe(message);
  });

  it('an expired URL carries Expires and ServerTime', () => {
    const err = s3ErrorOf(() => verifyPresignedV2(req(`AWSAccessKeyId=${ACCESS}&Expires=${expires}&Signature=x`), creds, now + 120_000));
    expect(err.extra).toEqual({ Expires: new Date(Number(expires) * 1000).toISOString(), ServerTime: new Date(now + 120_000).toISOString() });
  });

  it('signs an x-amz-* header the request carries (a changed one fails)', () => {
    const sig = encodeURIComponent(signV2(SECRET, `GET\n\n\n${expires}\nx-amz-meta-a:1\n/b/k`));
    const q = `AWSAccessKeyId=${ACCESS}&Expires=${expires}&Signature=${sig}`;
    expect(verifyPresignedV2({ ...req(q), headers: { 'x-amz-meta-a': '1' } }, creds, now).via).toBe('presigned');
    expect(s3ErrorOf(() => verifyPresignedV2({ ...req(q), headers: { 'x-amz-meta-a': '2' } }, creds, now)).code).toBe('SignatureDoesNotMatch');
  });
});
