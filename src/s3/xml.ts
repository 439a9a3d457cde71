/**
 * Serialises S3 success responses. Hand-built strings with escaping (a 1000-key listing is one
 * pass over an array): namespace `http://s3.amazonaws.com/doc/2006-03-01/`, ISO-8601 dates with
 * milliseconds and `Z`, quoted ETags, and `encoding-type=url` support. Request bodies are parsed
 * in `xml-parse.ts`.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 */
import { escapeXml } from './errors.js';

/** The S3 XML namespace. */
export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** A bucket or object owner. */
export interface Owner {
  readonly id: string;
  readonly displayName?: string;
}

/** One bucket of ListBuckets. */
export interface BucketEntry {
  readonly name: string;
  readonly creationDate: Date | number;
}

/** One object of a listing. */
export interface ObjectEntry {
  readonly key: string;
  readonly lastModified: Date | number;
  /** ETag, quoted or not (`md5hex` or `md5hex-N`); it is always sent quoted. */
  readonly etag: string;
  readonly size: number;
  /** Defaults to STANDARD. */
  readonly storageClass?: string;
  /** Sent only when set (ListObjects v1 always, v2 with fetch-owner=true). */
  readonly owner?: Owner;
}

/** Fields common to both ListObjects versions. */
interface ListCommon {
  readonly name: string;
  readonly prefix: string;
  readonly delimiter?: string;
  readonly maxKeys: number;
  readonly isTruncated: boolean;
  /** `url` when the request had encoding-type=url: keys, prefixes and delimiter are URL-encoded. */
  readonly encodingType?: 'url';
  readonly contents: readonly ObjectEntry[];
  /** Common prefixes (rolled-up "directories"), sorted. */
  readonly commonPrefixes: readonly string[];
}

/** A ListObjectsV2 page. */
export interface ListV2Result extends ListCommon {
  readonly continuationToken?: string;
  readonly nextContinuationToken?: string;
  readonly startAfter?: string;
}

/** A ListObjects (v1) page. */
export interface ListV1Result extends ListCommon {
  readonly marker: string;
  /** Sent only with a delimiter, as AWS does (clients use the last key otherwise). */
  readonly nextMarker?: string;
}

/** ISO-8601 with milliseconds and `Z`. */
export function isoDate(d: Date | number): string {
  return (typeof d === 'number' ? new Date(d) : d).toISOString();
}

/** `"etag"`: adds the quotes S3 puts around ETags unless already there. */
export function quoteEtag(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

/**
 * URL-encodes a value for `encoding-type=url` responses: like encodeURIComponent (space is
 * `%20`, which both `unquote_plus` and `decodeURIComponent` clients decode) but `/` is kept.
 */
export function urlEncodeValue(value: string): string {
  return encodeURIComponent(value).replaceAll('%2F', '/');
}

function el(name: string, value: string | number | boolean): string {
  return `<${name}>${typeof value === 'string' ? escapeXml(value) : String(value)}</${name}>`;
}

function opt(name: string, value: string | number | undefined): string {
  return value === undefined ? '' : el(name, value);
}

function owner(o: Owner, tag = 'Owner'): string {
  return `<${tag}>${el('ID', o.id)}${o.displayName === undefined ? '' : el('DisplayName', o.displayName)}</${tag}>`;
}

function doc(root: string, body: string): string {
  return `${DECL}<${root} xmlns="${S3_XMLNS}">${body}</${root}>`;
}

/**
 * ListBuckets; `continuationToken` is sent when more buckets follow, `prefix` when one was asked.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html#API_ListBuckets_ResponseSyntax
 */
export function listAllMyBucketsXml(r: {
  readonly owner: Owner;
  readonly buckets: readonly BucketEntry[];
  readonly continuationToken?: string;
  readonly prefix?: string;
  readonly region?: string;
}): string {
  let buckets = '';
  for (const b of r.buckets) buckets += `<Bucket>${el('Name', b.name)}${el('CreationDate', isoDate(b.creationDate))}${r.region === undefined ? '' : el('BucketRegion', r.region)}</Bucket>`;
  const tail = (r.continuationToken === undefined ? '' : el('ContinuationToken', r.continuationToken)) + (r.prefix === undefined ? '' : el('Prefix', r.prefix));
  return doc('ListAllMyBucketsResult', `${owner(r.owner)}<Buckets>${buckets}</Buckets>${tail}`);
}

function listBody(r: ListCommon, enc: (v: string) => string): string {
  const parts: string[] = [];
  for (const o of r.contents) {
    parts.push(
      `<Contents>${el('Key', enc(o.key))}${el('LastModified', isoDate(o.lastModified))}${el('ETag', quoteEtag(o.etag))}${el('Size', o.size)}` +
        `${o.owner === undefined ? '' : owner(o.owner)}${el('StorageClass', o.storageClass ?? 'STANDARD')}</Contents>`,
    );
  }
  for (const p of r.commonPrefixes) parts.push(`<CommonPrefixes>${el('Prefix', enc(p))}</CommonPrefixes>`);
  return parts.join('');
}

function encoder(r: ListCommon): (v: string) => string {
  return r.encodingType === 'url' ? urlEncodeValue : (v) => v;
}

/**
 * ListObjectsV2 response.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html#API_ListObjectsV2_ResponseSyntax
 */
export function listObjectsV2Xml(r: ListV2Result): string {
  const enc = encoder(r);
  const head =
    el('Name', r.name) +
    el('Prefix', enc(r.prefix)) +
    (r.delimiter === undefined ? '' : el('Delimiter', enc(r.delimiter))) +
    el('MaxKeys', r.maxKeys) +
    el('KeyCount', r.contents.length + r.commonPrefixes.length) +
    el('IsTruncated', r.isTruncated) +
    opt('ContinuationToken', r.continuationToken) +
    opt('NextContinuationToken', r.nextContinuationToken) +
    (r.startAfter === undefined ? '' : el('StartAfter', enc(r.startAfter))) +
    opt('EncodingType', r.encodingType);
  return doc('ListBucketResult', head + listBody(r, enc));
}

/**
 * ListObjects (v1) response.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html#API_ListObjects_ResponseSyntax
 */
export function listObjectsV1Xml(r: ListV1Result): string {
  const enc = encoder(r);
  const head =
    el('Name', r.name) +
    el('Prefix', enc(r.prefix)) +
    el('Marker', enc(r.marker)) +
    (r.nextMarker === undefined ? '' : el('NextMarker', enc(r.nextMarker))) +
    el('MaxKeys', r.maxKeys) +
    (r.delimiter === undefined ? '' : el('Delimiter', enc(r.delimiter))) +
    el('IsTruncated', r.isTruncated) +
    opt('EncodingType', r.encodingType);
  return doc('ListBucketResult', head + listBody(r, enc));
}

/**
 * GetBucketLocation: empty for us-east-1, as AWS answers.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html
 */
export function locationConstraintXml(region: string): string {
  return doc('LocationConstraint', region === 'us-east-1' ? '' : escapeXml(region));
}

/** GetBucketVersioning: versioning is never enabled in ringstore, so the configuration is empty. */
export function versioningConfigurationXml(): string {
  return doc('VersioningConfiguration', '');
}

/** Get{Bucket,Object}Acl: the owner has FULL_CONTROL, nothing else (ACLs are not implemented). */
export function accessControlPolicyXml(o: Owner): string {
  const grantee = `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">${el('ID', o.id)}${o.displayName === undefined ? '' : el('DisplayName', o.displayName)}</Grantee>`;
  return doc('AccessControlPolicy', `${owner(o)}<AccessControlList><Grant>${grantee}${el('Permission', 'FULL_CONTROL')}</Grant></AccessControlList>`);
}

/** Flexible checksums as response elements (`ChecksumCRC32`, …), keyed by algorithm. */
export type ChecksumFields = Readonly<Partial<Record<'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256', string>>>;

function checksumElements(c: ChecksumFields | undefined): string {
  if (c === undefined) return '';
  let out = '';
  for (const [alg, value] of Object.entries(c)) if (value !== undefined) out += el(`Checksum${alg}`, value);
  return out;
}

/** CreateMultipartUpload. */
export function initiateMultipartUploadXml(r: { readonly bucket: string; readonly key: string; readonly uploadId: string }): string {
  return doc('InitiateMultipartUploadResult', el('Bucket', r.bucket) + el('Key', r.key) + el('UploadId', r.uploadId));
}

/** CompleteMultipartUpload. */
export function completeMultipartUploadXml(r: { readonly location: string; readonly bucket: string; readonly key: string; readonly etag: string; readonly checksums?: ChecksumFields }): string {
  return doc('CompleteMultipartUploadResult', el('Location', r.location) + el('Bucket', r.bucket) + el('Key', r.key) + el('ETag', quoteEtag(r.etag)) + checksumElements(r.checksums));
}

/** CopyObject (`CopyObjectResult`) or UploadPartCopy (`CopyPartResult`). */
export function copyResultXml(
  r: { readonly etag: string; readonly lastModified: Date | number; readonly checksums?: ChecksumFields },
  root: 'CopyObjectResult' | 'CopyPartResult' = 'CopyObjectResult',
): string {
  return doc(root, el('ETag', quoteEtag(r.etag)) + el('LastModified', isoDate(r.lastModified)) + checksumElements(r.checksums));
}

/** One part of ListParts. */
export interface PartEntry {
  readonly partNumber: number;
  readonly lastModified: Date | number;
  readonly etag: string;
  readonly size: number;
  readonly checksums?: ChecksumFields;
}

/** A ListParts page. */
export interface ListPartsResult {
  readonly bucket: string;
  readonly key: string;
  readonly uploadId: string;
  readonly owner: Owner;
  readonly partNumberMarker: number;
  readonly nextPartNumberMarker?: number;
  readonly maxParts: number;
  readonly isTruncated: boolean;
  readonly parts: readonly PartEntry[];
  readonly storageClass?: string;
}

/** ListParts. */
export function listPartsXml(r: ListPartsResult): string {
  let body =
    el('Bucket', r.bucket) +
    el('Key', r.key) +
    el('UploadId', r.uploadId) +
    owner(r.owner, 'Initiator') +
    owner(r.owner) +
    el('StorageClass', r.storageClass ?? 'STANDARD') +
    el('PartNumberMarker', r.partNumberMarker) +
    opt('NextPartNumberMarker', r.nextPartNumberMarker) +
    el('MaxParts', r.maxParts) +
    el('IsTruncated', r.isTruncated);
  for (const p of r.parts) {
    body += `<Part>${el('PartNumber', p.partNumber)}${el('LastModified', isoDate(p.lastModified))}${el('ETag', quoteEtag(p.etag))}${el('Size', p.size)}${checksumElements(p.checksums)}</Part>`;
  }
  return doc('ListPartsResult', body);
}

/** One in-progress upload of ListMultipartUploads. */
export interface UploadEntry {
  readonly key: string;
  readonly uploadId: string;
  readonly initiated: Date | number;
  readonly owner: Owner;
  readonly storageClass?: string;
}

/** A ListMultipartUploads page. */
export interface ListUploadsResult {
  readonly bucket: string;
  readonly keyMarker: string;
  readonly uploadIdMarker: string;
  readonly nextKeyMarker?: string;
  readonly nextUploadIdMarker?: string;
  readonly prefix: string;
  readonly delimiter?: string;
  readonly maxUploads: number;
  readonly isTruncated: boolean;
  readonly uploads: readonly UploadEntry[];
  readonly commonPrefixes: readonly string[];
  readonly encodingType?: 'url';
}

/** ListMultipartUploads. */
export function listMultipartUploadsXml(r: ListUploadsResult): string {
  const enc = r.encodingType === 'url' ? urlEncodeValue : (v: string): string => v;
  let body =
    el('Bucket', r.bucket) +
    el('KeyMarker', enc(r.keyMarker)) +
    el('UploadIdMarker', r.uploadIdMarker) +
    (r.nextKeyMarker === undefined ? '' : el('NextKeyMarker', enc(r.nextKeyMarker))) +
    opt('NextUploadIdMarker', r.nextUploadIdMarker) +
    el('Prefix', enc(r.prefix)) +
    (r.delimiter === undefined ? '' : el('Delimiter', enc(r.delimiter))) +
    el('MaxUploads', r.maxUploads) +
    el('IsTruncated', r.isTruncated) +
    opt('EncodingType', r.encodingType);
  for (const u of r.uploads) {
    body += `<Upload>${el('Key', enc(u.key))}${el('UploadId', u.uploadId)}${owner(u.owner, 'Initiator')}${owner(u.owner)}${el('StorageClass', u.storageClass ?? 'STANDARD')}${el('Initiated', isoDate(u.initiated))}</Upload>`;
  }
  for (const p of r.commonPrefixes) body += `<CommonPrefixes>${el('Prefix', enc(p))}</CommonPrefixes>`;
  return doc('ListMultipartUploadsResult', body);
}

/** Outcome of one key of a DeleteObjects request. */
export type DeleteOutcome =
  | { readonly key: string; readonly versionId?: string; readonly deleted: true }
  | { readonly key: string; readonly versionId?: string; readonly deleted: false; readonly code: string; readonly message: string };

/**
 * DeleteObjects (multi-delete) response; in quiet mode only errors are listed.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 */
export function deleteResultXml(outcomes: readonly DeleteOutcome[], quiet: boolean): string {
  let body = '';
  for (const o of outcomes) {
    const version = opt('VersionId', o.versionId);
    if (o.deleted) {
      if (!quiet) body += `<Deleted>${el('Key', o.key)}${version}</Deleted>`;
    } else {
      body += `<Error>${el('Key', o.key)}${version}${el('Code', o.code)}${el('Message', o.message)}</Error>`;
    }
  }
  return doc('DeleteResult', body);
}

/** GetObjectTagging: ringstore keeps no tags, so the set is always empty. */
export function taggingXml(): string {
  return doc('Tagging', '<TagSet></TagSet>');
}
