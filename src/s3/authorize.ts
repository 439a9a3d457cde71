/**
 * Authorization, pure: which access a routed S3 operation needs on which bucket, and whether an
 * identity has it. The root key from config may do everything. A stored key may do everything on
 * the buckets it created (it owns them), and on others what its grants allow:
 *
 * - `read`: GetObject, HeadObject, ListObjects(V2), ListMultipartUploads, ListParts, HeadBucket,
 *   GetBucketLocation, GetBucketVersioning, GetBucketAcl, GetObjectAcl, GetObjectTagging, and the source of
 *   CopyObject / UploadPartCopy;
 * - `write`: PutObject, DeleteObject(s), every multipart step that changes an upload, the
 *   destination of CopyObject / UploadPartCopy;
 * - `owner`: DeleteBucket, PutBucketAcl, PutObjectAcl. (The operations ringstore does not
 *   implement are NotImplemented for everyone.)
 *
 * CreateBucket of a new bucket needs the key's `allowCreateBucket`; of an existing one it is
 * answered as S3 does (yours again: 200 in us-east-1, else 409 BucketAlreadyOwnedByYou; another's:
 * 409 BucketAlreadyExists), a bucket the key has a grant on counting as its own there, so that
 * clients which "make sure the bucket exists" first (rclone) work with a granted key. ListBuckets needs nothing (it shows only the
 * buckets the key owns or has a grant on). Operations on a bucket that does not exist are let
 * through to answer NoSuchBucket, as S3 does.
 */
import type { S3Op } from './router.js';

/** One right on a bucket. */
export type Access = 'read' | 'write' | 'owner';

/** What an operation needs: a right on a bucket, the right to create buckets, or nothing. */
export type Need = { readonly kind: 'bucket'; readonly bucket: string; readonly access: Access } | { readonly kind: 'createBucket'; readonly bucket: string };

/** Who sent a request, as authorization sees it. */
export interface Identity {
  readonly accessKeyId: string;
  /** The key's name (the root key's display name is its id). */
  readonly displayName: string;
  /** The root key from config: every right, and the owner of buckets created before owners. */
  readonly root: boolean;
  readonly allowCreateBucket: boolean;
}

/** What authorization needs to know of a bucket. */
export interface BucketFacts {
  /** Its owner's access key id (`''` for the root key), or undefined when the bucket does not exist. */
  readonly owner: string | undefined;
  /** The identity's grant on it. */
  readonly grant: { readonly read: boolean; readonly write: boolean; readonly owner: boolean };
}

const READ = new Set<S3Op['op']>([
  'GetObject',
  'HeadObject',
  'ListObjects',
  'ListObjectsV2',
  'ListMultipartUploads',
  'ListParts',
  'HeadBucket',
  'GetBucketLocation',
  'GetBucketVersioning',
  'GetBucketAcl',
  'GetObjectAcl',
  'GetObjectTagging',
]);
const WRITE = new Set<S3Op['op']>([
  'PutObject',
  'DeleteObject',
  'DeleteObjects',
  'CreateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'CopyObject',
  'UploadPartCopy',
]);

/** The rights `op` needs (in the order they are checked). */
export function accessNeeded(op: S3Op): Need[] {
  switch (op.op) {
    case 'ListBuckets':
      return [];
    case 'CreateBucket':
      return [{ kind: 'createBucket', bucket: op.bucket }];
    case 'CopyObject':
    case 'UploadPartCopy':
      return [
        { kind: 'bucket', bucket: op.source.bucket, access: 'read' },
        { kind: 'bucket', bucket: op.bucket, access: 'write' },
      ];
    case 'Unsupported':
      // Answered NotImplemented whoever asks: it reveals nothing, and clients probing for
      // features (s3cmd info asks for the policy, CORS, lifecycle) take that answer in stride.
      return [];
    default: {
      const access: Access = READ.has(op.op) ? 'read' : WRITE.has(op.op) ? 'write' : 'owner';
      return [{ kind: 'bucket', bucket: op.bucket, access }];
    }
  }
}

/** The owner id an identity's buckets carry (`''` for the root key). */
export function ownerIdOf(identity: Identity): string {
  return identity.root ? '' : identity.accessKeyId;
}

/** True when `identity` has `access` on a bucket with `facts`. A missing bucket is left to the handler (NoSuchBucket). */
export function permits(identity: Identity, access: Access, facts: BucketFacts): boolean {
  if (identity.root || facts.owner === undefined) return true;
  if (facts.owner === identity.accessKeyId) return true;
  return facts.grant[access];
}

/** True when `identity` sees a bucket in ListBuckets: it owns it or has any grant on it (the root key sees all). */
export function listsBucket(identity: Identity, facts: BucketFacts): boolean {
  return identity.root || facts.owner === identity.accessKeyId || facts.grant.read || facts.grant.write || facts.grant.owner;
}
