/**
 * Pure S3 routing: (method, raw path, query, headers) → an `S3Op` named as the AWS operation,
 * with its parameters parsed and validated. Path style (`/bucket/key…`), and virtual-hosted
 * style (`Host: bucket.<s3.rootDomain>`, path `/key…`) when a root domain is configured.
 * No I/O; handlers switch on `op.op`.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html
 */
import { S3Error } from './errors.js';
import { tryDecode } from './sigv4/canonical.js';
import { parsePartNumber } from './xml-parse.js';

/** Longest object key in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** Largest page a listing returns, whatever max-keys asks. */
export const MAX_LIST_KEYS = 1000;

/** The source of CopyObject / UploadPartCopy (`x-amz-copy-source`). */
export interface CopySource {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
}

/** An inclusive byte range (`x-amz-copy-source-range: bytes=start-end`). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

type B = { readonly bucket: string };
type O = { readonly bucket: string; readonly key: string };
type U = O & { readonly uploadId: string };

/** Every S3 operation ringstore routes, as a discriminated union on `op` (AWS operation names). */
export type S3Op =
  | { readonly op: 'ListBuckets'; readonly maxBuckets: number; readonly prefix: string; readonly continuationToken?: string; readonly bucketRegion?: string }
  | (B & { readonly op: 'CreateBucket' | 'HeadBucket' | 'DeleteBucket' | 'GetBucketLocation' | 'GetBucketVersioning' | 'GetBucketAcl' | 'PutBucketAcl' | 'DeleteObjects' })
  | (B & {
      readonly op: 'ListObjectsV2';
      readonly prefix: string;
      readonly delimiter?: string;
      readonly maxKeys: number;
      readonly continuationToken?: string;
      readonly startAfter?: string;
      readonly fetchOwner: boolean;
      readonly encodingType?: 'url';
    })
  | (B & { readonly op: 'ListObjects'; readonly prefix: string; readonly delimiter?: string; readonly marker: string; readonly maxKeys: number; readonly encodingType?: 'url' })
  | (B & {
      readonly op: 'ListMultipartUploads';
      readonly prefix: string;
      readonly delimiter?: string;
      readonly keyMarker: string;
      readonly uploadIdMarker: string;
      readonly maxUploads: number;
      readonly encodingType?: 'url';
    })
  | (O & { readonly op: 'PutObject' | 'CreateMultipartUpload' | 'GetObjectAcl' | 'PutObjectAcl' | 'GetObjectTagging' })
  | (O & { readonly op: 'CopyObject'; readonly source: CopySource })
  | (O & { readonly op: 'GetObject' | 'HeadObject'; readonly versionId?: string; readonly partNumber?: number })
  | (O & { readonly op: 'DeleteObject'; readonly versionId?: string })
  | (U & { readonly op: 'UploadPart'; readonly partNumber: number })
  | (U & { readonly op: 'UploadPartCopy'; readonly partNumber: number; readonly source: CopySource; readonly range?: ByteRange })
  | (U & { readonly op: 'CompleteMultipartUpload' | 'AbortMultipartUpload' })
  | (U & { readonly op: 'ListParts'; readonly maxParts: number; readonly partNumberMarker: number })
  /** A recognised but unimplemented operation → NotImplemented; `operation` is its AWS name when known. */
  | { readonly op: 'Unsupported'; readonly operation: string; readonly reason: string; readonly bucket?: string; readonly key?: string };

/** The name of an S3 operation (a metrics label). */
export type S3OpName = S3Op['op'];

/** What the router needs of a request. */
export interface RouteRequest {
  readonly method: string;
  /** Raw path, still percent-encoded, without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** `s3.rootDomain`: a Host of `bucket.<rootDomain>[:port]` names the bucket. Absent or empty: path style only. */
  readonly rootDomain?: string;
}

/**
 * The bucket a Host header names under virtual-hosted–style addressing (`bucket.rootDomain`,
 * any port, any case), or undefined for path style: no root domain configured, the Host is
 * the root domain itself, or another name or address (`127.0.0.1:9000`).
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
 */
export function bucketFromHost(host: string | undefined, rootDomain: string | undefined): string | undefined {
  if (host === undefined || rootDomain === undefined || rootDomain === '') return undefined;
  const name = host.trim().toLowerCase().replace(/:\d*$/, '').replace(/\.$/, '');
  const suffix = `.${rootDomain.toLowerCase()}`;
  if (!name.endsWith(suffix) || name.length === suffix.length) return undefined;
  return name.slice(0, -suffix.length);
}

// Subresources ringstore does not implement, with the AWS noun their operations are named after.
const BUCKET_SUBRESOURCES: Readonly<Record<string, string>> = {
  accelerate: 'BucketAccelerateConfiguration',
  acl: 'BucketAcl',
  analytics: 'BucketAnalyticsConfiguration',
  cors: 'BucketCors',
  encryption: 'BucketEncryption',
  'intelligent-tiering': 'BucketIntelligentTieringConfiguration',
  inventory: 'BucketInventoryConfiguration',
  lifecycle: 'BucketLifecycleConfiguration',
  location: 'BucketLocation',
  logging: 'BucketLogging',
  metadataTable: 'BucketMetadataTableConfiguration',
  metrics: 'BucketMetricsConfiguration',
  notification: 'BucketNotificationConfiguration',
  'object-lock': 'ObjectLockConfiguration',
  ownershipControls: 'BucketOwnershipControls',
  policy: 'BucketPolicy',
  policyStatus: 'BucketPolicyStatus',
  publicAccessBlock: 'PublicAccessBlock',
  replication: 'BucketReplication',
  requestPayment: 'BucketRequestPayment',
  session: 'Session',
  tagging: 'BucketTagging',
  versioning: 'BucketVersioning',
  versions: 'ObjectVersions',
  website: 'BucketWebsite',
};
const OBJECT_SUBRESOURCES: Readonly<Record<string, string>> = {
  acl: 'ObjectAcl',
  attributes: 'ObjectAttributes',
  'legal-hold': 'ObjectLegalHold',
  restore: 'Object',
  retention: 'ObjectRetention',
  select: 'ObjectContent',
  tagging: 'ObjectTagging',
  torrent: 'ObjectTorrent',
};
const VERB: Readonly<Record<string, string>> = { GET: 'Get', PUT: 'Put', DELETE: 'Delete', POST: 'Post', HEAD: 'Head' };

function subresource(query: URLSearchParams, table: Readonly<Record<string, string>>): string | undefined {
  for (const name of query.keys()) if (Object.hasOwn(table, name)) return name;
  return undefined;
}

function unsupported(method: string, sub: string, table: Readonly<Record<string, string>>, where: { bucket: string; key?: string }): S3Op {
  const special: Readonly<Record<string, string>> = { 'GET versions': 'ListObjectVersions', 'POST restore': 'RestoreObject', 'POST select': 'SelectObjectContent', 'GET session': 'CreateSession' };
  const operation = special[`${method} ${sub}`] ?? `${VERB[method] ?? method}${table[sub] ?? sub}`;
  return { op: 'Unsupported', operation, reason: `${operation} (?${sub}) is not implemented by ringstore`, ...where };
}

const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** Why `name` is not a valid bucket name, or undefined when it is. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return 'may contain only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit';
  if (name.includes('..')) return 'must not contain two adjacent periods';
  if (IPV4.test(name)) return 'must not be formatted as an IP address';
  if (name.startsWith('xn--') || name.startsWith('sthree-')) return 'must not start with the prefix xn-- or sthree-';
  if (name.endsWith('-s3alias') || name.endsWith('--ol-s3') || name.endsWith('.mrap') || name.endsWith('--x-s3')) return 'must not end with a reserved suffix (-s3alias, --ol-s3, .mrap, --x-s3)';
  return undefined;
}

/**
 * Throws InvalidBucketName unless `name` follows the general-purpose bucket naming rules.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
export function validateBucketName(name: string): void {
  const problem = bucketNameProblem(name);
  if (problem !== undefined) throw new S3Error('InvalidBucketName', `The specified bucket is not valid: bucket name ${problem}.`, { extra: { BucketName: name } });
}

/** Throws KeyTooLongError for keys over 1024 UTF-8 bytes. */
export function validateKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES)
    throw new S3Error('KeyTooLongError', undefined, { extra: { MaxSizeAllowed: String(MAX_KEY_BYTES), Size: String(Buffer.byteLength(key, 'utf8')) } });
}

function decodeOrThrow(raw: string): string {
  const decoded = tryDecode(raw);
  if (decoded === undefined) throw new S3Error('InvalidURI');
  return decoded;
}

function nonNegativeInt(query: URLSearchParams, name: string, fallback: number, cap = Number.MAX_SAFE_INTEGER): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d{1,10}$/.test(raw) || Number(raw) > 2_147_483_647) {
    throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, { extra: { ArgumentName: name, ArgumentValue: raw } });
  }
  return Math.min(Number(raw), cap);
}

function encodingType(query: URLSearchParams): { encodingType?: 'url' } {
  const raw = query.get('encoding-type');
  if (raw === null) return {};
  if (raw.toLowerCase() !== 'url') throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', { extra: { ArgumentName: 'encoding-type', ArgumentValue: raw } });
  return { encodingType: 'url' };
}

/** `delimiter`: an empty value means none (and no Delimiter element in the answer), as in S3. */
function delimiterOf(query: URLSearchParams): { delimiter?: string } {
  const value = query.get('delimiter');
  return value === null || value === '' ? {} : { delimiter: value };
}

function optional<K extends string>(name: K, value: string | null): { [P in K]?: string } {
  return (value === null ? {} : { [name]: value }) as { [P in K]?: string };
}

/**
 * Parses `x-amz-copy-source` (`[/]bucket/key[?versionId=…]`, key URL-encoded).
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html#API_CopyObject_RequestSyntax
 */
export function parseCopySource(header: string): CopySource {
  const raw = header.trim();
  const q = raw.indexOf('?');
  const pathPart = (q < 0 ? raw : raw.slice(0, q)).replace(/^\//, '');
  const versionId = q < 0 ? null : new URLSearchParams(raw.slice(q + 1)).get('versionId');
  const path = tryDecode(pathPart);
  const slash = path?.indexOf('/') ?? -1;
  if (path === undefined || slash <= 0 || slash === path.length - 1) {
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', { extra: { ArgumentName: 'x-amz-copy-source', ArgumentValue: header } });
  }
  const bucket = path.slice(0, slash);
  const key = path.slice(slash + 1);
  validateBucketName(bucket);
  validateKey(key);
  return { bucket, key, ...optional('versionId', versionId) };
}

/** Parses `x-amz-copy-source-range: bytes=first-last` (inclusive, first ≤ last). */
export function parseCopySourceRange(header: string): ByteRange {
  const m = /^bytes=(\d{1,15})-(\d{1,15})$/.exec(header.trim());
  const start = m === null ? NaN : Number(m[1]);
  const end = m === null ? NaN : Number(m[2]);
  if (!(start <= end)) {
    throw new S3Error('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy', {
      extra: { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: header },
    });
  }
  return { start, end };
}

function routeBucket(method: string, bucket: string, query: URLSearchParams): S3Op {
  const sub = subresource(query, BUCKET_SUBRESOURCES);
  switch (method) {
    case 'HEAD':
      return { op: 'HeadBucket', bucket };
    case 'GET': {
      if (query.has('uploads')) {
        return {
          op: 'ListMultipartUploads',
          bucket,
          prefix: query.get('prefix') ?? '',
          ...delimiterOf(query),
          keyMarker: query.get('key-marker') ?? '',
          uploadIdMarker: query.get('upload-id-marker') ?? '',
          maxUploads: nonNegativeInt(query, 'max-uploads', MAX_LIST_KEYS, MAX_LIST_KEYS),
          ...encodingType(query),
        };
      }
      if (sub === 'location') return { op: 'GetBucketLocation', bucket };
      if (sub === 'versioning') return { op: 'GetBucketVersioning', bucket };
      if (sub === 'acl') return { op: 'GetBucketAcl', bucket };
      if (sub !== undefined) return unsupported(method, sub, BUCKET_SUBRESOURCES, { bucket });
      const common = {
        bucket,
        prefix: query.get('prefix') ?? '',
        ...delimiterOf(query),
        maxKeys: nonNegativeInt(query, 'max-keys', MAX_LIST_KEYS, MAX_LIST_KEYS),
        ...encodingType(query),
      };
      if (query.get('list-type') === '2') {
        return {
          op: 'ListObjectsV2',
          ...common,
          ...optional('continuationToken', query.get('continuation-token')),
          ...optional('startAfter', query.get('start-after')),
          fetchOwner: query.get('fetch-owner') === 'true',
        };
      }
      return { op: 'ListObjects', ...common, marker: query.get('marker') ?? '' };
    }
    case 'PUT':
      if (sub === 'acl') return { op: 'PutBucketAcl', bucket };
      return sub === undefined ? { op: 'CreateBucket', bucket } : unsupported(method, sub, BUCKET_SUBRESOURCES, { bucket });
    case 'DELETE':
      return sub === undefined ? { op: 'DeleteBucket', bucket } : unsupported(method, sub, BUCKET_SUBRESOURCES, { bucket });
    case 'POST':
      if (query.has('delete')) return { op: 'DeleteObjects', bucket };
      return { op: 'Unsupported', operation: 'PostObject', reason: 'browser-based POST uploads (PostObject) are not implemented by ringstore', bucket };
    default:
      throw new S3Error('MethodNotAllowed', undefined, { extra: { Method: method, ResourceType: 'BUCKET' } });
  }
}

/** Largest (and default) ListBuckets page. */
export const MAX_LIST_BUCKETS = 10_000;

function routeListBuckets(query: URLSearchParams): S3Op {
  const raw = query.get('max-buckets');
  if (raw !== null && (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LIST_BUCKETS)) {
    throw new S3Error('InvalidArgument', `max-buckets must be an integer between 1 and ${MAX_LIST_BUCKETS}`, { extra: { ArgumentName: 'max-buckets', ArgumentValue: raw } });
  }
  return {
    op: 'ListBuckets',
    maxBuckets: raw === null ? MAX_LIST_BUCKETS : Number(raw),
    prefix: query.get('prefix') ?? '',
    ...optional('continuationToken', query.get('continuation-token')),
    ...optional('bucketRegion', query.get('bucket-region')),
  };
}

function uploadId(query: URLSearchParams): string {
  const id = query.get('uploadId');
  if (id === null || id === '') throw new S3Error('InvalidArgument', 'uploadId must not be empty', { extra: { ArgumentName: 'uploadId', ArgumentValue: id ?? '' } });
  return id;
}

function routeObject(method: string, bucket: string, key: string, query: URLSearchParams, headers: RouteRequest['headers']): S3Op {
  const sub = subresource(query, OBJECT_SUBRESOURCES);
  const where = { bucket, key };
  const copySource = headers['x-amz-copy-source'];
  switch (method) {
    case 'GET':
    case 'HEAD': {
      if (method === 'GET' && query.has('uploadId')) {
        return {
          op: 'ListParts',
          ...where,
          uploadId: uploadId(query),
          maxParts: nonNegativeInt(query, 'max-parts', MAX_LIST_KEYS, MAX_LIST_KEYS),
          partNumberMarker: nonNegativeInt(query, 'part-number-marker', 0),
        };
      }
      if (method === 'GET' && sub === 'acl') return { op: 'GetObjectAcl', ...where };
      if (method === 'GET' && sub === 'tagging') return { op: 'GetObjectTagging', ...where };
      if (method === 'GET' && sub !== undefined) return unsupported(method, sub, OBJECT_SUBRESOURCES, where);
      const partNumber = query.get('partNumber');
      return {
        op: method === 'GET' ? 'GetObject' : 'HeadObject',
        ...where,
        ...optional('versionId', query.get('versionId')),
        ...(partNumber === null ? {} : { partNumber: parsePartNumber(partNumber) }),
      };
    }
    case 'PUT': {
      if (query.has('partNumber') || query.has('uploadId')) {
        const partNumber = parsePartNumber(query.get('partNumber') ?? '');
        const id = uploadId(query);
        if (copySource === undefined) return { op: 'UploadPart', ...where, uploadId: id, partNumber };
        const range = headers['x-amz-copy-source-range'];
        return { op: 'UploadPartCopy', ...where, uploadId: id, partNumber, source: parseCopySource(copySource), ...(range === undefined ? {} : { range: parseCopySourceRange(range) }) };
      }
      if (sub === 'acl') return { op: 'PutObjectAcl', ...where };
      if (sub !== undefined) return unsupported(method, sub, OBJECT_SUBRESOURCES, where);
      if (copySource !== undefined) return { op: 'CopyObject', ...where, source: parseCopySource(copySource) };
      return { op: 'PutObject', ...where };
    }
    case 'POST':
      if (query.has('uploads')) return { op: 'CreateMultipartUpload', ...where };
      if (query.has('uploadId')) return { op: 'CompleteMultipartUpload', ...where, uploadId: uploadId(query) };
      if (sub !== undefined) return unsupported(method, sub, OBJECT_SUBRESOURCES, where);
      throw new S3Error('MethodNotAllowed', undefined, { extra: { Method: method, ResourceType: 'OBJECT' } });
    case 'DELETE':
      if (query.has('uploadId')) return { op: 'AbortMultipartUpload', ...where, uploadId: uploadId(query) };
      if (sub !== undefined) return unsupported(method, sub, OBJECT_SUBRESOURCES, where);
      return { op: 'DeleteObject', ...where, ...optional('versionId', query.get('versionId')) };
    default:
      throw new S3Error('MethodNotAllowed', undefined, { extra: { Method: method, ResourceType: 'OBJECT' } });
  }
}

/**
 * Routes an S3 request. `/` is the service, `/bucket` (or `/bucket/`) a bucket,
 * `/bucket/key…` an object (key percent-decoded; it may contain and end with `/`).
 * Throws `S3Error`: InvalidURI, InvalidBucketName, KeyTooLongError, InvalidArgument
 * (bad part numbers, max-keys, copy source…), MethodNotAllowed.
 */
export function routeS3(req: RouteRequest): S3Op {
  const method = req.method.toUpperCase();
  const rawPath = req.path === '' ? '/' : req.path;
  if (!rawPath.startsWith('/')) throw new S3Error('InvalidURI');
  // Virtual-hosted style: the bucket comes from the Host and the whole path is the key, which
  // is then routed exactly as its path-style twin (bucket names need no escaping).
  const hosted = bucketFromHost(req.headers['host'], req.rootDomain);
  const path = hosted === undefined ? rawPath : `/${hosted}${rawPath}`;
  if (path === '/') {
    if (method === 'GET') return routeListBuckets(req.query);
    throw new S3Error('MethodNotAllowed', undefined, { extra: { Method: method, ResourceType: 'SERVICE' } });
  }
  const slash = path.indexOf('/', 1);
  const bucket = decodeOrThrow(slash < 0 ? path.slice(1) : path.slice(1, slash));
  validateBucketName(bucket);
  const key = slash < 0 ? '' : decodeOrThrow(path.slice(slash + 1));
  if (key === '') return routeBucket(method, bucket, req.query);
  validateKey(key);
  return routeObject(method, bucket, key, req.query, req.headers);
}
