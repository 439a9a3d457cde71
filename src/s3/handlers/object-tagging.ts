/**
 * GetObjectTagging. ringstore keeps no object tags (PutObjectTagging is NotImplemented, and an
 * `x-amz-tagging` header on PUT is not stored), so an existing object's tag set is empty. Clients
 * read it before copying: `aws s3 cp s3://… s3://…` asks for the source's tags (its default
 * `--copy-props`) before a multipart copy, and fails if the call does.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html
 */
import type { S3Call } from '../context.js';
import { taggingXml } from '../xml.js';
import { sendXml } from './respond.js';

/** GET /bucket/key?tagging */
export async function getObjectTagging(call: S3Call, bucket: string, key: string): Promise<void> {
  await call.services.buckets.assertExists(bucket);
  // NoSuchKey for a missing object, as S3 answers.
  await call.services.coordinator.headObject(bucket, key, 'HeadObject');
  sendXml(call, taggingXml());
}
