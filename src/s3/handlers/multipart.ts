/**
 * Multipart upload: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
 * AbortMultipartUpload, ListParts, ListMultipartUploads.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html
 */
import type { S3Call } from '../context.js';
import { ownerOf } from '../context.js';
import type { S3Op } from '../router.js';
import { completeMultipartUploadXml, initiateMultipartUploadXml, listMultipartUploadsXml, listPartsXml } from '../xml.js';
import { parseCompleteMultipartUpload, MAX_XML_BODY_BYTES } from '../xml-parse.js';
import { readSmallBody, sendXml } from './respond.js';
import { listUploads } from '../list/list-uploads.js';
import { answerStored, objectHeadersOf, verifiedBodyOf } from './object-put.js';

type Op<N extends S3Op['op']> = Extract<S3Op, { op: N }>;
/** The target of operations whose union member is shared with other op names. */
type ObjectTarget = { readonly bucket: string; readonly key: string };
type UploadTarget = ObjectTarget & { readonly uploadId: string };

/** S3's largest part. */
const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;

/** POST /bucket/key?uploads */
export async function createMultipartUpload(call: S3Call, op: ObjectTarget): Promise<void> {
  const { services, ctx } = call;
  await services.buckets.assertExists(op.bucket);
  const headers = ctx.req.headers;
  const uploadId = await services.multipart.create(op.bucket, op.key, objectHeadersOf(headers));
  sendXml(call, initiateMultipartUploadXml({ bucket: op.bucket, key: op.key, uploadId }));
}

/** PUT /bucket/key?partNumber=N&uploadId=U */
export async function uploadPart(call: S3Call, op: Op<'UploadPart'>): Promise<void> {
  const { services } = call;
  // Taken before anything is read: of two uploads of one part number, the later-started wins.
  const version = await services.coordinator.arrivalVersion();
  await services.buckets.assertExists(op.bucket);
  const body = verifiedBodyOf(call, MAX_PART_SIZE);
  // The body is piped only when the part's upload has been found and the stage reads it.
  const meta = await services.multipart.uploadPart(op.bucket, op.key, op.uploadId, op.partNumber, { body: body.body, seal: body.seal, version });
  answerStored(call, meta);
}

/** POST /bucket/key?uploadId=U */
export async function completeMultipartUpload(call: S3Call, op: UploadTarget): Promise<void> {
  const { services } = call;
  const version = await services.coordinator.arrivalVersion();
  await services.buckets.assertExists(op.bucket);
  const parts = parseCompleteMultipartUpload((await readSmallBody(call, MAX_XML_BODY_BYTES)).toString('utf8'));
  const meta = await services.multipart.complete(op.bucket, op.key, op.uploadId, parts, version);
  sendXml(call, completeMultipartUploadXml({ location: `/${op.bucket}/${op.key}`, bucket: op.bucket, key: op.key, etag: meta.etag }));
}

/** DELETE /bucket/key?uploadId=U */
export async function abortMultipartUpload(call: S3Call, op: UploadTarget): Promise<void> {
  await call.services.buckets.assertExists(op.bucket);
  await call.services.multipart.abort(op.bucket, op.key, op.uploadId);
  call.ctx.status = 204;
}

/** GET /bucket/key?uploadId=U */
export async function listParts(call: S3Call, op: Op<'ListParts'>): Promise<void> {
  const { services } = call;
  await services.buckets.assertExists(op.bucket);
  await services.multipart.get(op.bucket, op.key, op.uploadId);
  const { parts, truncated } = await services.multipart.listParts(op.uploadId, { marker: op.partNumberMarker, max: op.maxParts });
  const last = parts[parts.length - 1];
  sendXml(
    call,
    listPartsXml({
      bucket: op.bucket,
      key: op.key,
      uploadId: op.uploadId,
      owner: ownerOf(call),
      partNumberMarker: op.partNumberMarker,
      ...(truncated && last && { nextPartNumberMarker: last.partNumber }),
      maxParts: op.maxParts,
      isTruncated: truncated,
      parts: parts.map((p) => ({ partNumber: p.partNumber, lastModified: p.lastModifiedMs, etag: p.etag, size: p.size })),
    }),
  );
}

/** GET /bucket?uploads */
export async function listMultipartUploads(call: S3Call, op: Op<'ListMultipartUploads'>): Promise<void> {
  const { services } = call;
  await services.buckets.assertExists(op.bucket);
  const listing = await listUploads(
    (keyMarker, max, uploadIdMarker) => services.multipart.listUploads(op.bucket, { prefix: op.prefix, keyMarker, max, ...(uploadIdMarker !== undefined && { uploadIdMarker }) }),
    {
      prefix: op.prefix,
      keyMarker: op.keyMarker,
      uploadIdMarker: op.uploadIdMarker,
      maxUploads: op.maxUploads,
      ...(op.delimiter !== undefined && { delimiter: op.delimiter }),
    },
  );
  sendXml(
    call,
    listMultipartUploadsXml({
      bucket: op.bucket,
      keyMarker: op.keyMarker,
      uploadIdMarker: op.uploadIdMarker,
      ...(listing.nextKeyMarker !== undefined && { nextKeyMarker: listing.nextKeyMarker }),
      ...(listing.nextUploadIdMarker !== undefined && { nextUploadIdMarker: listing.nextUploadIdMarker }),
      prefix: op.prefix,
      ...(op.delimiter !== undefined && { delimiter: op.delimiter }),
      maxUploads: op.maxUploads,
      isTruncated: listing.truncated,
      uploads: listing.uploads.map((u) => ({ key: u.key, uploadId: u.uploadId, initiated: u.initiatedMs, owner: ownerOf(call) })),
      commonPrefixes: listing.commonPrefixes,
      ...(op.encodingType && { encodingType: op.encodingType }),
    }),
  );
}
