import { describe, expect, it } from 'vitest';
import { S3Error } from '../../../src/s3/errors.js';
import { bucketNameProblem, parseCopySource, parseCopySourceRange, routeS3, type S3Op } from '../../../src/s3/router.js';

function route(method: string, target: string, headers: Record<string, string> = {}): S3Op {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  return routeS3({ method, path, query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)), headers });
}

function routeError(method: string, target: string, headers: Record<string, string> = {}): S3Error {
  try {
    route(method, target, headers);
  } catch (err) {
    if (err instanceof S3Error) return err;
    throw err;
  }
  throw new Error('expected an S3Error');
}

// Requests in the shape of the AWS API reference examples, path-style.
describe('routeS3: AWS operations', () => {
  it.each<[string, string, Record<string, string>, S3Op]>([
    ['GET', '/', {}, { op: 'ListBuckets', maxBuckets: 10000, prefix: '' }],
    ['PUT', '/examplebucket', {}, { op: 'CreateBucket', bucket: 'examplebucket' }],
    ['HEAD', '/examplebucket', {}, { op: 'HeadBucket', bucket: 'examplebucket' }],
    ['DELETE', '/examplebucket/', {}, { op: 'DeleteBucket', bucket: 'examplebucket' }],
    ['GET', '/examplebucket?location', {}, { op: 'GetBucketLocation', bucket: 'examplebucket' }],
    ['GET', '/examplebucket?versioning', {}, { op: 'GetBucketVersioning', bucket: 'examplebucket' }],
    ['GET', '/examplebucket?acl', {}, { op: 'GetBucketAcl', bucket: 'examplebucket' }],
    ['PUT', '/examplebucket?acl', {}, { op: 'PutBucketAcl', bucket: 'examplebucket' }],
    ['GET', '/?max-buckets=5&prefix=ph&continuation-token=abc', {}, { op: 'ListBuckets', maxBuckets: 5, prefix: 'ph', continuationToken: 'abc' }],
    [
      'GET',
      '/examplebucket?list-type=2&prefix=photos%2F2006%2F&delimiter=%2F&max-keys=2&start-after=photos%2F2006%2FJanuary&fetch-owner=true&encoding-type=url',
      {},
      { op: 'ListObjectsV2', bucket: 'examplebucket', prefix: 'photos/2006/', delimiter: '/', maxKeys: 2, startAfter: 'photos/2006/January', fetchOwner: true, encodingType: 'url' },
    ],
    [
      'GET',
      '/examplebucket?list-type=2&continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2FwmAp2Ek%3D&max-keys=5000',
      {},
      { op: 'ListObjectsV2', bucket: 'examplebucket', prefix: '', maxKeys: 1000, continuationToken: '1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wmAp2Ek=', fetchOwner: false },
    ],
    ['GET', '/quotes?prefix=N&marker=Ned&max-keys=40', {}, { op: 'ListObjects', bucket: 'quotes', prefix: 'N', marker: 'Ned', maxKeys: 40 }],
    ['GET', '/examplebucket', {}, { op: 'ListObjects', bucket: 'examplebucket', prefix: '', marker: '', maxKeys: 1000 }],
    [
      'GET',
      '/example-bucket?uploads&max-uploads=3&delimiter=%2F&prefix=photos%2F2006%2F&key-marker=my-movie.m2ts&upload-id-marker=YW55IGlk',
      {},
      { op: 'ListMultipartUploads', bucket: 'example-bucket', prefix: 'photos/2006/', delimiter: '/', keyMarker: 'my-movie.m2ts', uploadIdMarker: 'YW55IGlk', maxUploads: 3 },
    ],
    ['POST', '/examplebucket?delete', {}, { op: 'DeleteObjects', bucket: 'examplebucket' }],
    ['PUT', '/examplebucket/my-image.jpg', {}, { op: 'PutObject', bucket: 'examplebucket', key: 'my-image.jpg' }],
    ['PUT', '/examplebucket/dir/sub%20dir/%C3%BC+%2B.txt', {}, { op: 'PutObject', bucket: 'examplebucket', key: 'dir/sub dir/ü++.txt' }],
    ['PUT', '/examplebucket/folder/', {}, { op: 'PutObject', bucket: 'examplebucket', key: 'folder/' }],
    ['PUT', '/examplebucket//leading', {}, { op: 'PutObject', bucket: 'examplebucket', key: '/leading' }],
    [
      'PUT',
      '/examplebucket/my-second-image.jpg',
      { 'x-amz-copy-source': '/bucket/my-image.jpg' },
      { op: 'CopyObject', bucket: 'examplebucket', key: 'my-second-image.jpg', source: { bucket: 'bucket', key: 'my-image.jpg' } },
    ],
    [
      'PUT',
      '/examplebucket/copy',
      { 'x-amz-copy-source': 'bucket/a%20b%3Fc.jpg?versionId=3%2FL4kqtJl' },
      { op: 'CopyObject', bucket: 'examplebucket', key: 'copy', source: { bucket: 'bucket', key: 'a b?c.jpg', versionId: '3/L4kqtJl' } },
    ],
    ['GET', '/examplebucket/my-image.jpg', {}, { op: 'GetObject', bucket: 'examplebucket', key: 'my-image.jpg' }],
    [
      'GET',
      '/examplebucket/my-image.jpg?versionId=3HL4kqtJlcpXroDTDmjVBH40Nrjfkd&partNumber=2&response-content-type=text%2Fplain',
      {},
      { op: 'GetObject', bucket: 'examplebucket', key: 'my-image.jpg', versionId: '3HL4kqtJlcpXroDTDmjVBH40Nrjfkd', partNumber: 2 },
    ],
    ['HEAD', '/examplebucket/my-image.jpg', {}, { op: 'HeadObject', bucket: 'examplebucket', key: 'my-image.jpg' }],
    ['DELETE', '/examplebucket/my-image.jpg', {}, { op: 'DeleteObject', bucket: 'examplebucket', key: 'my-image.jpg' }],
    ['GET', '/examplebucket/my-image.jpg?acl', {}, { op: 'GetObjectAcl', bucket: 'examplebucket', key: 'my-image.jpg' }],
    ['GET', '/examplebucket/my-image.jpg?tagging', {}, { op: 'GetObjectTagging', bucket: 'examplebucket', key: 'my-image.jpg' }],
    ['PUT', '/examplebucket/my-image.jpg?acl', {}, { op: 'PutObjectAcl', bucket: 'examplebucket', key: 'my-image.jpg' }],
    ['POST', '/examplebucket/example-object?uploads', {}, { op: 'CreateMultipartUpload', bucket: 'examplebucket', key: 'example-object' }],
    [
      'PUT',
      '/examplebucket/my-movie.m2ts?partNumber=1&uploadId=VCVsb2FkIElEIGZvciBlbZZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZR',
      {},
      { op: 'UploadPart', bucket: 'examplebucket', key: 'my-movie.m2ts', uploadId: 'VCVsb2FkIElEIGZvciBlbZZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZR', partNumber: 1 },
    ],
    [
      'PUT',
      '/examplebucket/example-object?partNumber=10000&uploadId=u1',
      { 'x-amz-copy-source': '/source-bucket/sourceobject', 'x-amz-copy-source-range': 'bytes=500-6291456' },
      {
        op: 'UploadPartCopy',
        bucket: 'examplebucket',
        key: 'example-object',
        uploadId: 'u1',
        partNumber: 10000,
        source: { bucket: 'source-bucket', key: 'sourceobject' },
        range: { start: 500, end: 6291456 },
      },
    ],
    ['POST', '/examplebucket/example-object?uploadId=u1', {}, { op: 'CompleteMultipartUpload', bucket: 'examplebucket', key: 'example-object', uploadId: 'u1' }],
    ['DELETE', '/examplebucket/example-object?uploadId=u1', {}, { op: 'AbortMultipartUpload', bucket: 'examplebucket', key: 'example-object', uploadId: 'u1' }],
    [
      'GET',
      '/examplebucket/example-object?uploadId=u1&max-parts=2&part-number-marker=1',
      {},
      { op: 'ListParts', bucket: 'examplebucket', key: 'example-object', uploadId: 'u1', maxParts: 2, partNumberMarker: 1 },
    ],
    ['get', '/examplebucket/x', {}, { op: 'GetObject', bucket: 'examplebucket', key: 'x' }],
  ])('%s %s', (method, target, headers, op) => {
    expect(route(method, target, headers)).toEqual(op);
  });
});

describe('routeS3: unsupported subresources → NotImplemented', () => {
  it.each([
    ['PUT', '/examplebucket?versioning', 'PutBucketVersioning'],
    ['GET', '/examplebucket?policy', 'GetBucketPolicy'],
    ['DELETE', '/examplebucket?lifecycle', 'DeleteBucketLifecycleConfiguration'],
    ['GET', '/examplebucket?tagging', 'GetBucketTagging'],
    ['PUT', '/examplebucket?cors', 'PutBucketCors'],
    ['GET', '/examplebucket?versions', 'ListObjectVersions'],
    ['GET', '/examplebucket?website', 'GetBucketWebsite'],
    ['POST', '/examplebucket', 'PostObject'],
    ['PUT', '/examplebucket/k?tagging', 'PutObjectTagging'],
    ['GET', '/examplebucket/k?retention', 'GetObjectRetention'],
    ['POST', '/examplebucket/k?restore', 'RestoreObject'],
    ['POST', '/examplebucket/k?select&select-type=2', 'SelectObjectContent'],
    ['DELETE', '/examplebucket/k?tagging', 'DeleteObjectTagging'],
  ])('%s %s → Unsupported(%s)', (method, target, operation) => {
    const op = route(method, target);
    expect(op.op).toBe('Unsupported');
    if (op.op === 'Unsupported') {
      expect(op.operation).toBe(operation);
      expect(op.reason).toContain('not implemented');
    }
  });
});

describe('routeS3: invalid requests', () => {
  it.each([
    ['GET', '/ab/k', {}, 'InvalidBucketName'],
    ['GET', '/Example/k', {}, 'InvalidBucketName'],
    ['PUT', '/192.168.5.4', {}, 'InvalidBucketName'],
    ['GET', `/b12/${'k'.repeat(1025)}`, {}, 'KeyTooLongError'],
    ['GET', `/b12/${'é'.repeat(513)}`, {}, 'KeyTooLongError'],
    ['GET', '/bucket/%E0%A4%A', {}, 'InvalidURI'],
    ['PUT', '/bucket/k?partNumber=0&uploadId=u', {}, 'InvalidArgument'],
    ['PUT', '/bucket/k?partNumber=10001&uploadId=u', {}, 'InvalidArgument'],
    ['PUT', '/bucket/k?partNumber=1', {}, 'InvalidArgument'],
    ['PUT', '/bucket/k?partNumber=1&uploadId=', {}, 'InvalidArgument'],
    ['GET', '/bucket?list-type=2&max-keys=-1', {}, 'InvalidArgument'],
    ['GET', '/bucket?max-keys=ten', {}, 'InvalidArgument'],
    ['GET', '/bucket?list-type=2&encoding-type=base64', {}, 'InvalidArgument'],
    ['PUT', '/bucket/k', { 'x-amz-copy-source': 'bucket-only' }, 'InvalidArgument'],
    ['PUT', '/bucket/k', { 'x-amz-copy-source': '/src/' }, 'InvalidArgument'],
    ['PUT', '/bucket/k', { 'x-amz-copy-source': '/Bad_Bucket/key' }, 'InvalidBucketName'],
    ['PUT', '/bucket/k?partNumber=1&uploadId=u', { 'x-amz-copy-source': '/src/k', 'x-amz-copy-source-range': 'bytes=10-5' }, 'InvalidArgument'],
    ['PUT', '/', {}, 'MethodNotAllowed'],
    ['PATCH', '/bucket', {}, 'MethodNotAllowed'],
    ['PATCH', '/bucket/k', {}, 'MethodNotAllowed'],
    ['POST', '/bucket/k', {}, 'MethodNotAllowed'],
  ])('%s %s with headers %o → %s', (method, target, headers, code) => {
    expect(routeError(method, target, headers).code).toBe(code);
  });
});

describe('bucket naming rules', () => {
  it.each([
    ['abc', undefined],
    ['my-bucket.example.com', undefined],
    ['a'.repeat(63), undefined],
    ['0123', undefined],
    ['ab', 'must be 3 to 63 characters long'],
    ['a'.repeat(64), 'must be 3 to 63 characters long'],
    ['-abc', 'must begin and end'],
    ['abc-', 'must begin and end'],
    ['aBc', 'lowercase'],
    ['a_b', 'lowercase'],
    ['a..b', 'two adjacent periods'],
    ['10.0.0.1', 'IP address'],
    ['xn--abc', 'xn--'],
    ['sthree-abc', 'sthree-'],
    ['abc-s3alias', 'reserved suffix'],
    ['abc--ol-s3', 'reserved suffix'],
  ])('%s → %s', (name, problem) => {
    const got = bucketNameProblem(name);
    if (problem === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(problem);
  });
});

describe('copy source helpers', () => {
  it.each([
    ['/b12/k', { bucket: 'b12', key: 'k' }],
    ['b12/dir/k%2Bplus', { bucket: 'b12', key: 'dir/k+plus' }],
    ['/b12/k?versionId=v1', { bucket: 'b12', key: 'k', versionId: 'v1' }],
  ])('parseCopySource(%j)', (header, source) => {
    expect(parseCopySource(header)).toEqual(source);
  });

  it.each([
    ['bytes=0-0', { start: 0, end: 0 }],
    ['bytes=5-10', { start: 5, end: 10 }],
  ])('parseCopySourceRange(%j)', (header, range) => {
    expect(parseCopySourceRange(header)).toEqual(range);
  });

  it.each([['bytes=5-'], ['bytes=-5'], ['5-10'], ['bytes=1-2,3-4']])('parseCopySourceRange(%j) is InvalidArgument', (header) => {
    expect(() => parseCopySourceRange(header)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});
