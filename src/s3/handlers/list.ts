/**
 * ListObjectsV2 and ListObjects (v1): a coverage query over the cluster (coordinator), shaped
 * by the pure listing logic in s3/list. Parameters arrive parsed and validated by the router.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 */
import type { S3Call } from '../context.js';
import { ownerOf } from '../context.js';
import { S3Error } from '../errors.js';
import type { S3Op } from '../router.js';
import { listObjects, encodeContinuationToken, decodeContinuationToken, type ListOutcome } from '../list/list-objects.js';
import { listObjectsV1Xml, listObjectsV2Xml, type ObjectEntry } from '../xml.js';
import { lastModifiedOf, sendXml } from './respond.js';

type ListV2Op = Extract<S3Op, { op: 'ListObjectsV2' }>;
type ListV1Op = Extract<S3Op, { op: 'ListObjects' }>;

async function run(call: S3Call, bucket: string, prefix: string, delimiter: string | undefined, maxKeys: number, startAfter: string | undefined): Promise<ListOutcome> {
  await call.services.buckets.assertExists(bucket);
  const { coordinator } = call.services;
  return listObjects((after, limit) => coordinator.listPage(bucket, { ...(prefix !== '' && { prefix }), ...(after !== undefined && { startAfter: after }), limit }), {
    prefix,
    maxKeys,
    ...(delimiter !== undefined && delimiter !== '' && { delimiter }),
    ...(startAfter !== undefined && startAfter !== '' && { startAfter }),
  });
}

function entries(call: S3Call, outcome: ListOutcome, withOwner: boolean): ObjectEntry[] {
  const owner = withOwner ? ownerOf(call) : undefined;
  return outcome.contents.map((r) => ({ key: r.key, lastModified: lastModifiedOf(r), etag: r.etag, size: r.size, ...(owner && { owner }) }));
}

/** GET /bucket?list-type=2 */
export async function listObjectsV2(call: S3Call, op: ListV2Op): Promise<void> {
  let after = op.startAfter;
  if (op.continuationToken !== undefined) {
    after = decodeContinuationToken(op.continuationToken);
    if (after === undefined) throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { extra: { ArgumentName: 'continuation-token' } });
  }
  const outcome = await run(call, op.bucket, op.prefix, op.delimiter, op.maxKeys, after);
  sendXml(
    call,
    listObjectsV2Xml({
      name: op.bucket,
      prefix: op.prefix,
      ...(op.delimiter !== undefined && { delimiter: op.delimiter }),
      maxKeys: op.maxKeys,
      isTruncated: outcome.isTruncated,
      ...(op.encodingType && { encodingType: op.encodingType }),
      contents: entries(call, outcome, op.fetchOwner),
      commonPrefixes: outcome.commonPrefixes,
      ...(op.continuationToken !== undefined && { continuationToken: op.continuationToken }),
      ...(outcome.isTruncated && outcome.nextStartAfter !== undefined && { nextContinuationToken: encodeContinuationToken(outcome.nextStartAfter) }),
      ...(op.startAfter !== undefined && { startAfter: op.startAfter }),
    }),
  );
}

/** GET /bucket (ListObjects v1, marker-based) */
export async function listObjectsV1(call: S3Call, op: ListV1Op): Promise<void> {
  const outcome = await run(call, op.bucket, op.prefix, op.delimiter, op.maxKeys, op.marker);
  sendXml(
    call,
    listObjectsV1Xml({
      name: op.bucket,
      prefix: op.prefix,
      ...(op.delimiter !== undefined && { delimiter: op.delimiter }),
      maxKeys: op.maxKeys,
      isTruncated: outcome.isTruncated,
      ...(op.encodingType && { encodingType: op.encodingType }),
      contents: entries(call, outcome, true),
      commonPrefixes: outcome.commonPrefixes,
      marker: op.marker,
      ...(outcome.isTruncated && op.delimiter && outcome.lastReturned !== undefined && { nextMarker: outcome.lastReturned }),
    }),
  );
}
