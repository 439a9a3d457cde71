/**
 * PutObject: the body streams from the client through the verifying pipeline straight to the
 * replicas; nothing is acknowledged unless the body verified and W replicas stored it.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
 */
import type { Readable } from 'node:stream';
import type { ObjectMeta } from '../../store/types.js';
import type { S3Call } from '../context.js';
import { S3Error } from '../errors.js';
import { quoteEtag } from '../xml.js';
import { verifiedStream } from '../body/request-stream.js';
import { bodyPipelineOf } from './respond.js';

/** Headers stored with an object and returned on GET/HEAD, besides Content-Type. */
export const STORED_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'] as const;

/** The `x-amz-meta-*` headers of a request, lower-cased names without the prefix. */
export function userMetaOf(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const meta: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const v = Array.isArray(value) ? value.join(',') : value;
    meta[name.slice('x-amz-meta-'.length)] = v;
    bytes += name.length - 'x-amz-meta-'.length + v.length;
  }
  // AWS limits user-defined metadata to 2 KB.
  if (bytes > 2048) throw new S3Error('MetadataTooLarge', undefined, { extra: { Size: String(bytes), MaxSizeAllowed: '2048' } });
  return meta;
}

/** The standard headers to keep with the object (Cache-Control, Content-Disposition, …). */
export function storedHeadersOf(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const value = headers[name];
    if (typeof value !== 'string') continue;
    // aws-chunked is transfer framing, not the object's encoding.
    const kept =
      name === 'content-encoding'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s && s !== 'aws-chunked')
            .join(', ')
        : value;
    if (kept) out[name] = kept;
  }
  return out;
}

/** PUT /bucket/key */
export async function putObject(call: S3Call, bucket: string, key: string): Promise<void> {
  const { ctx, services } = call;
  // The version is the request's arrival time (S3: the latest timestamp wins), not its body's end.
  const version = await services.coordinator.arrivalVersion();
  const headers = ctx.req.headers;
  await services.buckets.assertExists(bucket);
  // Every header is validated before the body is touched: a refused request reads none of it.
  const described = objectHeadersOf(headers);
  const body = verifiedBodyOf(call, services.config.s3.maxObjectSize);
  const meta = await services.coordinator.putObject({ bucket, key, ...described, body: body.body, seal: body.seal, version });
  answerStored(call, meta);
}

/** Most bytes of headers kept with an object (names and values), as S3 limits a PUT's headers to 8 KB. */
export const MAX_STORED_HEADER_BYTES = 8 * 1024;

/** Everything a PUT or CreateMultipartUpload keeps from its headers, within S3's limits. */
export interface ObjectHeaders {
  readonly contentType: string;
  readonly userMeta: Record<string, string>;
  readonly headers: Record<string, string>;
}

/**
 * The headers an object keeps: Content-Type, user metadata (≤ 2 KB → MetadataTooLarge) and
 * the standard ones, ≤ 8 KiB in all (→ RequestHeaderSectionTooLarge). The cap matters beyond
 * S3 fidelity: every replica's record, and every RPC answer carrying it, must stay small.
 */
export function objectHeadersOf(headers: Record<string, string | string[] | undefined>): ObjectHeaders {
  const described = { contentType: contentTypeOf(headers), userMeta: userMetaOf(headers), headers: storedHeadersOf(headers) };
  let bytes = Buffer.byteLength(described.contentType);
  for (const map of [described.userMeta, described.headers]) {
    for (const [name, value] of Object.entries(map)) bytes += name.length + Buffer.byteLength(value);
  }
  if (bytes > MAX_STORED_HEADER_BYTES) throw new S3Error('RequestHeaderSectionTooLarge', `The headers kept with an object may be at most ${MAX_STORED_HEADER_BYTES} bytes; these are ${bytes}.`);
  return described;
}

/** The Content-Type to store: as sent, or S3's default. */
export function contentTypeOf(headers: Record<string, string | string[] | undefined>): string {
  const value = headers['content-type'];
  return typeof value === 'string' ? value : 'binary/octet-stream';
}

/** A request body that is verified as it is read, and the `seal` that yields its ETag and checksums at the end. */
export interface VerifiedBody {
  /**
   * Iterating it pipes the request through the verifying transforms; nothing is piped before
   * (a handler that fails first leaves the body unread). A verification failure or a client
   * that goes away makes the iteration throw.
   */
  readonly body: AsyncIterable<Uint8Array>;
  readonly seal: () => { etag: string; checksums: Record<string, string> };
}

/**
 * The request body, verified on the way. MissingContentLength (neither a length nor chunked
 * framing) and every other header error are thrown here, before any of the body is read.
 */
export function verifiedBodyOf(call: S3Call, maxLength: number): VerifiedBody {
  const pipeline = bodyPipelineOf(call, maxLength);
  if (pipeline.declaredLength === undefined && call.ctx.req.headers['transfer-encoding'] === undefined) throw new S3Error('MissingContentLength');
  let started = false;
  return {
    body: {
      [Symbol.asyncIterator]: () => {
        if (started) throw new Error('a request body can be read only once');
        started = true;
        return verifiedStream(call.ctx.req, pipeline.transforms, call.services.config.s3.idleTimeoutMs, call.services)[Symbol.asyncIterator]();
      },
    },
    seal: () => {
      const verified = pipeline.result();
      call.services.metrics?.s3BytesIn.inc(verified.size);
      return { etag: verified.md5Hex, checksums: verified.checksums as Record<string, string> };
    },
  };
}

/** Answers a stored object or part: its ETag and the checksums it was verified with. */
export function answerStored(call: S3Call, meta: Pick<ObjectMeta, 'etag' | 'checksums'>): void {
  call.ctx.set('ETag', quoteEtag(meta.etag));
  for (const [alg, value] of Object.entries(meta.checksums ?? {})) call.ctx.set(`x-amz-checksum-${alg.toLowerCase()}`, value);
  call.ctx.status = 200;
  call.ctx.body = '';
}
