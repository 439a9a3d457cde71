/**
 * GetBucketAcl, GetObjectAcl, PutBucketAcl, PutObjectAcl: the owner (the bucket's, for its
 * objects too: ringstore does not track object owners apart) has FULL_CONTROL and nobody else
 * has anything by ACL. Puts accept only that (see s3/acl.ts).
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html
 */
import type { S3Call } from '../context.js';
import { bucketOwnerOf } from '../context.js';
import { S3Error } from '../errors.js';
import { checkAclGrants } from '../acl.js';
import { accessControlPolicyXml } from '../xml.js';
import { parseAccessControlPolicy } from '../xml-parse.js';
import { readSmallBody, sendXml } from './respond.js';

/** GET /bucket?acl and GET /bucket/key?acl */
export async function getAcl(call: S3Call, bucket: string, key?: string): Promise<void> {
  const info = await call.services.buckets.assertExists(bucket);
  if (key !== undefined) await call.services.coordinator.headObject(bucket, key, 'GetObjectAcl');
  sendXml(call, accessControlPolicyXml(await bucketOwnerOf(call, info.owner)));
}

/** PUT /bucket?acl and PUT /bucket/key?acl: `x-amz-acl: private` (checked before) or a body granting the owner FULL_CONTROL only. */
export async function putAcl(call: S3Call, bucket: string, key?: string): Promise<void> {
  const info = await call.services.buckets.assertExists(bucket);
  if (key !== undefined) await call.services.coordinator.headObject(bucket, key, 'PutObjectAcl');
  const body = await readSmallBody(call, 64 * 1024);
  const canned = call.ctx.get('x-amz-acl');
  if (body.length > 0) {
    if (canned !== '') throw new S3Error('InvalidRequest', 'Specify either an ACL in the body or the x-amz-acl header, not both.');
    checkAclGrants(parseAccessControlPolicy(body.toString('utf8')), (await bucketOwnerOf(call, info.owner)).id);
  } else if (canned === '' && !Object.keys(call.ctx.req.headers).some((h) => h.startsWith('x-amz-grant-'))) {
    throw new S3Error('MalformedXML', 'PutBucketAcl/PutObjectAcl needs an AccessControlPolicy body or an x-amz-acl header.');
  }
  call.ctx.status = 200;
  call.ctx.body = '';
}
