import { describe, expect, it } from 'vitest';
import { EMPTY_SHA256, canonicalHeaderValue, canonicalHeaders, canonicalQuery, canonicalRequest, canonicalUri, uriEncode } from '../../../../src/s3/sigv4/canonical.js';
import { credentialScope, deriveSigningKey, parseAmzDate, sign, stringToSign, toAmzDate } from '../../../../src/s3/sigv4/signing.js';
import { EXAMPLE_NOW, HEADER_EXAMPLES, SECRET_KEY } from '../fixtures/aws-examples.js';

describe('uriEncode', () => {
  it.each([
    ['abcXYZ019-_.~', false, 'abcXYZ019-_.~'],
    ['a b', false, 'a%20b'],
    ["!'()*", false, '%21%27%28%29%2A'],
    ['a/b', false, 'a%2Fb'],
    ['a/b', true, 'a/b'],
    ['$&+,:;=?@', false, '%24%26%2B%2C%3A%3B%3D%3F%40'],
    ['ü€', false, '%C3%BC%E2%82%AC'],
  ])('uriEncode(%j, keepSlash=%s) = %s', (input, keepSlash, expected) => {
    expect(uriEncode(input, keepSlash)).toBe(expected);
  });
});

describe('canonicalUri', () => {
  it.each([
    ['', '/'],
    ['/', '/'],
    ['/test.txt', '/test.txt'],
    ['/test$file.text', '/test%24file.text'],
    ['/bkt/a%20b%2Bc~%21%2A%28%29.txt', '/bkt/a%20b%2Bc~%21%2A%28%29.txt'],
    ['/bkt/a b', '/bkt/a%20b'],
    ['/bkt/%7Euser', '/bkt/~user'],
    ['/bkt//double//', '/bkt//double//'],
    ['/bkt/./x/../y', '/bkt/./x/../y'],
  ])('canonicalUri(%j) = %s', (raw, expected) => {
    expect(canonicalUri(raw)).toBe(expected);
  });
});

describe('canonicalQuery', () => {
  it.each([
    ['', ''],
    ['lifecycle', 'lifecycle='],
    ['prefix=J&max-keys=2', 'max-keys=2&prefix=J'],
    ['b=2&a=2&a=1', 'a=1&a=2&b=2'],
    ['prefix=a%20b%2F&delimiter=%2F', 'delimiter=%2F&prefix=a%20b%2F'],
    ['X-Amz-Signature=abc&x=1', 'x=1'],
    ['k=%7E*', 'k=~%2A'],
  ])('canonicalQuery(%j) = %j', (raw, expected) => {
    expect(canonicalQuery(raw, 'X-Amz-Signature')).toBe(expected);
  });
});

describe('canonical headers', () => {
  it('trims values and collapses runs of spaces', () => {
    expect(canonicalHeaderValue('  a   b \t c  ')).toBe('a b c');
  });

  it('lists signed headers in the signed order, case-insensitively looked up', () => {
    expect(canonicalHeaders({ Host: 'h', 'x-amz-date': 'd', other: 'x' }, ['host', 'x-amz-date'])).toBe('host:h\nx-amz-date:d\n');
  });
});

describe('canonical request and signature of the AWS "GET Object" example', () => {
  const example = HEADER_EXAMPLES[0]!;
  const signedHeaders = Object.keys(example.headers).sort();
  const creq = canonicalRequest({ method: 'GET', path: example.path, query: example.query, headers: example.headers, signedHeaders, payloadHash: EMPTY_SHA256 });

  it('builds the documented canonical request', () => {
    expect(creq).toBe(
      [
        'GET',
        '/test.txt',
        '',
        'host:examplebucket.s3.amazonaws.com',
        'range:bytes=0-9',
        `x-amz-content-sha256:${EMPTY_SHA256}`,
        'x-amz-date:20130524T000000Z',
        '',
        'host;range;x-amz-content-sha256;x-amz-date',
        EMPTY_SHA256,
      ].join('\n'),
    );
  });

  it('builds the documented string to sign and signature', () => {
    const sts = stringToSign('20130524T000000Z', credentialScope('20130524', 'us-east-1', 's3'), creq);
    expect(sts).toBe('AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972');
    expect(sign(deriveSigningKey(SECRET_KEY, '20130524', 'us-east-1', 's3'), sts)).toBe(example.signature);
  });
});

describe('signing helpers', () => {
  it('caches signing keys per secret/date/region/service', () => {
    const a = deriveSigningKey(SECRET_KEY, '20130524', 'us-east-1', 's3');
    expect(deriveSigningKey(SECRET_KEY, '20130524', 'us-east-1', 's3')).toBe(a);
    expect(deriveSigningKey('other', '20130524', 'us-east-1', 's3').equals(a)).toBe(false);
  });

  it.each([
    ['20130524T000000Z', EXAMPLE_NOW],
    ['20240229T235959Z', Date.UTC(2024, 1, 29, 23, 59, 59)],
    ['20230229T000000Z', undefined],
    ['2013-05-24T00:00:00Z', undefined],
    ['20130524T000000', undefined],
  ])('parseAmzDate(%s) = %s', (text, ms) => {
    expect(parseAmzDate(text)).toBe(ms);
  });

  it('formats x-amz-date without separators or milliseconds', () => {
    expect(toAmzDate(EXAMPLE_NOW + 123)).toBe('20130524T000000Z');
  });
});
