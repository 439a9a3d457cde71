/**
 * DeleteObject and DeleteObjects: tombstones written with the write quorum. Deleting a key
 * that does not exist succeeds, as in S3.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 */
import type { S3Call } from '../context.js';
import { toS3Error } from '../errors.js';
import { deleteResultXml, type DeleteOutcome } from '../xml.js';
import { parseDeleteObjects, MAX_DELETE_OBJECTS } from '../xml-parse.js';
import { readSmallBody, sendXml } from './respond.js';
import { validateKey } from '../router.js';

/** DELETE /bucket/key */
export async function deleteObject(call: S3Call, bucket: string, key: string): Promise<void> {
  // Taken at arrival like a PUT's: a DELETE that arrives after a long PUT began wins over it.
  const version = await call.services.coordinator.arrivalVersion();
  await call.services.buckets.assertExists(bucket);
  await call.services.coordinator.deleteObject(bucket, key, version);
  call.ctx.status = 204;
}

const PARALLEL_DELETES = 16;

/** POST /bucket?delete */
export async function deleteObjects(call: S3Call, bucket: string): Promise<void> {
  // One arrival version serves every key of the request (versions are compared per key).
  const version = await call.services.coordinator.arrivalVersion();
  await call.services.buckets.assertExists(bucket);
  const request = parseDeleteObjects((await readSmallBody(call, MAX_DELETE_OBJECTS * 2048)).toString('utf8'));
  const outcomes: DeleteOutcome[] = new Array(request.objects.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < request.objects.length) {
      const i = next++;
      const { key } = request.objects[i]!;
      try {
        // Each key is held to the same rule as a key in a URL; a bad one fails alone (S3 answers it per key).
        validateKey(key);
        await call.services.coordinator.deleteObject(bucket, key, version);
        outcomes[i] = { key, deleted: true };
      } catch (err) {
        const s3 = toS3Error(err);
        outcomes[i] = { key, deleted: false, code: s3.code, message: s3.message };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_DELETES, request.objects.length) }, worker));
  sendXml(call, deleteResultXml(outcomes, request.quiet));
}
