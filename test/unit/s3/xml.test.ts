import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import {
  S3_XMLNS,
  accessControlPolicyXml,
  completeMultipartUploadXml,
  copyResultXml,
  deleteResultXml,
  initiateMultipartUploadXml,
  listAllMyBucketsXml,
  listMultipartUploadsXml,
  listObjectsV1Xml,
  listObjectsV2Xml,
  listPartsXml,
  locationConstraintXml,
  quoteEtag,
  urlEncodeValue,
  versioningConfigurationXml,
  type ObjectEntry,
} from '../../../src/s3/xml.js';

const parser = new XMLParser({ ignoreAttributes: false, parseTagValue: false, isArray: (n) => ['Contents', 'CommonPrefixes', 'Bucket', 'Part', 'Upload', 'Deleted', 'Error'].includes(n) });
const parse = (xml: string): Record<string, Record<string, unknown>> => parser.parse(xml) as Record<string, Record<string, unknown>>;
const T = Date.UTC(2009, 9, 12, 17, 50, 30);

const objects: ObjectEntry[] = [
  { key: 'my image.jpg', lastModified: T, etag: 'fba9dede5f27731c9771645a39863328', size: 434234 },
  { key: 'a&b<c>/ü', lastModified: new Date(T + 1), etag: '"9b2cf535f27731c974343645a3985328-2"', size: 0, storageClass: 'STANDARD_IA', owner: { id: 'owner-id', displayName: 'me' } },
];

describe('ListObjectsV2', () => {
  it('serialises the AWS response shape', () => {
    const xml = listObjectsV2Xml({ name: 'bucket', prefix: '', maxKeys: 1000, isTruncated: true, nextContinuationToken: 'tok/en=', contents: objects, commonPrefixes: ['photos/'] });
    expect(xml.startsWith(`<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="${S3_XMLNS}">`)).toBe(true);
    const r = parse(xml)['ListBucketResult']!;
    expect(r).toMatchObject({ Name: 'bucket', Prefix: '', MaxKeys: '1000', KeyCount: '3', IsTruncated: 'true', NextContinuationToken: 'tok/en=' });
    expect(r['Delimiter']).toBeUndefined();
    expect(r['Contents']).toEqual([
      { Key: 'my image.jpg', LastModified: '2009-10-12T17:50:30.000Z', ETag: '"fba9dede5f27731c9771645a39863328"', Size: '434234', StorageClass: 'STANDARD' },
      { Key: 'a&b<c>/ü', LastModified: '2009-10-12T17:50:30.001Z', ETag: '"9b2cf535f27731c974343645a3985328-2"', Size: '0', Owner: { ID: 'owner-id', DisplayName: 'me' }, StorageClass: 'STANDARD_IA' },
    ]);
    expect(r['CommonPrefixes']).toEqual([{ Prefix: 'photos/' }]);
  });

  it('URL-encodes keys, prefixes, delimiter and start-after with encoding-type=url', () => {
    const xml = listObjectsV2Xml({
      name: 'bucket',
      prefix: 'a b/',
      delimiter: '/',
      startAfter: 'a b/+',
      continuationToken: 'x y',
      maxKeys: 2,
      isTruncated: false,
      encodingType: 'url',
      contents: objects.slice(1),
      commonPrefixes: ['a b/c\u0001/'],
    });
    const r = parse(xml)['ListBucketResult']!;
    expect(r).toMatchObject({ Prefix: 'a%20b/', Delimiter: '/', StartAfter: 'a%20b/%2B', ContinuationToken: 'x y', EncodingType: 'url', KeyCount: '2' });
    expect((r['Contents'] as Array<{ Key: string }>)[0]!.Key).toBe('a%26b%3Cc%3E/%C3%BC');
    expect(r['CommonPrefixes']).toEqual([{ Prefix: 'a%20b/c%01/' }]);
  });

  it('serialises a full page of 1,000 keys, each in order (its speed: bench/micro/xml.bench.ts)', () => {
    const many: ObjectEntry[] = Array.from({ length: 1000 }, (_, i) => ({ key: `dir/file-${i}.txt`, lastModified: T, etag: 'd41d8cd98f00b204e9800998ecf8427e', size: i }));
    const r = parse(listObjectsV2Xml({ name: 'b', prefix: '', maxKeys: 1000, isTruncated: false, contents: many, commonPrefixes: [] }))['ListBucketResult']!;
    const contents = r['Contents'] as Array<{ Key: string; Size: string }>;
    expect(contents).toHaveLength(1000);
    expect(contents.map((c) => c.Key)).toEqual(many.map((m) => m.key));
    expect(contents[999]!.Size).toBe('999');
  });
});

describe('ListObjects (v1)', () => {
  it('has Marker and NextMarker', () => {
    const r = parse(
      listObjectsV1Xml({ name: 'quotes', prefix: 'N', marker: 'Ned', nextMarker: 'Nelson', delimiter: '/', maxKeys: 40, isTruncated: true, contents: objects.slice(0, 1), commonPrefixes: [] }),
    )['ListBucketResult']!;
    expect(r).toMatchObject({ Name: 'quotes', Prefix: 'N', Marker: 'Ned', NextMarker: 'Nelson', MaxKeys: '40', Delimiter: '/', IsTruncated: 'true' });
    expect(r['KeyCount']).toBeUndefined();
  });
});

describe('other responses', () => {
  it('ListBuckets', () => {
    const r = parse(listAllMyBucketsXml({ owner: { id: 'o1', displayName: 'owner' }, buckets: [{ name: 'a-bucket', creationDate: T }] }))['ListAllMyBucketsResult']!;
    expect(r).toMatchObject({ Owner: { ID: 'o1', DisplayName: 'owner' }, Buckets: { Bucket: [{ Name: 'a-bucket', CreationDate: '2009-10-12T17:50:30.000Z' }] } });
  });

  it.each([
    ['us-east-1', ''],
    ['eu-west-1', 'eu-west-1'],
  ])('GetBucketLocation in %s', (region, body) => {
    expect(locationConstraintXml(region)).toBe(`<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${S3_XMLNS}">${body}</LocationConstraint>`);
  });

  it('GetBucketVersioning is empty', () => {
    expect(versioningConfigurationXml()).toContain(`<VersioningConfiguration xmlns="${S3_XMLNS}"></VersioningConfiguration>`);
  });

  it('Get*Acl grants FULL_CONTROL to the owner', () => {
    const r = parse(accessControlPolicyXml({ id: 'o1' }))['AccessControlPolicy']!;
    expect(r).toMatchObject({ Owner: { ID: 'o1' }, AccessControlList: { Grant: { Grantee: { ID: 'o1', '@_xsi:type': 'CanonicalUser' }, Permission: 'FULL_CONTROL' } } });
  });

  it('multipart responses', () => {
    expect(parse(initiateMultipartUploadXml({ bucket: 'b', key: 'k&', uploadId: 'u' }))['InitiateMultipartUploadResult']).toMatchObject({ Bucket: ['b'], Key: 'k&', UploadId: 'u' });
    expect(parse(completeMultipartUploadXml({ location: 'http://h/b/k', bucket: 'b', key: 'k', etag: 'abc-2', checksums: { CRC32: 'AAAAAA==' } }))['CompleteMultipartUploadResult']).toMatchObject({
      Location: 'http://h/b/k',
      ETag: '"abc-2"',
      ChecksumCRC32: 'AAAAAA==',
    });
    const parts = parse(
      listPartsXml({
        bucket: 'b',
        key: 'k',
        uploadId: 'u',
        owner: { id: 'o' },
        partNumberMarker: 0,
        nextPartNumberMarker: 2,
        maxParts: 2,
        isTruncated: true,
        parts: [{ partNumber: 1, lastModified: T, etag: 'e1', size: 5 }],
      }),
    )['ListPartsResult']!;
    expect(parts).toMatchObject({ NextPartNumberMarker: '2', IsTruncated: 'true', Part: [{ PartNumber: '1', ETag: '"e1"', Size: '5' }] });
    const uploads = parse(
      listMultipartUploadsXml({
        bucket: 'b',
        keyMarker: '',
        uploadIdMarker: '',
        prefix: '',
        maxUploads: 1000,
        isTruncated: false,
        uploads: [{ key: 'k', uploadId: 'u', initiated: T, owner: { id: 'o' } }],
        commonPrefixes: [],
      }),
    )['ListMultipartUploadsResult']!;
    expect(uploads).toMatchObject({ Upload: [{ Key: 'k', UploadId: 'u', Initiated: '2009-10-12T17:50:30.000Z', StorageClass: 'STANDARD' }] });
  });

  it('CopyObjectResult and CopyPartResult', () => {
    expect(parse(copyResultXml({ etag: 'e', lastModified: T }))['CopyObjectResult']).toEqual({ '@_xmlns': S3_XMLNS, ETag: '"e"', LastModified: '2009-10-12T17:50:30.000Z' });
    expect(copyResultXml({ etag: 'e', lastModified: T }, 'CopyPartResult')).toContain('<CopyPartResult ');
  });

  it.each([
    [false, { Deleted: [{ Key: 'ok' }], Error: [{ Key: 'bad', Code: 'AccessDenied', Message: 'Access Denied' }] }],
    [true, { Error: [{ Key: 'bad', Code: 'AccessDenied', Message: 'Access Denied' }] }],
  ])('DeleteResult (quiet=%s)', (quiet, expected) => {
    const xml = deleteResultXml(
      [
        { key: 'ok', deleted: true },
        { key: 'bad', deleted: false, code: 'AccessDenied', message: 'Access Denied' },
      ],
      quiet,
    );
    expect(parse(xml)['DeleteResult']).toEqual({ '@_xmlns': S3_XMLNS, ...expected });
  });
});

describe('helpers', () => {
  it.each([
    ['abc', '"abc"'],
    ['"abc"', '"abc"'],
  ])('quoteEtag(%j) = %j', (etag, quoted) => {
    expect(quoteEtag(etag)).toBe(quoted);
  });

  it.each([
    ['a/b c', 'a/b%20c'],
    ['+&=?#%', '%2B%26%3D%3F%23%25'],
    ['~-_.', '~-_.'],
  ])('urlEncodeValue(%j) = %j', (value, encoded) => {
    expect(urlEncodeValue(value)).toBe(encoded);
    expect(decodeURIComponent(encoded)).toBe(value);
  });
});
