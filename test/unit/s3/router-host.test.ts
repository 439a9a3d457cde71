import { describe, expect, it } from 'vitest';
import { S3Error } from '../../../src/s3/errors.js';
import { bucketFromHost, routeS3, type S3Op } from '../../../src/s3/router.js';

function route(method: string, target: string, host: string | undefined, rootDomain: string | undefined): S3Op {
  const q = target.indexOf('?');
  return routeS3({
    method,
    path: q < 0 ? target : target.slice(0, q),
    query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)),
    headers: host === undefined ? {} : { host },
    ...(rootDomain !== undefined && { rootDomain }),
  });
}

describe('bucketFromHost: virtual-hosted–style addressing', () => {
  it.each<[string | undefined, string | undefined, string | undefined]>([
    ['photos.s3.localhost', 's3.localhost', 'photos'],
    ['photos.s3.localhost:9000', 's3.localhost', 'photos'],
    ['Photos.S3.LocalHost:9000', 's3.localhost', 'photos'],
    ['my.dotted.bucket.s3.localhost', 's3.localhost', 'my.dotted.bucket'],
    ['photos.s3.localhost.', 's3.localhost', 'photos'],
    ['s3.localhost:9000', 's3.localhost', undefined],
    ['s3.localhost', 's3.localhost', undefined],
    ['127.0.0.1:9000', 's3.localhost', undefined],
    ['[::1]:9000', 's3.localhost', undefined],
    ['photos.example.com', 's3.localhost', undefined],
    ['evils3.localhost', 's3.localhost', undefined],
    ['photos.s3.localhost', '', undefined],
    ['photos.s3.localhost', undefined, undefined],
    [undefined, 's3.localhost', undefined],
  ])('Host %s under root %s → %s', (host, root, bucket) => {
    expect(bucketFromHost(host, root)).toBe(bucket);
  });
});

describe('routeS3: virtual-hosted style beside path style', () => {
  const root = 's3.localhost';
  it.each<[string, string, string | undefined, string | undefined, S3Op]>([
    ['GET', '/', 'photos.s3.localhost:9000', root, expect.objectContaining({ op: 'ListObjects', bucket: 'photos' }) as S3Op],
    ['GET', '/?list-type=2&prefix=a', 'photos.s3.localhost', root, expect.objectContaining({ op: 'ListObjectsV2', bucket: 'photos', prefix: 'a' }) as S3Op],
    ['PUT', '/', 'photos.s3.localhost', root, { op: 'CreateBucket', bucket: 'photos' }],
    ['HEAD', '', 'photos.s3.localhost', root, { op: 'HeadBucket', bucket: 'photos' }],
    ['PUT', '/2024/a%20b.jpg', 'photos.s3.localhost', root, { op: 'PutObject', bucket: 'photos', key: '2024/a b.jpg' }],
    ['GET', '/photos/k', 'photos.s3.localhost', root, { op: 'GetObject', bucket: 'photos', key: 'photos/k' }],
    ['GET', '/dir/', 'photos.s3.localhost', root, { op: 'GetObject', bucket: 'photos', key: 'dir/' }],
    ['GET', '/', 's3.localhost:9000', root, expect.objectContaining({ op: 'ListBuckets' }) as S3Op],
    ['GET', '/photos/k', 's3.localhost:9000', root, { op: 'GetObject', bucket: 'photos', key: 'k' }],
    ['GET', '/photos/k', '127.0.0.1:9000', root, { op: 'GetObject', bucket: 'photos', key: 'k' }],
    ['GET', '/photos/k', 'photos.s3.localhost', undefined, { op: 'GetObject', bucket: 'photos', key: 'k' }],
  ])('%s %s with Host %s (root %s)', (method, target, host, rootDomain, expected) => {
    expect(route(method, target, host, rootDomain)).toEqual(expected);
  });

  it('validates a bucket named by the Host like any other (InvalidBucketName)', () => {
    let caught: unknown;
    try {
      route('GET', '/k', 'a_b.s3.localhost', root);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(S3Error);
    expect((caught as S3Error).code).toBe('InvalidBucketName');
  });
});

describe('routeS3: an empty delimiter means none', () => {
  it.each([
    ['/bkt?delimiter=', 'ListObjects'],
    ['/bkt?list-type=2&delimiter=', 'ListObjectsV2'],
    ['/bkt?uploads&delimiter=', 'ListMultipartUploads'],
  ])('%s has no delimiter', (target, op) => {
    const routed = route('GET', target, undefined, undefined);
    expect(routed.op).toBe(op);
    expect('delimiter' in routed).toBe(false);
  });

  it('a delimiter of several characters is kept whole', () => {
    expect(route('GET', '/bkt?delimiter=%2F%2F', undefined, undefined)).toMatchObject({ op: 'ListObjects', delimiter: '//' });
  });
});
