/**
 * Small helpers shared by the handlers: XML answers, reading a small verified request body,
 * and the object headers of GET/HEAD/PUT answers.
 */
import { validateHeaderValue } from 'node:http';
import type { ObjectRecord } from '../../store/types.js';
import { hlcWallMs } from '../../util/clock.js';
import type { S3Call } from '../context.js';
import { S3Error } from '../errors.js';
import { buildBodyPipeline, type BodyPipeline } from '../body/pipeline.js';
import { verifiedStream } from '../body/request-stream.js';
import { quoteEtag } from '../xml.js';

/** Answers 200 with an S3 XML document. */
export function sendXml(call: S3Call, xml: string, status = 200): void {
  call.ctx.status = status;
  call.ctx.type = 'application/xml';
  call.ctx.body = xml;
}

/** The verifying body pipeline of this request (aws-chunked decoding, signed hash, checksums). */
export function bodyPipelineOf(call: S3Call, maxLength: number): BodyPipeline {
  return buildBodyPipeline(call.ctx.req.headers, call.auth, { maxLength });
}

/**
 * Reads and verifies a small request body (XML documents), refusing more than `limit` bytes.
 * A failure leaves the request itself alone (stream.pipeline would destroy it, and with it the
 * socket), so the error is still answered.
 */
export async function readSmallBody(call: S3Call, limit: number): Promise<Buffer> {
  const body = bodyPipelineOf(call, limit);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of verifiedStream(call.ctx.req, body.transforms, call.services.config.s3.idleTimeoutMs, call.services)) chunks.push(chunk as Buffer);
  } catch (err) {
    if (err instanceof S3Error && err.code === 'EntityTooLarge') throw new S3Error('MalformedXML', 'The request body is too large.');
    throw err;
  }
  return Buffer.concat(chunks);
}

/** Last-Modified of a record: the wall-clock part of its version. */
export function lastModifiedOf(record: ObjectRecord): number {
  return hlcWallMs(record.version.hlc);
}

/** Sets the headers describing an object (GET, HEAD). */
export function setObjectHeaders(call: S3Call, record: ObjectRecord, withChecksums: boolean): void {
  const { ctx } = call;
  ctx.set('ETag', quoteEtag(record.etag));
  ctx.set('Last-Modified', new Date(lastModifiedOf(record)).toUTCString());
  ctx.set('Accept-Ranges', 'bytes');
  // Set raw: koa's ctx.type setter would turn `text/x-foo` into `text/x-foo; charset=utf-8`.
  ctx.set('Content-Type', record.contentType || 'binary/octet-stream');
  for (const [name, value] of Object.entries(record.userMeta)) ctx.set(`x-amz-meta-${name}`, value);
  if (withChecksums && record.checksums) {
    for (const [alg, value] of Object.entries(record.checksums)) ctx.set(`x-amz-checksum-${alg.toLowerCase()}`, value);
  }
}

/** Response header overrides a signed GET may ask for (response-content-type, …). */
const RESPONSE_OVERRIDES: ReadonlyArray<[string, string]> = [
  ['response-content-type', 'Content-Type'],
  ['response-content-language', 'Content-Language'],
  ['response-expires', 'Expires'],
  ['response-cache-control', 'Cache-Control'],
  ['response-content-disposition', 'Content-Disposition'],
  ['response-content-encoding', 'Content-Encoding'],
];

/**
 * The response-* query overrides of a GET, validated as HTTP header values: one that cannot be
 * sent (`text/€`, a control character) is InvalidArgument before anything is opened.
 */
export function responseOverridesOf(call: S3Call): Array<[string, string]> {
  const overrides: Array<[string, string]> = [];
  for (const [param, header] of RESPONSE_OVERRIDES) {
    const value = call.ctx.query[param];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new S3Error('InvalidArgument', `${param} may be given once.`, { extra: { ArgumentName: param } });
    try {
      validateHeaderValue(header, value);
    } catch {
      throw new S3Error('InvalidArgument', `${param} is not a valid HTTP header value.`, { extra: { ArgumentName: param } });
    }
    overrides.push([header, value]);
  }
  return overrides;
}
