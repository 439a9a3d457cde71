/**
 * The S3 gateway: a koa app that gives every request an id, authenticates it (SigV4), routes
 * it to an AWS-named operation and runs its handler. Every failure leaves as S3 error XML
 * from the one table in errors.ts; unknown failures are InternalError plus a log line.
 */
import Koa from 'koa';
import type { Context } from 'koa';
import type { Readable } from 'node:stream';
import { describeError } from '../util/errors.js';
import type { S3Call, S3Services } from './context.js';
import { S3Error, errorXml, toS3Error } from './errors.js';
import { bucketFromHost, routeS3, type S3Op } from './router.js';
import { authenticate } from './sigv4/authenticate.js';
import * as bucket from './handlers/bucket.js';
import { getObject } from './handlers/object-get.js';
import { putObject } from './handlers/object-put.js';
import { copyObject, uploadPartCopy } from './handlers/object-copy.js';
import { getObjectTagging } from './handlers/object-tagging.js';
import { deleteObject, deleteObjects } from './handlers/object-delete.js';
import { listObjectsV1, listObjectsV2 } from './handlers/list.js';
import * as multipart from './handlers/multipart.js';
import { getAcl, putAcl } from './handlers/acl.js';
import { checkAclHeaders } from './acl.js';
import { refuseConditionalWrite } from './write-conditions.js';
import { authorizeOp, resolveCredentials } from './access.js';
import { claimedAccessKeyId } from './sigv4/access-key-id.js';

/** Runs the handler of one routed operation. */
async function dispatch(call: S3Call, op: S3Op): Promise<void> {
  switch (op.op) {
    case 'ListBuckets':
      return bucket.listBuckets(call, op);
    case 'CreateBucket':
      return bucket.createBucket(call, op.bucket);
    case 'HeadBucket':
      return bucket.headBucket(call, op.bucket);
    case 'DeleteBucket':
      return bucket.deleteBucket(call, op.bucket);
    case 'GetBucketLocation':
      return bucket.getBucketLocation(call, op.bucket);
    case 'GetBucketVersioning':
      return bucket.getBucketVersioning(call, op.bucket);
    case 'ListObjectsV2':
      return listObjectsV2(call, op);
    case 'ListObjects':
      return listObjectsV1(call, op);
    case 'PutObject':
      return putObject(call, op.bucket, op.key);
    case 'CopyObject':
      return copyObject(call, op);
    case 'GetObjectTagging':
      return getObjectTagging(call, op.bucket, op.key);
    case 'GetObject':
    case 'HeadObject':
      return getObject(call, op.bucket, op.key, op.op === 'HeadObject', op.partNumber);
    case 'DeleteObject':
      return deleteObject(call, op.bucket, op.key);
    case 'DeleteObjects':
      return deleteObjects(call, op.bucket);
    case 'CreateMultipartUpload':
      return multipart.createMultipartUpload(call, op);
    case 'UploadPart':
      return multipart.uploadPart(call, op);
    case 'UploadPartCopy':
      return uploadPartCopy(call, op);
    case 'CompleteMultipartUpload':
      return multipart.completeMultipartUpload(call, op);
    case 'AbortMultipartUpload':
      return multipart.abortMultipartUpload(call, op);
    case 'ListParts':
      return multipart.listParts(call, op);
    case 'ListMultipartUploads':
      return multipart.listMultipartUploads(call, op);
    case 'GetBucketAcl':
    case 'PutBucketAcl':
      return op.op === 'GetBucketAcl' ? getAcl(call, op.bucket) : putAcl(call, op.bucket);
    case 'GetObjectAcl':
    case 'PutObjectAcl':
      return op.op === 'GetObjectAcl' ? getAcl(call, op.bucket, op.key) : putAcl(call, op.bucket, op.key);
    case 'Unsupported':
      throw new S3Error('NotImplemented', op.reason);
    default: {
      // Every routed operation has a case: a new one without a handler fails to compile here.
      const unhandled: never = op;
      throw new S3Error('NotImplemented', `${(unhandled as S3Op).op} is not implemented by ringstore yet`);
    }
  }
}

function isHealthProbe(ctx: Context, rawQuery: string): boolean {
  return (ctx.method === 'GET' || ctx.method === 'HEAD') && (ctx.path === '/health' || ctx.path === '/ready') && ctx.get('authorization') === '' && !rawQuery.includes('X-Amz-Signature');
}

/** Builds the S3 koa app of a node. */
export function createS3App(services: S3Services): Koa {
  const app = new Koa();
  const { config, logger, metrics, random, clock } = services;
  // Unique per process start (random prefix) and cheap per request (a counter), unlike random bytes.
  const idPrefix = random.hex(4).toUpperCase();
  let idCounter = 0;
  const nextRequestId = (): string => idPrefix + (idCounter++).toString(16).toUpperCase().padStart(8, '0');
  // Requests being served (until their response is done). Beyond the cap a request is answered
  // 503 SlowDown at once, before any work: queueing it would only hold its connection and
  // memory, and SDKs retry SlowDown with backoff.
  const maxInFlight = config.s3.maxConcurrentRequests;
  let inFlight = 0;
  const release = (): void => {
    inFlight--;
  };
  // Errors are answered by the middleware below; this only keeps koa from printing to stderr.
  app.on('error', (err: unknown) => logger.debug({ err: describeError(err) }, 'response stream error'));

  app.use(async (ctx) => {
    const started = process.hrtime.bigint();
    const requestId = nextRequestId();
    ctx.set('x-amz-request-id', requestId);
    ctx.set('x-amz-id-2', requestId);
    ctx.set('Server', 'ringstore');
    const url = ctx.req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);

    if (isHealthProbe(ctx, rawQuery)) {
      const state = ctx.path === '/health' ? { ready: true, reasons: [] } : services.health.readiness();
      ctx.status = state.ready ? 200 : 503;
      ctx.type = 'text/plain';
      ctx.body = state.ready ? 'ok\n' : `not ready\n${state.reasons.map((r) => `${r}\n`).join('')}`;
      return;
    }

    let opName = 'Unknown';
    // Virtual-hosted style: the bucket named by the Host (the router and SigV2 both need it).
    const hostBucket = bucketFromHost(ctx.get('host') || undefined, config.s3.rootDomain);
    const log = logger.child({ reqId: requestId });
    // Registered first: a streamed body is sent inside the handler, and may be done before it returns.
    ctx.res.once('close', () => metrics?.s3RequestDuration.observe({ op: opName }, Number(process.hrtime.bigint() - started) / 1e9));
    const admitted = inFlight < maxInFlight;
    if (admitted) {
      inFlight++;
      ctx.res.once('close', release);
    }
    try {
      if (!admitted) throw new S3Error('SlowDown', `This node is serving its limit of ${maxInFlight} concurrent requests; please retry.`);
      // The root key from config, or a stored key (read before the signature can be checked).
      const resolved = await resolveCredentials(services, claimedAccessKeyId(ctx.req.headers, rawQuery));
      const auth = authenticate({ method: ctx.method, path: rawPath, query: rawQuery, headers: ctx.req.headers }, resolved.lookup, clock.now(), config.s3, hostBucket);
      const op = routeS3({ method: ctx.method, path: rawPath, query: new URLSearchParams(rawQuery), headers: ctx.req.headers as Record<string, string | undefined>, rootDomain: config.s3.rootDomain });
      opName = op.op === 'Unsupported' ? op.operation : op.op;
      const identity = resolved.identity(auth.accessKeyId);
      checkAclHeaders(op.op, ctx.req.headers);
      refuseConditionalWrite(op.op, ctx.req.headers);
      await authorizeOp(services, identity, op);
      await dispatch({ ctx, requestId, auth, identity, log, services }, op);
      metrics?.s3Requests.inc({ op: opName, code: 'OK' });
    } catch (err) {
      const s3err = toS3Error(err);
      const resource = s3err.resource ?? (hostBucket === undefined ? '' : `/${hostBucket}`) + decodePathSafe(rawPath);
      if (ctx.res.headersSent) log.warn({ op: opName, err: describeError(err) }, 'response body failed mid-stream; connection cut');
      else if (s3err.internal) log.warn({ op: opName, code: s3err.code, err: describeError(s3err.cause ?? err) }, 'request failed');
      else log.info({ op: opName, code: s3err.code, status: s3err.status }, 'request rejected');
      metrics?.s3Requests.inc({ op: opName, code: s3err.code });
      ctx.status = s3err.status;
      if (s3err.code === 'InvalidRange' && s3err.extra['ActualObjectSize'] !== undefined) ctx.set('Content-Range', `bytes */${s3err.extra['ActualObjectSize']}`);
      // HEAD errors carry status and headers only. (Assigning a null body would make koa answer 204.)
      if (ctx.method !== 'HEAD') {
        ctx.type = 'application/xml';
        ctx.body = errorXml(s3err, requestId, resource);
      }
      // The body of a failed upload is not read; closing the connection stops the client sending it.
      if (!ctx.req.complete) ctx.set('Connection', 'close');
    }
  });
  return app;
}

function decodePathSafe(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    return rawPath;
  }
}
