/**
 * GetObject and HeadObject: a quorum lookup of the newest version, conditional headers,
 * ranges, then the body streamed from one replica that holds that version.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
 */
import type { S3Call } from '../context.js';
import { S3Error } from '../errors.js';
import { RingstoreError } from '../../util/errors.js';
import { evaluateConditions } from '../conditions.js';
import { resolveRange, contentRange } from '../range.js';
import { assertNoRangeWithPart, partSelection, partsCountOf } from '../part-range.js';
import { responseOverridesOf, lastModifiedOf, setObjectHeaders } from './respond.js';
import { isRecycling, resumeAfter, sendBody } from '../../util/send-body.js';

function header(call: S3Call, name: string): string | undefined {
  const v = call.ctx.req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** GET or HEAD /bucket/key, or one part of it (`partNumber`). */
export async function getObject(call: S3Call, bucket: string, key: string, headOnly: boolean, partNumber?: number): Promise<void> {
  const { ctx, services } = call;
  if (partNumber !== undefined) assertNoRangeWithPart(header(call, 'range'));
  await services.buckets.assertExists(bucket);
  const overrides = responseOverridesOf(call);
  const { found, outcome, range, empty, body } = await locate(call, bucket, key, headOnly, partNumber);
  const { record } = found;
  // A whole-object checksum does not describe one part or range of it.
  setObjectHeaders(call, record, range === undefined && partNumber === undefined && header(call, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED');
  if (partNumber !== undefined && record.parts) ctx.set('x-amz-mp-parts-count', String(partsCountOf(record)));
  for (const [name, value] of Object.entries(record.headers ?? {})) ctx.set(name, value);
  for (const [name, value] of overrides) ctx.set(name, value);
  if (outcome === 'not-modified') {
    ctx.status = 304;
    ctx.remove('Content-Type');
    return;
  }
  const length = empty ? 0 : range ? range.end - range.start + 1 : record.size;
  if (range) {
    ctx.status = 206;
    ctx.set('Content-Range', contentRange(range, record.size));
  } else ctx.status = 200;
  ctx.length = length;
  if (body === undefined) {
    if (empty && !headOnly) ctx.body = '';
    return;
  }
  services.metrics?.s3BytesOut.inc(length);
  if (body instanceof Uint8Array) {
    ctx.body = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return;
  }
  // A body that fails at once (a missing blob, a replica gone) is still answered as an S3 error.
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  const first = await chunks.next();
  // From here the body is written by hand (sendBody): a failure half-way cuts the connection,
  // and read buffers go back to the store once the socket has taken them.
  ctx.respond = false;
  await sendBody(ctx.res, resumeAfter(first, chunks), isRecycling(body) ? (chunk) => body.recycle(chunk) : undefined, services.config.s3.idleTimeoutMs, services);
}

/** Lookups retried when the version found is overwritten before its body could be opened. */
const ATTEMPTS = 3;

/**
 * Finds the newest version, checks the conditions and the range, and opens its body. When a
 * concurrent PUT replaces that version on every replica first, the newer one is looked up: it is
 * as correct an answer, and better than a 503.
 */
async function locate(call: S3Call, bucket: string, key: string, headOnly: boolean, partNumber: number | undefined) {
  const { coordinator } = call.services;
  for (let attempt = 1; ; attempt++) {
    const found = await coordinator.headObject(bucket, key, headOnly ? 'HeadObject' : 'GetObject');
    const { record } = found;
    const outcome = evaluateConditions(
      { ifMatch: header(call, 'if-match'), ifNoneMatch: header(call, 'if-none-match'), ifModifiedSince: header(call, 'if-modified-since'), ifUnmodifiedSince: header(call, 'if-unmodified-since') },
      record.etag,
      lastModifiedOf(record),
    );
    if (outcome === 'precondition-failed') throw new S3Error('PreconditionFailed', undefined, { extra: { Condition: 'If-Match' } });
    const selected = partNumber === undefined ? undefined : partSelection(record, partNumber);
    const range = selected ? (selected.kind === 'range' ? selected.range : undefined) : resolveRange(header(call, 'range'), record.size);
    const empty = selected?.kind === 'empty';
    if (headOnly || outcome === 'not-modified' || empty) return { found, outcome, range, empty, body: undefined };
    try {
      return { found, outcome, range, empty, body: await coordinator.openBody(found, range) };
    } catch (err) {
      if (attempt < ATTEMPTS && err instanceof RingstoreError && err.details['superseded'] === true) continue;
      throw err;
    }
  }
}
