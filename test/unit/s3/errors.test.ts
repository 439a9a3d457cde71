import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { S3Error, S3_ERRORS, errorXml, escapeXml, s3ErrorStatus, toS3Error, type S3ErrorCode } from '../../../src/s3/errors.js';
import { RingstoreError, type ErrorCode } from '../../../src/util/errors.js';

describe('the S3 error table', () => {
  it.each<[S3ErrorCode, number]>([
    ['AccessDenied', 403],
    ['AuthorizationHeaderMalformed', 400],
    ['BadDigest', 400],
    ['BucketAlreadyExists', 409],
    ['BucketAlreadyOwnedByYou', 409],
    ['BucketNotEmpty', 409],
    ['EntityTooLarge', 400],
    ['EntityTooSmall', 400],
    ['ExpiredToken', 400],
    ['IncompleteBody', 400],
    ['InternalError', 500],
    ['InvalidAccessKeyId', 403],
    ['InvalidArgument', 400],
    ['InvalidBucketName', 400],
    ['InvalidDigest', 400],
    ['InvalidPart', 400],
    ['InvalidPartOrder', 400],
    ['InvalidRange', 416],
    ['InvalidRequest', 400],
    ['KeyTooLongError', 400],
    ['MalformedXML', 400],
    ['MethodNotAllowed', 405],
    ['MissingContentLength', 411],
    ['NoSuchBucket', 404],
    ['NoSuchKey', 404],
    ['NoSuchUpload', 404],
    ['NotImplemented', 501],
    ['PreconditionFailed', 412],
    ['RequestTimeTooSkewed', 403],
    ['RequestTimeout', 400],
    ['ServiceUnavailable', 503],
    ['SignatureDoesNotMatch', 403],
    ['SlowDown', 503],
    ['XAmzContentSHA256Mismatch', 400],
  ])('%s → %i', (code, status) => {
    expect(s3ErrorStatus(code)).toBe(status);
    expect(new S3Error(code).status).toBe(status);
  });

  it('has a default message for every code', () => {
    for (const [code, spec] of Object.entries(S3_ERRORS)) expect(spec.message, code).not.toBe('');
  });
});

describe('toS3Error', () => {
  it.each<[ErrorCode, S3ErrorCode, boolean]>([
    ['NoSuchKey', 'NoSuchKey', false],
    ['NoSuchBucket', 'NoSuchBucket', false],
    ['BucketNotEmpty', 'BucketNotEmpty', false],
    ['BucketAlreadyOwnedByYou', 'BucketAlreadyOwnedByYou', false],
    ['QuorumNotReached', 'ServiceUnavailable', true],
    ['ServiceUnavailable', 'ServiceUnavailable', true],
    ['PeerUnavailable', 'ServiceUnavailable', true],
    ['RpcTimeout', 'ServiceUnavailable', true],
    ['StoreClosed', 'ServiceUnavailable', true],
    ['CorruptBody', 'ServiceUnavailable', true],
    ['ChecksumMismatch', 'BadDigest', false],
    ['BadDigest', 'BadDigest', false],
    ['IncompleteBody', 'IncompleteBody', false],
    ['InvalidArgument', 'InvalidArgument', false],
    ['RpcUnauthorized', 'InternalError', true],
    ['RpcProtocol', 'InternalError', true],
    ['InvalidConfig', 'InternalError', true],
  ])('RingstoreError %s → %s (internal: %s)', (domain, code, internal) => {
    const cause = new RingstoreError(domain, 'node n2 at 10.0.0.2:9101 said no', { bucket: 'b', key: 'k' });
    const err = toS3Error(cause);
    expect(err.code).toBe(code);
    expect(err.internal).toBe(internal);
    expect(err.cause).toBe(cause);
    // Internal details (peer addresses…) never reach the client.
    if (internal) expect(err.message).toBe(S3_ERRORS[code].message);
  });

  it('keeps the message of InvalidArgument and names the key and bucket', () => {
    const err = toS3Error(new RingstoreError('InvalidArgument', 'max-keys must be ≥ 0', { bucket: 'b', key: 'k' }));
    expect(err.message).toBe('max-keys must be ≥ 0');
    expect(err.extra).toEqual({ BucketName: 'b', Key: 'k' });
  });

  it('passes S3Errors through and turns anything else into an internal InternalError', () => {
    const s3 = new S3Error('NoSuchUpload');
    expect(toS3Error(s3)).toBe(s3);
    for (const thrown of [new TypeError('x is undefined'), 'a string', undefined]) {
      const err = toS3Error(thrown);
      expect(err).toMatchObject({ code: 'InternalError', status: 500, internal: true });
      expect(err.message).toBe(S3_ERRORS.InternalError.message);
    }
  });
});

describe('errorXml', () => {
  const parser = new XMLParser({ parseTagValue: false });

  it('produces the AWS error body with escaping, extras, resource and request id', () => {
    const err = new S3Error('SignatureDoesNotMatch', undefined, { extra: { StringToSign: 'a\n<b>&"c"', CanonicalRequest: 'GET\n/' } });
    const xml = errorXml(err, 'req-1', '/bucket/a&b');
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>')).toBe(true);
    expect(parser.parse(xml)).toEqual({
      '?xml': '',
      Error: { Code: 'SignatureDoesNotMatch', Message: S3_ERRORS.SignatureDoesNotMatch.message, StringToSign: 'a\n<b>&"c"', CanonicalRequest: 'GET\n/', Resource: '/bucket/a&b', RequestId: 'req-1' },
    });
  });

  it("prefers the error's own resource", () => {
    expect(errorXml(new S3Error('NoSuchKey', undefined, { resource: '/b/k' }), 'r', '/other')).toContain('<Resource>/b/k</Resource>');
  });

  it.each([
    ['plain', 'plain'],
    ['<&>"\'', '&lt;&amp;&gt;&quot;&apos;'],
    ['bell\u0007tab\tnl\n', 'belltab\tnl\n'],
    ['cr\rcrlf\r\n', 'cr&#xD;crlf&#xD;\n'],
  ])('escapeXml(%j) = %j', (input, out) => {
    expect(escapeXml(input)).toBe(out);
  });

  it('a key with CR survives an XML parser (which turns a literal CR into LF)', () => {
    const key = 'a\rb\r\nc';
    const parsed = new XMLParser({ trimValues: false, htmlEntities: true }).parse(`<K>${escapeXml(key)}</K>`) as { K: string };
    expect(new XMLParser({ trimValues: false }).parse(`<K>${key}</K>`)).toEqual({ K: 'a\nb\nc' });
    expect(parsed.K).toBe(key);
  });
});
