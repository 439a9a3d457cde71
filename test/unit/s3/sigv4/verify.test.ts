import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { S3Error } from '../../../../src/s3/errors.js';
import { canonicalRequest } from '../../../../src/s3/sigv4/canonical.js';
import { credentialScope, deriveSigningKey, presignUrl, sign, signRequest, stringToSign, toAmzDate } from '../../../../src/s3/sigv4/signing.js';
import { MAX_CLOCK_SKEW_MS, payloadModeOf, verifyRequest, type RequestToVerify } from '../../../../src/s3/sigv4/verify.js';
import { ACCESS_KEY, EMPTY_HASH, EXAMPLE_NOW, HEADER_EXAMPLES, PRESIGNED_EXAMPLE_QUERY, REGION, SECRET_KEY, authorizationFor, exampleCreds } from '../fixtures/aws-examples.js';
import { NodeSha256, capturingClient } from '../fixtures/sdk.js';

function exampleRequest(i: number, overrides: { headers?: Record<string, string | undefined>; signature?: string } = {}): RequestToVerify {
  const ex = HEADER_EXAMPLES[i]!;
  const headers: Record<string, string | undefined> = { ...ex.headers, authorization: authorizationFor(ex.headers, overrides.signature ?? ex.signature), ...overrides.headers };
  return { method: ex.method, path: ex.path, query: ex.query, headers };
}

function s3ErrorOf(fn: () => unknown): S3Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof S3Error) return err;
    throw err;
  }
  throw new Error('expected an S3Error');
}

describe('verifyRequest: the AWS header-auth examples', () => {
  it.each(HEADER_EXAMPLES.map((ex, i) => [ex.name, i] as const))('%s verifies', (_name, i) => {
    const result = verifyRequest(exampleRequest(i), exampleCreds, EXAMPLE_NOW, REGION);
    expect(result.accessKeyId).toBe(ACCESS_KEY);
    expect(result.via).toBe('header');
    expect(result.seed?.signature).toBe(HEADER_EXAMPLES[i]!.signature);
    expect(result.seed?.scope).toBe('20130524/us-east-1/s3/aws4_request');
  });

  it('reports the signed payload hash of PUT Object', () => {
    expect(verifyRequest(exampleRequest(1), exampleCreds, EXAMPLE_NOW, REGION).payload).toEqual({
      kind: 'signed',
      sha256: '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
    });
  });

  it('rejects a tampered signature with StringToSign and CanonicalRequest', () => {
    const err = s3ErrorOf(() => verifyRequest(exampleRequest(0, { signature: '0'.repeat(64) }), exampleCreds, EXAMPLE_NOW, REGION));
    expect(err.code).toBe('SignatureDoesNotMatch');
    expect(err.status).toBe(403);
    expect(err.extra['StringToSign']).toContain('20130524/us-east-1/s3/aws4_request');
    expect(err.extra['CanonicalRequest']).toContain('range:bytes=0-9');
  });

  it('rejects a changed signed header', () => {
    expect(s3ErrorOf(() => verifyRequest(exampleRequest(0, { headers: { range: 'bytes=0-10' } }), exampleCreds, EXAMPLE_NOW, REGION)).code).toBe('SignatureDoesNotMatch');
  });
});

describe('verifyRequest: the AWS presigned URL example', () => {
  const req: RequestToVerify = { method: 'GET', path: '/test.txt', query: PRESIGNED_EXAMPLE_QUERY, headers: { host: 'examplebucket.s3.amazonaws.com' } };

  it('verifies within its 86400 s validity, as UNSIGNED-PAYLOAD', () => {
    const result = verifyRequest(req, exampleCreds, EXAMPLE_NOW + 86_000_000, REGION);
    expect(result).toMatchObject({ accessKeyId: ACCESS_KEY, via: 'presigned', payload: { kind: 'unsigned' } });
  });

  it('is AccessDenied once expired', () => {
    const err = s3ErrorOf(() => verifyRequest(req, exampleCreds, EXAMPLE_NOW + 86_401_000, REGION));
    expect(err.code).toBe('AccessDenied');
    expect(err.message).toBe('Request has expired');
  });

  it('is AccessDenied before its time (beyond the allowed skew)', () => {
    expect(s3ErrorOf(() => verifyRequest(req, exampleCreds, EXAMPLE_NOW - MAX_CLOCK_SKEW_MS - 1000, REGION)).code).toBe('AccessDenied');
  });

  it('rejects a different host', () => {
    expect(s3ErrorOf(() => verifyRequest({ ...req, headers: { host: 'evil.example.com' } }, exampleCreds, EXAMPLE_NOW, REGION)).code).toBe('SignatureDoesNotMatch');
  });
});

describe('verifyRequest: presigned URLs refuse unsigned x-amz-* headers, as header auth does', () => {
  const creds = { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: REGION };
  const now = Date.UTC(2025, 0, 2, 3, 4, 5);
  const presigned = new URL(presignUrl({ method: 'PUT', url: 'http://127.0.0.1:9000/bkt/k', expiresIn: 60, now }, creds));
  const req = (headers: Record<string, string>): RequestToVerify => ({ method: 'PUT', path: presigned.pathname, query: presigned.search.slice(1), headers: { host: presigned.host, ...headers } });

  it('accepts the URL with only its signed headers (and ordinary unsigned ones)', () => {
    expect(verifyRequest(req({ 'content-type': 'text/plain' }), exampleCreds, now, REGION).via).toBe('presigned');
  });

  it.each([
    ['x-amz-copy-source', '/bkt/other'],
    ['x-amz-meta-owner', 'mallory'],
    ['X-Amz-Acl', 'public-read'],
  ])('is AccessDenied with an unsigned %s header', (name, value) => {
    const err = s3ErrorOf(() => verifyRequest(req({ [name]: value }), exampleCreds, now, REGION));
    expect(err.code).toBe('AccessDenied');
    expect(err.message).toBe('There were headers present in the request which were not signed');
  });

  it('accepts an x-amz-* header the URL signed', () => {
    const signed = new URL(presignUrl({ method: 'PUT', url: 'http://127.0.0.1:9000/bkt/k', headers: { 'x-amz-meta-owner': 'alice' }, expiresIn: 60, now }, creds));
    const request = { method: 'PUT', path: signed.pathname, query: signed.search.slice(1), headers: { host: signed.host, 'x-amz-meta-owner': 'alice' } };
    expect(verifyRequest(request, exampleCreds, now, REGION).via).toBe('presigned');
  });
});

describe('verifyRequest: a raw + in the query means a space, as it does to the router', () => {
  const creds = { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: REGION };
  const now = Date.UTC(2025, 0, 2, 3, 4, 5);

  it('verifies a request signed for prefix "a b" when it arrives as prefix=a+b, and serves "a b"', () => {
    const signed = signRequest({ method: 'GET', url: 'http://127.0.0.1:9000/bkt?list-type=2&prefix=a%20b', now }, creds);
    const query = 'list-type=2&prefix=a+b';
    expect(verifyRequest({ method: 'GET', path: '/bkt', query, headers: signed.headers }, exampleCreds, now, REGION).via).toBe('header');
    expect(new URLSearchParams(query).get('prefix')).toBe('a b');
  });

  it('does not let a signature for a literal plus (%2B) pass for a raw + (a space)', () => {
    const signed = signRequest({ method: 'GET', url: 'http://127.0.0.1:9000/bkt?list-type=2&prefix=a%2Bb', now }, creds);
    expect(verifyRequest({ method: 'GET', path: '/bkt', query: 'list-type=2&prefix=a%2Bb', headers: signed.headers }, exampleCreds, now, REGION).via).toBe('header');
    expect(s3ErrorOf(() => verifyRequest({ method: 'GET', path: '/bkt', query: 'list-type=2&prefix=a+b', headers: signed.headers }, exampleCreds, now, REGION)).code).toBe('SignatureDoesNotMatch');
  });
});

const cred = (scope: string): string => `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'a'.repeat(64)}`;
const base = { host: 'examplebucket.s3.amazonaws.com', 'x-amz-date': '20130524T000000Z', 'x-amz-content-sha256': EMPTY_HASH };

describe('verifyRequest: errors', () => {
  it.each<[string, RequestToVerify, number, string]>([
    ['no authentication at all', { method: 'GET', path: '/b/k', query: '', headers: { host: 'h' } }, EXAMPLE_NOW, 'AccessDenied'],
    ['an unknown access key', { method: 'GET', path: '/', query: '', headers: { ...base, authorization: cred('AKIANOBODY/20130524/us-east-1/s3/aws4_request') } }, EXAMPLE_NOW, 'InvalidAccessKeyId'],
    [
      'a wrong region',
      { method: 'GET', path: '/', query: '', headers: { ...base, authorization: cred(`${ACCESS_KEY}/20130524/eu-west-1/s3/aws4_request`) } },
      EXAMPLE_NOW,
      'AuthorizationHeaderMalformed',
    ],
    [
      'a wrong service',
      { method: 'GET', path: '/', query: '', headers: { ...base, authorization: cred(`${ACCESS_KEY}/20130524/us-east-1/ec2/aws4_request`) } },
      EXAMPLE_NOW,
      'AuthorizationHeaderMalformed',
    ],
    [
      'a scope date other than x-amz-date',
      { method: 'GET', path: '/', query: '', headers: { ...base, authorization: cred(`${ACCESS_KEY}/20130523/us-east-1/s3/aws4_request`) } },
      EXAMPLE_NOW,
      'AuthorizationHeaderMalformed',
    ],
    ['a malformed credential', { method: 'GET', path: '/', query: '', headers: { ...base, authorization: cred(`${ACCESS_KEY}/20130524/us-east-1`) } }, EXAMPLE_NOW, 'AuthorizationHeaderMalformed'],
    [
      'a header without Signature',
      { method: 'GET', path: '/', query: '', headers: { ...base, authorization: `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/20130524/us-east-1/s3/aws4_request, SignedHeaders=host` } },
      EXAMPLE_NOW,
      'AuthorizationHeaderMalformed',
    ],
    ['a clock 16 minutes ahead', exampleRequest(0), EXAMPLE_NOW + 16 * 60_000, 'RequestTimeTooSkewed'],
    ['a clock 16 minutes behind', exampleRequest(0), EXAMPLE_NOW - 16 * 60_000, 'RequestTimeTooSkewed'],
    ['no x-amz-content-sha256', exampleRequest(2, { headers: { 'x-amz-content-sha256': undefined } }), EXAMPLE_NOW, 'InvalidRequest'],
    ['no date at all', exampleRequest(2, { headers: { 'x-amz-date': undefined } }), EXAMPLE_NOW, 'AccessDenied'],
    ['SigV2', { method: 'GET', path: '/', query: '', headers: { ...base, authorization: `AWS ${ACCESS_KEY}:c2lnbmF0dXJl` } }, EXAMPLE_NOW, 'InvalidRequest'],
    ['an unknown scheme', { method: 'GET', path: '/', query: '', headers: { ...base, authorization: 'Bearer x' } }, EXAMPLE_NOW, 'InvalidArgument'],
    ['header and query auth together', { ...exampleRequest(0), query: PRESIGNED_EXAMPLE_QUERY }, EXAMPLE_NOW, 'InvalidArgument'],
    ['an unsigned x-amz-* header', exampleRequest(0, { headers: { 'x-amz-meta-evil': '1' } }), EXAMPLE_NOW, 'AccessDenied'],
    [
      'a presigned URL valid longer than 7 days',
      { method: 'GET', path: '/test.txt', query: PRESIGNED_EXAMPLE_QUERY.replace('86400', '604801'), headers: { host: 'h' } },
      EXAMPLE_NOW,
      'AuthorizationQueryParametersError',
    ],
    [
      'a presigned URL without X-Amz-Date',
      { method: 'GET', path: '/test.txt', query: PRESIGNED_EXAMPLE_QUERY.replace('&X-Amz-Date=20130524T000000Z', ''), headers: { host: 'h' } },
      EXAMPLE_NOW,
      'AuthorizationQueryParametersError',
    ],
    [
      'a presigned URL for another region',
      { method: 'GET', path: '/test.txt', query: PRESIGNED_EXAMPLE_QUERY.replace('us-east-1', 'eu-west-1'), headers: { host: 'h' } },
      EXAMPLE_NOW,
      'AuthorizationQueryParametersError',
    ],
  ])('%s → %s', (_name, req, now, code) => {
    expect(s3ErrorOf(() => verifyRequest(req, exampleCreds, now, REGION)).code).toBe(code);
  });

  it('accepts a clock 14 minutes off', () => {
    expect(verifyRequest(exampleRequest(0), exampleCreds, EXAMPLE_NOW + 14 * 60_000, REGION).accessKeyId).toBe(ACCESS_KEY);
  });

  it('names the expected region', () => {
    const req = { method: 'GET', path: '/', query: '', headers: { ...base, authorization: cred(`${ACCESS_KEY}/20130524/eu-west-1/s3/aws4_request`) } };
    expect(s3ErrorOf(() => verifyRequest(req, exampleCreds, EXAMPLE_NOW, REGION)).extra).toEqual({ Region: 'us-east-1' });
  });
});

describe('payloadModeOf', () => {
  it.each([
    ['UNSIGNED-PAYLOAD', { kind: 'unsigned' }],
    ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD', { kind: 'streaming-signed' }],
    ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', { kind: 'streaming-signed-trailer' }],
    ['STREAMING-UNSIGNED-PAYLOAD-TRAILER', { kind: 'streaming-unsigned-trailer' }],
    [EMPTY_HASH, { kind: 'signed', sha256: EMPTY_HASH }],
  ])('%s → %j', (value, mode) => {
    expect(payloadModeOf(value)).toEqual(mode);
  });

  it.each([
    ['nonsense', 'InvalidArgument'],
    [EMPTY_HASH.toUpperCase(), 'InvalidArgument'],
    ['STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD', 'NotImplemented'],
  ])('%s → %s', (value, code) => {
    expect(s3ErrorOf(() => payloadModeOf(value)).code).toBe(code);
  });
});

describe('signRequest / presignUrl round trip through verifyRequest', () => {
  const creds = { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: REGION };
  const now = Date.UTC(2025, 0, 2, 3, 4, 5);

  it.each([
    ['GET', 'http://127.0.0.1:9000/bkt/plain.txt'],
    ['PUT', 'http://127.0.0.1:9000/bkt/dir/a%20b%2Bc~%21%2A%28%29.txt'],
    ['GET', 'http://127.0.0.1:9000/bkt/%C3%BC%E2%82%AC/%F0%9F%98%80'],
    ['GET', 'http://127.0.0.1:9000/bkt?list-type=2&prefix=a%20b%2F&delimiter=%2F'],
    ['POST', 'http://127.0.0.1:9000/bkt/k?uploads'],
    ['GET', 'http://[::1]:9000/bkt/trailing/'],
  ])('%s %s', (method, url) => {
    const signed = signRequest({ method, url, body: 'hello', headers: { 'x-amz-meta-a': ' spaced   value ' }, now }, creds);
    const u = new URL(url);
    const result = verifyRequest({ method, path: u.pathname, query: u.search.slice(1), headers: signed.headers }, exampleCreds, now, REGION);
    expect(result.payload).toEqual({ kind: 'signed', sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824' });
    expect(result.seed).toEqual(signed.seed);

    const presigned = new URL(presignUrl({ method, url, expiresIn: 60, now }, creds));
    expect(verifyRequest({ method, path: presigned.pathname, query: presigned.search.slice(1), headers: { host: presigned.host } }, exampleCreds, now + 59_000, REGION).via).toBe('presigned');
    expect(s3ErrorOf(() => verifyRequest({ method, path: presigned.pathname, query: presigned.search.slice(1), headers: { host: presigned.host } }, exampleCreds, now + 61_000, REGION)).code).toBe(
      'AccessDenied',
    );
  });

  it('signs STREAMING markers as given', () => {
    const signed = signRequest({ method: 'PUT', url: 'http://h/b/k', payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', now }, creds);
    expect(verifyRequest({ method: 'PUT', path: '/b/k', query: '', headers: signed.headers }, exampleCreds, now, REGION).payload).toEqual({ kind: 'streaming-unsigned-trailer' });
  });
});

describe('verifyRequest accepts what the AWS SDK signs', () => {
  const signer = new SignatureV4({
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    region: REGION,
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: true,
  });
  const now = Date.UTC(2025, 5, 1, 12, 0, 0);

  it('@smithy/signature-v4 header signature with a query and an encoded path', async () => {
    const request = new HttpRequest({
      method: 'GET',
      protocol: 'http:',
      hostname: 'localhost',
      port: 9000,
      path: '/bkt/a%20b/%C3%BC',
      query: { 'list-type': '2', prefix: 'x y/', 'max-keys': '5' },
      headers: { host: 'localhost:9000', 'x-amz-content-sha256': EMPTY_HASH },
    });
    const signed = await signer.sign(request, { signingDate: new Date(now) });
    const headers = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const query = 'list-type=2&max-keys=5&prefix=x%20y%2F';
    expect(verifyRequest({ method: 'GET', path: '/bkt/a%20b/%C3%BC', query, headers }, exampleCreds, now, REGION).accessKeyId).toBe(ACCESS_KEY);
  });

  it('@smithy/signature-v4 presigned URL', async () => {
    const request = new HttpRequest({
      method: 'GET',
      protocol: 'http:',
      hostname: 'localhost',
      port: 9000,
      path: '/bkt/k',
      headers: { host: 'localhost:9000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    const presigned = await signer.presign(request, { signingDate: new Date(now), expiresIn: 900 });
    const query = Object.entries(presigned.query ?? {})
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const result = verifyRequest({ method: 'GET', path: '/bkt/k', query, headers: { host: 'localhost:9000' } }, exampleCreds, now + 1000, REGION);
    expect(result).toMatchObject({ via: 'presigned', payload: { kind: 'unsigned' } });
  });

  it('S3Client requests (PutObject, GetObject, ListObjectsV2) with awkward keys', async () => {
    const { client, requests } = capturingClient(ACCESS_KEY, SECRET_KEY);
    await client.send(new PutObjectCommand({ Bucket: 'bkt', Key: "dir/a b+c~!*()'$&=;:@,?.txt", Body: 'hello world' }));
    await client.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'ü/x y/€' }));
    await client.send(new ListObjectsV2Command({ Bucket: 'bkt', Prefix: 'a b/+', Delimiter: '/', StartAfter: 'a b/!' }));
    expect(requests).toHaveLength(3);
    for (const r of requests) {
      const result = verifyRequest({ method: r.method, path: r.path, query: r.query, headers: r.headers }, exampleCreds, Date.now(), REGION);
      expect(result.accessKeyId).toBe(ACCESS_KEY);
    }
    client.destroy();
  });
});

describe('verifyRequest with a Date header instead of x-amz-date', () => {
  it('uses the Date header as the request time', () => {
    const headers = { host: 'h', date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-content-sha256': EMPTY_HASH };
    const signedHeaders = ['date', 'host', 'x-amz-content-sha256'];
    const scope = credentialScope('20130524', REGION, 's3');
    const creq = canonicalRequest({ method: 'GET', path: '/b/k', query: '', headers, signedHeaders, payloadHash: EMPTY_HASH });
    const signature = sign(deriveSigningKey(SECRET_KEY, '20130524', REGION, 's3'), stringToSign(toAmzDate(EXAMPLE_NOW), scope, creq));
    const authorization = `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
    const result = verifyRequest({ method: 'GET', path: '/b/k', query: '', headers: { ...headers, authorization } }, exampleCreds, EXAMPLE_NOW, REGION);
    expect(result.seed?.amzDate).toBe('20130524T000000Z');
  });
});
