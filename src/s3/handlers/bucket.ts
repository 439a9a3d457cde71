/**
 * Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation,
 * GetBucketVersioning. https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html
 */
import type { S3Call } from '../context.js';
import { ownerOf } from '../context.js';
import { S3Error } from '../errors.js';
import { listAllMyBucketsXml, locationConstraintXml, versioningConfigurationXml } from '../xml.js';
import { parseCreateBucketConfiguration } from '../xml-parse.js';
import { readSmallBody, sendXml } from './respond.js';
import { isErrorCode } from '../../util/errors.js';
import { listsBucket, ownerIdOf } from '../authorize.js';
import { bucketFacts } from '../access.js';
import type { S3Op } from '../router.js';

/** The continuation token of a ListBuckets page ending with `lastName` (opaque to clients). */
export function bucketsToken(lastName: string): string {
  return Buffer.from(lastName, 'utf8').toString('base64url');
}

function afterToken(token: string): string {
  const name = Buffer.from(token, 'base64url').toString('utf8');
  if (token === '' || bucketsToken(name) !== token)
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { extra: { ArgumentName: 'continuation-token', ArgumentValue: token } });
  return name;
}

/** GET /: the buckets the key owns or has a grant on (every bucket for the root key), by name, paged. */
export async function listBuckets(call: S3Call, op: Extract<S3Op, { op: 'ListBuckets' }>): Promise<void> {
  const after = op.continuationToken === undefined ? undefined : afterToken(op.continuationToken);
  const { identity, services } = call;
  const granted = identity.root ? new Set<string>() : new Set((await services.keys.grantsOf(identity.accessKeyId)).map((g) => g.bucket));
  const region = services.config.s3.region;
  const visible = (await services.buckets.list()).filter(
    (b) =>
      b.name.startsWith(op.prefix) &&
      (after === undefined || b.name > after) &&
      (op.bucketRegion === undefined || op.bucketRegion === region) &&
      (identity.root || b.owner === identity.accessKeyId || granted.has(b.name)),
  );
  const page = visible.slice(0, op.maxBuckets);
  const more = visible.length > page.length;
  sendXml(
    call,
    listAllMyBucketsXml({
      owner: ownerOf(call),
      buckets: page.map((b) => ({ name: b.name, creationDate: b.createdMs })),
      ...(more ? { continuationToken: bucketsToken(page[page.length - 1]!.name) } : {}),
      ...(op.prefix !== '' ? { prefix: op.prefix } : {}),
    }),
  );
}

/** PUT /bucket */
export async function createBucket(call: S3Call, bucket: string): Promise<void> {
  const body = await readSmallBody(call, 64 * 1024);
  if (body.length > 0) {
    const { locationConstraint } = parseCreateBucketConfiguration(body.toString('utf8'));
    const region = call.services.config.s3.region;
    if (locationConstraint && locationConstraint !== region) {
      throw new S3Error('IllegalLocationConstraintException', `The ${locationConstraint} location constraint is incompatible for the region specific endpoint this request was sent to (${region}).`);
    }
  }
  try {
    await call.services.buckets.create(bucket, ownerIdOf(call.identity));
  } catch (error) {
    let owned = isErrorCode(error, 'BucketAlreadyOwnedByYou');
    // A bucket the key has a grant on counts as its own here (see authorize.ts).
    if (isErrorCode(error, 'BucketAlreadyExists') && !call.identity.root && listsBucket(call.identity, await bucketFacts(call.services, call.identity, bucket))) owned = true;
    if (!owned) throw error;
    // S3's legacy rule: in us-east-1, creating a bucket you already own again succeeds.
    if (call.services.config.s3.region !== 'us-east-1') throw new S3Error('BucketAlreadyOwnedByYou', undefined, { extra: { BucketName: bucket } });
  }
  call.ctx.set('Location', `/${bucket}`);
  call.ctx.status = 200;
  call.ctx.body = '';
}

/** HEAD /bucket */
export async function headBucket(call: S3Call, bucket: string): Promise<void> {
  await call.services.buckets.assertExists(bucket);
  call.ctx.set('x-amz-bucket-region', call.services.config.s3.region);
  call.ctx.status = 200;
}

/** DELETE /bucket */
export async function deleteBucket(call: S3Call, bucket: string): Promise<void> {
  await call.services.buckets.remove(bucket);
  // A bucket created later under this name starts with no grants.
  await call.services.keys.removeBucketGrants(bucket);
  call.ctx.status = 204;
}

/** GET /bucket?location */
export async function getBucketLocation(call: S3Call, bucket: string): Promise<void> {
  await call.services.buckets.assertExists(bucket);
  sendXml(call, locationConstraintXml(call.services.config.s3.region));
}

/** GET /bucket?versioning: versioning is never enabled. */
export async function getBucketVersioning(call: S3Call, bucket: string): Promise<void> {
  await call.services.buckets.assertExists(bucket);
  sendXml(call, versioningConfigurationXml());
}
