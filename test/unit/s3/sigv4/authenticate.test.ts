import { describe, expect, it } from 'vitest';
import { S3Error } from '../../../../src/s3/errors.js';
import { authenticate } from '../../../../src/s3/sigv4/authenticate.js';
import { signV2 } from '../../../../src/s3/sigv4/presigned-v2.js';
import { presignUrl } from '../../../../src/s3/sigv4/signing.js';
import { ACCESS_KEY, REGION, SECRET_KEY, exampleCreds } from '../fixtures/aws-examples.js';

const now = Date.UTC(2025, 0, 2, 3, 4, 5);
const expires = String(now / 1000 + 60);
const v2Query = `AWSAccessKeyId=${ACCESS_KEY}&Expires=${expires}&Signature=${encodeURIComponent(signV2(SECRET_KEY, `GET\n\n\n${expires}\n/bkt/k`))}`;
const v2 = { method: 'GET', path: '/bkt/k', query: v2Query, headers: { host: '127.0.0.1:9000' } };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof S3Error) return `${err.status} ${err.code}`;
    throw err;
  }
  return 'ok';
}

describe('authenticate', () => {
  it('verifies a SigV2 presigned URL when allowed', () => {
    expect(authenticate(v2, exampleCreds, now, { region: REGION, allowSigV2Presigned: true })).toEqual({ accessKeyId: ACCESS_KEY, via: 'presigned', payload: { kind: 'unsigned' } });
  });

  it('refuses it as SigV4 does when s3.allowSigV2Presigned is false: 400 InvalidRequest', () => {
    expect(codeOf(() => authenticate(v2, exampleCreds, now, { region: REGION, allowSigV2Presigned: false }))).toBe('400 InvalidRequest');
  });

  it('passes the Host bucket to SigV2 (virtual-hosted style signs /bucket/key)', () => {
    const hosted = { ...v2, path: '/k', headers: { host: 'bkt.s3.localhost:9000' } };
    expect(authenticate(hosted, exampleCreds, now, { region: REGION, allowSigV2Presigned: true }, 'bkt').via).toBe('presigned');
    expect(codeOf(() => authenticate(hosted, exampleCreds, now, { region: REGION, allowSigV2Presigned: true }))).toBe('403 SignatureDoesNotMatch');
  });

  it('SigV4 goes to the SigV4 verifier either way', () => {
    const url = new URL(presignUrl({ method: 'GET', url: 'http://127.0.0.1:9000/bkt/k', expiresIn: 60, now }, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: REGION }));
    const req = { method: 'GET', path: url.pathname, query: url.search.slice(1), headers: { host: url.host } };
    for (const allowSigV2Presigned of [true, false]) expect(authenticate(req, exampleCreds, now, { region: REGION, allowSigV2Presigned }).seed).toBeDefined();
  });
});
