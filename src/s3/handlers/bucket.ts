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

/** GET / */
export async function listBuckets(call: S3Call): Promise<void> {
  const buckets = await call.services.buckets.list();
  sendXml(call, listAllMyBucketsXml({ owner: ownerOf(call), buckets: buckets.map((b) => ({ name: b.name, creationDate: b.createdMs })) }));
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
  await call.services.buckets.create(bucket);
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
