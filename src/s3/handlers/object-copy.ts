/**
 * CopyObject and UploadPartCopy: a server-side GET streamed into a PUT. The source's newest
 * version is looked up and its body opened as GetObject does; its bytes flow, as the store
 * reads them, into the coordinator's putObject for the destination key (or into a part of a
 * multipart upload), which places them by the destination key. No body is ever held whole.
 *
 * The answer goes out once the copy is stored: S3 may send its 200 early and keep the connection
 * open with whitespace, which obliges it to report a late failure as a 200 with an Error body;
 * ringstore never sends headers before the copy is done, so every failure is an ordinary S3
 * error with its own status.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FoundObject } from '../../replication/coordinator.js';
import type { ByteRange, ObjectMeta } from '../../store/types.js';
import { hlcWallMs } from '../../util/clock.js';
import { RingstoreError } from '../../util/errors.js';
import { createChecksum, type ChecksumAlgorithm } from '../body/checksums.js';
import type { S3Call } from '../context.js';
import { assertCopyObjectSize, assertCurrentVersion, assertNotSelfCopy, checkCopyConditions, copyChecksumAlgorithms, metadataDirectiveOf, partCopyRange } from '../copy-rules.js';
import type { CopySource, S3Op } from '../router.js';
import { copyResultXml, type ChecksumFields } from '../xml.js';
import { objectHeadersOf } from './object-put.js';
import { lastModifiedOf, sendXml } from './respond.js';

type Op<N extends S3Op['op']> = Extract<S3Op, { op: N }>;

/** PUT /bucket/key with x-amz-copy-source */
export async function copyObject(call: S3Call, op: Op<'CopyObject'>): Promise<void> {
  const { services, ctx } = call;
  const headers = ctx.req.headers;
  // Taken first: of overlapping writes of the destination, the later-started one wins.
  const version = await services.coordinator.arrivalVersion();
  await services.buckets.assertExists(op.bucket);
  const directive = metadataDirectiveOf(headers);
  // Validated before any lookup, as a PUT's headers are.
  const replaced = directive === 'REPLACE' ? objectHeadersOf(headers) : undefined;
  const source = await openSource(call, op.source, (found) => {
    assertCopyObjectSize(found.record.size);
    assertNotSelfCopy(op.source, op, directive, headers);
    return undefined;
  });
  try {
    const { record } = source.found;
    const described = replaced ?? { contentType: record.contentType, userMeta: record.userMeta, ...(record.headers && { headers: record.headers }) };
    const copied = copiedBody(source, copyChecksumAlgorithms(headers, record.parts ? undefined : record.checksums));
    const meta = await services.coordinator.putObject({ bucket: op.bucket, key: op.key, ...described, ...copied, version, signal: abortOnClose(call) });
    sendXml(call, copyResultXml({ etag: meta.etag, lastModified: hlcWallMs(meta.version.hlc), ...checksumsOf(meta) }));
  } finally {
    source.close();
  }
}

/** PUT /bucket/key?partNumber=N&uploadId=U with x-amz-copy-source [and x-amz-copy-source-range] */
export async function uploadPartCopy(call: S3Call, op: Op<'UploadPartCopy'>): Promise<void> {
  const { services } = call;
  const version = await services.coordinator.arrivalVersion();
  await services.buckets.assertExists(op.bucket);
  // NoSuchUpload before the source is opened (uploadPart checks again, as for UploadPart).
  await services.multipart.get(op.bucket, op.key, op.uploadId);
  const source = await openSource(call, op.source, (found) => partCopyRange(op.range, found.record.size));
  try {
    const copied = copiedBody(source, []);
    const meta = await services.multipart.uploadPart(op.bucket, op.key, op.uploadId, op.partNumber, { ...copied, version, signal: abortOnClose(call) });
    sendXml(call, copyResultXml({ etag: meta.etag, lastModified: hlcWallMs(meta.version.hlc) }, 'CopyPartResult'));
  } finally {
    source.close();
  }
}

/** An opened copy source: its version, the bytes to copy, and how to let go of them. */
interface OpenedSource {
  readonly found: FoundObject;
  /** Bytes of the source being copied (the range's length, or the whole size). */
  readonly length: number;
  /** The source's ETag when the whole single-part object is copied: the copy's MD5 must equal it. */
  readonly wholeEtag: string | undefined;
  readonly body: Readable | Uint8Array;
  /** Destroys the body stream if the copy did not read it to its end. */
  close(): void;
}

/** Lookups retried when the source version found is overwritten before its body could be opened (as GetObject does). */
const ATTEMPTS = 3;

/**
 * Finds the source's newest version (NoSuchBucket, NoSuchKey), checks the copy conditions and
 * `limits` (which returns the range to copy), and opens that part of its body.
 */
async function openSource(call: S3Call, source: CopySource, limits: (found: FoundObject) => ByteRange | undefined): Promise<OpenedSource> {
  const { coordinator, buckets } = call.services;
  await buckets.assertExists(source.bucket);
  assertCurrentVersion(source);
  for (let attempt = 1; ; attempt++) {
    const found = await coordinator.headObject(source.bucket, source.key, 'GetObject');
    const { record } = found;
    checkCopyConditions(call.ctx.req.headers, record.etag, lastModifiedOf(record));
    const range = limits(found);
    const length = range ? range.end - range.start + 1 : record.size;
    const wholeEtag = range === undefined && record.parts === undefined ? record.etag : undefined;
    // An empty source has no body to open (a range always covers at least one byte).
    if (length === 0) return { found, length, wholeEtag, body: new Uint8Array(0), close: () => {} };
    try {
      const body = await coordinator.openBody(found, range);
      return { found, length, wholeEtag, body, close: () => (body instanceof Uint8Array ? undefined : body.destroy()) };
    } catch (err) {
      if (attempt < ATTEMPTS && err instanceof RingstoreError && err.details['superseded'] === true) continue;
      throw err;
    }
  }
}

/**
 * The source's bytes as a PUT body: MD5 (the copy's ETag), the requested checksums and the
 * length are computed as they pass. `seal` refuses a body that came out shorter or longer than
 * the source, or (for a whole single-part source) whose MD5 is not the source's ETag: the store
 * checks CRCs as it reads, so either means a replica answered wrongly, never the client.
 */
function copiedBody(source: OpenedSource, algorithms: readonly ChecksumAlgorithm[]): { body: AsyncIterable<Uint8Array>; seal: () => { etag: string; checksums: Record<string, string> } } {
  const md5 = createHash('md5');
  const checksums = algorithms.map((alg) => ({ alg, sum: createChecksum(alg) }));
  let size = 0;
  async function* body(): AsyncGenerator<Uint8Array> {
    const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = source.body instanceof Uint8Array ? [source.body] : (source.body as AsyncIterable<Uint8Array>);
    for await (const chunk of chunks) {
      size += chunk.byteLength;
      md5.update(chunk);
      for (const c of checksums) c.sum.update(chunk);
      yield chunk;
    }
  }
  return {
    body: body(),
    seal: () => {
      const etag = md5.digest('hex');
      const { bucket, key } = source.found.record;
      if (size !== source.length) throw new RingstoreError('ServiceUnavailable', `copy source read ${size} of ${source.length} bytes`, { bucket, key });
      if (source.wholeEtag !== undefined && source.wholeEtag !== etag) throw new RingstoreError('CorruptBody', `copy source MD5 ${etag} is not its ETag ${source.wholeEtag}`, { bucket, key });
      return { etag, checksums: Object.fromEntries(checksums.map((c) => [c.alg, c.sum.digest().toString('base64')])) };
    },
  };
}

/** Aborts the copy when the client goes away before its answer: nobody is left to tell. */
function abortOnClose(call: S3Call): AbortSignal {
  const controller = new AbortController();
  const res = call.ctx.res;
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the client closed the connection during the copy'));
  });
  return controller.signal;
}

function checksumsOf(meta: ObjectMeta): { checksums?: ChecksumFields } {
  return meta.checksums && Object.keys(meta.checksums).length > 0 ? { checksums: meta.checksums as ChecksumFields } : {};
}
