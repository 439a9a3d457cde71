/**
 * The authorization rules (s3/authorize.ts), table-driven over routed operations: which right
 * each needs on which bucket, and who has it (root, owner, grants, nobody); the ACL header and
 * body checks (s3/acl.ts); the access key id a request claims (sigv4/access-key-id.ts).
 */
import { describe, it, expect } from 'vitest';
import { accessNeeded, listsBucket, permits, type Access, type Identity } from '../../../src/s3/authorize.js';
import { checkAclGrants, checkAclHeaders } from '../../../src/s3/acl.js';
import { claimedAccessKeyId } from '../../../src/s3/sigv4/access-key-id.js';
import { routeS3 } from '../../../src/s3/router.js';
import { S3Error } from '../../../src/s3/errors.js';

function route(method: string, target: string, headers: Record<string, string> = {}) {
  const q = target.indexOf('?');
  return routeS3({ method, path: q < 0 ? target : target.slice(0, q), query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)), headers });
}

const alice: Identity = { accessKeyId: 'RKALICE', displayName: 'alice', root: false, allowCreateBucket: false };
const rootId: Identity = { accessKeyId: 'ROOT', displayName: 'ROOT', root: true, allowCreateBucket: true };
const none = { read: false, write: false, owner: false };

describe('accessNeeded', () => {
  it.each([
    ['GET', '/', {}, []],
    ['PUT', '/bkt', {}, [{ kind: 'createBucket', bucket: 'bkt' }]],
    ['GET', '/bkt/k', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'read' }]],
    ['HEAD', '/bkt/k', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'read' }]],
    ['GET', '/bkt?list-type=2', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'read' }]],
    ['GET', '/bkt', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'read' }]],
    ['HEAD', '/bkt', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'read' }]],
    ['GET', '/bkt?uploads', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'read' }]],
    ['GET', '/bkt/k?uploadId=u', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'read' }]],
    ['GET', '/bkt?acl', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'read' }]],
    ['GET', '/bkt/k?acl', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'read' }]],
    ['GET', '/bkt?location', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'read' }]],
    ['PUT', '/bkt/k', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'write' }]],
    ['DELETE', '/bkt/k', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'write' }]],
    ['POST', '/bkt?delete', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'write' }]],
    ['POST', '/bkt/k?uploads', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'write' }]],
    ['PUT', '/bkt/k?partNumber=1&uploadId=u', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'write' }]],
    ['POST', '/bkt/k?uploadId=u', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'write' }]],
    ['DELETE', '/bkt/k?uploadId=u', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'write' }]],
    [
      'PUT',
      '/dstb/k',
      { 'x-amz-copy-source': '/srcb/s' },
      [
        { kind: 'bucket', bucket: 'srcb', access: 'read' },
        { kind: 'bucket', bucket: 'dstb', access: 'write' },
      ],
    ],
    [
      'PUT',
      '/dstb/k?partNumber=2&uploadId=u',
      { 'x-amz-copy-source': 'srcb/s' },
      [
        { kind: 'bucket', bucket: 'srcb', access: 'read' },
        { kind: 'bucket', bucket: 'dstb', access: 'write' },
      ],
    ],
    ['DELETE', '/bkt', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'owner' }]],
    ['PUT', '/bkt?acl', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'owner' }]],
    ['PUT', '/bkt/k?acl', {}, [{ kind: 'bucket', bucket: 'bkt', access: 'owner' }]],
    ['GET', '/bkt?policy', {}, []],
  ])('%s %s %j → %j', (method, target, headers, needs) => {
    expect(accessNeeded(route(method, target, headers as Record<string, string>))).toEqual(needs);
  });
});

describe('permits', () => {
  const cases: Array<[string, Identity, Access, string | undefined, typeof none, boolean]> = [
    ['root on anyone’s bucket', rootId, 'owner', 'RKBOB', none, true],
    ['the owner', alice, 'owner', 'RKALICE', none, true],
    ['a missing bucket (the handler answers NoSuchBucket)', alice, 'write', undefined, none, true],
    ['no grant on the root key’s bucket', alice, 'read', '', none, false],
    ['no grant on another key’s bucket', alice, 'read', 'RKBOB', none, false],
    ['read grant, read', alice, 'read', '', { ...none, read: true }, true],
    ['read grant, write', alice, 'write', '', { ...none, read: true }, false],
    ['write grant, write', alice, 'write', '', { ...none, write: true }, true],
    ['write grant, read (flags are independent)', alice, 'read', '', { ...none, write: true }, false],
    ['owner grant, owner', alice, 'owner', '', { ...none, owner: true }, true],
    ['owner grant, read (flags are independent)', alice, 'read', '', { ...none, owner: true }, false],
  ];
  it.each(cases)('%s', (_name, identity, access, owner, grant, expected) => {
    expect(permits(identity, access, { owner, grant })).toBe(expected);
  });

  it('ListBuckets shows owned, granted and (for root) every bucket', () => {
    expect(listsBucket(alice, { owner: 'RKALICE', grant: none })).toBe(true);
    expect(listsBucket(alice, { owner: '', grant: none })).toBe(false);
    expect(listsBucket(alice, { owner: '', grant: { ...none, write: true } })).toBe(true);
    expect(listsBucket(rootId, { owner: 'RKBOB', grant: none })).toBe(true);
  });
});

function notImplemented(f: () => void): string | undefined {
  try {
    f();
    return undefined;
  } catch (error) {
    return error instanceof S3Error ? error.code : 'other';
  }
}

describe('ACL checks', () => {
  it.each([
    ['PutObject', { 'x-amz-acl': 'private' }, undefined],
    ['PutObject', { 'x-amz-acl': 'bucket-owner-full-control' }, undefined],
    ['CreateBucket', { 'x-amz-acl': 'Private' }, undefined],
    ['PutObject', { 'x-amz-acl': 'public-read' }, 'NotImplemented'],
    ['CopyObject', { 'x-amz-acl': 'authenticated-read' }, 'NotImplemented'],
    ['CreateMultipartUpload', { 'x-amz-grant-read': 'id="x"' }, 'NotImplemented'],
    ['PutBucketAcl', { 'x-amz-grant-full-control': 'id="x"' }, 'NotImplemented'],
    // Only the operations that take ACL headers look at them.
    ['GetObject', { 'x-amz-acl': 'public-read' }, undefined],
  ])('%s with %j → %s', (op, headers, code) => {
    expect(notImplemented(() => checkAclHeaders(op, headers))).toBe(code);
  });

  it('an ACL body may grant only the owner FULL_CONTROL', () => {
    expect(notImplemented(() => checkAclGrants([{ granteeId: 'O', permission: 'FULL_CONTROL' }], 'O'))).toBeUndefined();
    expect(notImplemented(() => checkAclGrants([], 'O'))).toBe('NotImplemented');
    expect(notImplemented(() => checkAclGrants([{ granteeId: 'X', permission: 'FULL_CONTROL' }], 'O'))).toBe('NotImplemented');
    expect(notImplemented(() => checkAclGrants([{ granteeId: 'O', permission: 'READ' }], 'O'))).toBe('NotImplemented');
    expect(notImplemented(() => checkAclGrants([{ permission: 'READ' }], 'O'))).toBe('NotImplemented');
  });
});

describe('claimedAccessKeyId', () => {
  it.each([
    [{ authorization: 'AWS4-HMAC-SHA256 Credential=AKID1/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab' }, '', 'AKID1'],
    [{}, 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID2%2F20250101%2Fus-east-1%2Fs3%2Faws4_request', 'AKID2'],
    [{}, 'AWSAccessKeyId=AKID3&Expires=1&Signature=x', 'AKID3'],
    [{ authorization: 'garbage' }, '', undefined],
    [{}, '', undefined],
    [{}, 'AWSAccessKeyId=', undefined],
  ])('%j %s → %s', (headers, query, id) => {
    expect(claimedAccessKeyId(headers, query)).toBe(id);
  });
});
