import { describe, expect, it } from 'vitest';
import { S3Error } from '../../../../src/s3/errors.js';
import { readHeaderValue } from '../../../../src/s3/sigv4/canonical.js';
import { presignUrl, signRequest } from '../../../../src/s3/sigv4/signing.js';
import { checkPresignExpires, verifyRequest, type RequestToVerify } from '../../../../src/s3/sigv4/verify.js';
import { ACCESS_KEY, REGION, SECRET_KEY, exampleCreds } from '../fixtures/aws-examples.js';

function s3ErrorOf(fn: () => unknown): S3Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof S3Error) return err;
    throw err;
  }
  throw new Error('expected an S3Error');
}

const creds = { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: REGION };
const now = Date.UTC(2025, 0, 2, 3, 4, 5);
/** What Node hands the server for header bytes: one latin1 char per byte. */
const asReceived = (bytes: Buffer): string => bytes.toString('latin1');

describe('presigned X-Amz-Expires', () => {
  it.each([
    ['0', 0],
    ['1', 1],
    ['604800', 604800],
  ])('%s is accepted', (value, seconds) => {
    expect(checkPresignExpires(value)).toBe(seconds);
  });

  it.each([
    ['604801', 'X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires must be less than 604800 seconds'],
    ['99999999999', 'X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires must be less than 604800 seconds'],
    ['-7', 'X-Amz-Expires must be non-negative'],
    ['abc', 'X-Amz-Expires should be a number'],
    ['', 'X-Amz-Expires should be a number'],
    ['1.5', 'X-Amz-Expires should be a number'],
  ])('%s → 403 AuthorizationQueryParametersError', (value, message) => {
    const err = s3ErrorOf(() => checkPresignExpires(value));
    expect([err.status, err.code, err.message]).toEqual([403, 'AuthorizationQueryParametersError', message]);
  });

  it('a signed URL with X-Amz-Expires=604801 is refused before its signature is looked at', () => {
    const url = new URL(presignUrl({ method: 'GET', url: 'http://127.0.0.1:9000/bkt/k', expiresIn: 600, now }, creds));
    const query = url.search.slice(1).replace('X-Amz-Expires=600', 'X-Amz-Expires=604801');
    const err = s3ErrorOf(() => verifyRequest({ method: 'GET', path: url.pathname, query, headers: { host: url.host } }, exampleCreds, now, REGION));
    expect([err.status, err.code]).toEqual([403, 'AuthorizationQueryParametersError']);
  });

  it('expired: 403 AccessDenied with X-Amz-Expires, Expires and ServerTime', () => {
    const url = new URL(presignUrl({ method: 'GET', url: 'http://127.0.0.1:9000/bkt/k', expiresIn: 60, now }, creds));
    const err = s3ErrorOf(() => verifyRequest({ method: 'GET', path: url.pathname, query: url.search.slice(1), headers: { host: url.host } }, exampleCreds, now + 61_000, REGION));
    expect([err.status, err.code, err.message]).toEqual([403, 'AccessDenied', 'Request has expired']);
    expect(err.extra).toEqual({ 'X-Amz-Expires': '60', Expires: new Date(now + 60_000).toISOString(), ServerTime: new Date(now + 61_000).toISOString() });
  });
});

describe('non-ASCII header values', () => {
  const url = 'http://127.0.0.1:9000/bkt/k';
  const request = (signed: Record<string, string>, metaAsSent: string): RequestToVerify => ({ method: 'PUT', path: '/bkt/k', query: '', headers: { ...signed, 'x-amz-meta-name': metaAsSent } });

  it('signed as UTF-8 and sent as UTF-8 bytes (curl, Go, Python) verifies', () => {
    const value = 'Zoë 日本 à';
    const signed = signRequest({ method: 'PUT', url, headers: { 'x-amz-meta-name': value }, now }, creds).headers;
    expect(verifyRequest(request(signed, asReceived(Buffer.from(value, 'utf8'))), exampleCreds, now, REGION).via).toBe('header');
  });

  it('a latin1 char sent as one byte (what the JS SDK does with é) verifies against its signature of the string', () => {
    const value = 'café';
    const signed = signRequest({ method: 'PUT', url, headers: { 'x-amz-meta-name': value }, now }, creds).headers;
    expect(verifyRequest(request(signed, asReceived(Buffer.from(value, 'latin1'))), exampleCreds, now, REGION).via).toBe('header');
  });

  it('other bytes than those signed still fail', () => {
    const signed = signRequest({ method: 'PUT', url, headers: { 'x-amz-meta-name': '日本' }, now }, creds).headers;
    expect(s3ErrorOf(() => verifyRequest(request(signed, asReceived(Buffer.from('日木', 'utf8'))), exampleCreds, now, REGION)).code).toBe('SignatureDoesNotMatch');
  });

  it.each<[string, string, string | undefined]>([
    ['ASCII with runs of blanks', '  a \t b  ', 'a b'],
    ['UTF-8 bytes', asReceived(Buffer.from('日本', 'utf8')), '日本'],
    // à is C3 A0 in UTF-8: the A0 byte is not a blank to collapse.
    ['a 0xA0 byte inside a UTF-8 sequence', asReceived(Buffer.from(' à ', 'utf8')), 'à'],
    ['bytes that are not UTF-8', asReceived(Buffer.from([0x63, 0xe9])), undefined],
  ])('read as utf8-bytes: %s', (_name, value, expected) => {
    expect(readHeaderValue(value, 'utf8-bytes')).toBe(expected);
  });
});
