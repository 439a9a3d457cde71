/**
 * The RPC server: a koa app exposing one node's `ReplicaApi` under `/rpc/v1/…`.
 *
 * Routes (all authenticated with `x-ringstore-auth`, see auth.ts; the signature covers the body,
 * and each signature is admitted once):
 * - `POST /rpc/v1/stage`   raw body streamed into `replica.stage`, ending with a 16-byte MAC that
 *                          must match before the stage id is handed out → 200 JSON StagedBody
 * - `POST /rpc/v1/commits` framed: JSON `{commits: [WireCommit]}` (up to 64), then the inline bodies
 *                          → 200 JSON `{answers}`, one per commit (its CommitResult or its error); see wire.ts
 * - `POST /rpc/v1/discard?id=` → 204
 * - `POST /rpc/v1/heads`   JSON `{queries: [{bucket, key, inlineUpTo?}]}` (up to 64) → 200, one answer
 *                          per query (record and inline body, absent, or that key's error; see wire.ts)
 * - `GET  /rpc/v1/read?bucket=&key=&hlc=&node=[&start=&end=]` → 200 raw stream, chunked, with
 *                          `x-ringstore-length` (and `x-ringstore-record` for full reads). A stream
 *                          error aborts the connection, so the client never mistakes a cut body for a whole one.
 * - `POST /rpc/v1/list?bucket=`  JSON ListOptions body → 200 JSON `{records}`
 * - `GET  /rpc/v1/ping` → 200 JSON `{nodeId, time}`
 * Every error is the JSON `{code, message, details}` (wire-errors.ts), never koa's text output.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa from 'koa';
import { Router } from '@koa/router';
import type { ObjectRecord, ReplicaApi } from '../store/types.js';
import { compareVersions, systemClock, type Clock } from '../util/clock.js';
import { RingstoreError, describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { isRecycling, resumeAfter, sendBody } from '../util/send-body.js';
import { AUTH_HEADER, ReplayCache, STREAMED_BODY, STREAM_MAC_BYTES, bodyDigest, parseRpcHeader, streamMac, streamMacMatches, verifyRpc, type RpcCaller } from './auth.js';
import {
  MAX_JSON_REQUEST_BYTES,
  RPC_HEADERS,
  RPC_PATHS,
  MAX_INLINE_COMMIT_BYTES,
  decodeCommitsRequest,
  decodeReadQuery,
  encodeCommitsResponse,
  encodeHeadsResponse,
  encodeJsonHeader,
  parseHeadsRequest,
  parseListOptions,
  rangeLength,
  requireParam,
  toWireRecord,
} from './wire.js';
import { errorToWire, type WireError } from './wire-errors.js';

/** Options of the RPC app. */
export interface RpcAppOptions {
  /** The replica this node serves (its LocalStore). */
  readonly replica: ReplicaApi;
  /** The shared cluster secret. */
  readonly secret: string;
  /** This node's id (answered by ping). */
  readonly nodeId: string;
  readonly logger: Logger;
  /** Wall clock for auth skew checks and ping; the system clock by default. */
  readonly clock?: Clock;
  /** Accepted clock skew of signed requests; 60 s by default. */
  readonly maxSkewMs?: number;
  /** A read stream the caller takes nothing of for this long (ms) is cut. Default: never. */
  readonly idleTimeoutMs?: number;
  /**
   * Mounts more routes (admin, cluster) on a router of their own, behind the same JSON error
   * handling. They are NOT covered by the RPC auth; use `createRpcAuth` on routes that need it.
   */
  readonly extraRoutes?: (router: Router) => void;
}

/** Options of the RPC auth middleware. */
export interface RpcAuthOptions {
  readonly secret: string;
  readonly clock?: Clock;
  readonly maxSkewMs?: number;
  /** The signatures already admitted; share one between all routes of a port. A fresh one by default. */
  readonly replay?: ReplayCache;
  /** Largest request body read and checked against the signature. Default 4 KiB. */
  readonly bodyLimit?: number;
  /**
   * The body is streamed to the route (stage): the signature covers `STREAMED_BODY` and the route
   * itself checks the trailing MAC (`verifiedStream`) and then calls `ctx.state['rpcAdmit']()`.
   */
  readonly streamed?: boolean;
}

/**
 * Middleware that admits only requests signed with the cluster secret, over the body received,
 * and not seen before (RpcUnauthorized → 401 otherwise). It records the caller (`RpcCaller`) in
 * `ctx.state['rpcCaller']` and, unless `streamed`, the body it read in `ctx.state['rpcBody']`.
 */
export function createRpcAuth(options: RpcAuthOptions): Koa.Middleware {
  if (options.secret.length === 0) throw new RingstoreError('InvalidArgument', 'rpc secret is empty');
  const clock = options.clock ?? systemClock;
  const replay = options.replay ?? new ReplayCache(options.maxSkewMs === undefined ? {} : { windowMs: options.maxSkewMs });
  const limit = options.bodyLimit ?? 4096;
  return async (ctx, next) => {
    const raw = ctx.req.headers[AUTH_HEADER];
    const header = typeof raw === 'string' ? raw : undefined;
    // Cheap refusals (malformed, stale, already seen) before reading any body.
    const parsed = parseRpcHeader(header, clock.now(), options.maxSkewMs);
    replay.check(parsed.signature, parsed.timestampMs);
    const body = options.streamed === true ? undefined : await readSmallBody(ctx.req, limit);
    const caller = verifyRpc(options.secret, header, {
      method: ctx.method,
      // The raw request target, exactly as the client signed it.
      pathWithQuery: ctx.originalUrl,
      bodyDigest: body === undefined ? STREAMED_BODY : bodyDigest(body),
      nowMs: clock.now(),
      ...(options.maxSkewMs === undefined ? {} : { maxSkewMs: options.maxSkewMs }),
    });
    ctx.state['rpcCaller'] = caller;
    const admit = (): void => replay.admit(caller.signature, caller.timestampMs, clock.now());
    if (body === undefined) {
      ctx.state['rpcAdmit'] = admit;
    } else {
      admit();
      ctx.state['rpcBody'] = body;
    }
    await next();
  };
}

/** The outcome of a `verifiedStream`, known once it ended. */
export interface StreamCheck {
  /** True once the whole body was read and its trailing MAC matched. */
  verified: boolean;
}

/**
 * The body of a streamed request without its trailing MAC, checked as it passes: it fails with
 * RpcUnauthorized at its end (so the consumer never completes) unless the MAC matches.
 */
export async function* verifiedStream(source: AsyncIterable<Uint8Array>, secret: string, caller: RpcCaller, check: StreamCheck): AsyncGenerator<Uint8Array> {
  const mac = streamMac(secret, caller.signature);
  // The last STREAM_MAC_BYTES seen so far: they may be the MAC, so they are held back.
  let tail = Buffer.alloc(0);
  const pass = (bytes: Uint8Array): Uint8Array => {
    mac.update(bytes);
    return bytes;
  };
  for await (const chunk of source) {
    if (chunk.byteLength >= STREAM_MAC_BYTES) {
      if (tail.length > 0) yield pass(tail);
      const cut = chunk.byteLength - STREAM_MAC_BYTES;
      tail = Buffer.from(chunk.subarray(cut));
      if (cut > 0) yield pass(chunk.subarray(0, cut));
    } else {
      const joined = Buffer.concat([tail, chunk]);
      const cut = Math.max(0, joined.length - STREAM_MAC_BYTES);
      tail = joined.subarray(cut);
      if (cut > 0) yield pass(joined.subarray(0, cut));
    }
  }
  if (!streamMacMatches(mac.digest(), tail)) {
    throw new RingstoreError('RpcUnauthorized', 'streamed body does not match its trailing MAC', { nodeId: caller.nodeId });
  }
  check.verified = true;
}

/** An AbortSignal that fires when the caller goes away before the response is complete. */
function requestSignal(res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) ac.abort(new RingstoreError('RpcProtocol', 'rpc caller closed the connection'));
  });
  return ac.signal;
}

function queryOf(querystring: string): URLSearchParams {
  return new URLSearchParams(querystring);
}

/**
 * Reads a small request body into one Buffer. Fails with RpcProtocol above `limit` and with
 * IncompleteBody when `exact` is given and the byte count differs.
 */
function readSmallBody(req: IncomingMessage, limit: number, exact?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Discard the rest so the connection stays usable for the error answer and after.
        req.resume();
        reject(new RingstoreError('RpcProtocol', `request body exceeds ${limit} bytes`, { limit }));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      if (exact !== undefined && size !== exact) {
        const message = `request body has ${size} bytes, expected ${exact}`;
        reject(new RingstoreError('IncompleteBody', message, { size, exact }));
        return;
      }
      resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** One item of a batch answer: the value, or the error it failed with, as it goes on the wire. */
function orWireError<T>(pending: Promise<T>): Promise<T | { status: number; error: WireError }> {
  return pending.then(
    (value) => value,
    (err: unknown) => {
      const wire = errorToWire(err);
      return { status: wire.status, error: wire.body };
    },
  );
}

/** Passes chunks through, failing when the total differs from `expected` (so the response is aborted). */
function enforceLength(expected: number | undefined) {
  return async function* (source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    let n = 0;
    for await (const chunk of source) {
      n += chunk.byteLength;
      if (expected !== undefined && n > expected) {
        throw new RingstoreError('RpcProtocol', `replica produced more than the expected ${expected} bytes`);
      }
      yield chunk;
    }
    if (expected !== undefined && n !== expected) {
      throw new RingstoreError('IncompleteBody', `replica produced ${n} bytes, expected ${expected}`, {
        received: n,
        expected,
      });
    }
  };
}

/** The `/rpc/v1/*` routes over `replica`, each behind the RPC auth. */
export function createRpcRouter(options: RpcAppOptions): Router {
  const { replica } = options;
  const log = options.logger;
  const clock = options.clock ?? systemClock;
  // One cache for every route: a signature admitted on one path is refused on all of them.
  const replay = new ReplayCache(options.maxSkewMs === undefined ? {} : { windowMs: options.maxSkewMs });
  const authOptions = {
    secret: options.secret,
    replay,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.maxSkewMs === undefined ? {} : { maxSkewMs: options.maxSkewMs }),
  };
  const auth = createRpcAuth(authOptions);
  const authJson = createRpcAuth({ ...authOptions, bodyLimit: MAX_JSON_REQUEST_BYTES });
  const authCommits = createRpcAuth({ ...authOptions, bodyLimit: 4 + MAX_JSON_REQUEST_BYTES + MAX_INLINE_COMMIT_BYTES });
  const authStreamed = createRpcAuth({ ...authOptions, streamed: true });
  const bodyOf = (ctx: Koa.Context): Buffer => ctx.state['rpcBody'] as Buffer;
  const jsonOf = (ctx: Koa.Context): unknown => {
    try {
      return JSON.parse(bodyOf(ctx).toString('utf8')) as unknown;
    } catch {
      throw new RingstoreError('RpcProtocol', 'request body is not valid JSON');
    }
  };
  // Case-sensitive and strict, so that no spelling of a path can reach a handler another way.
  const router = new Router({ sensitive: true, strict: true });

  router.post(RPC_PATHS.stage, authStreamed, async (ctx) => {
    const signal = requestSignal(ctx.res);
    const caller = ctx.state['rpcCaller'] as RpcCaller;
    // A store that stops reading early (it failed) must not destroy the socket with the request
    // stream: the caller still needs the error answer. jsonErrors drains what is left.
    const raw = ctx.req.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Uint8Array>;
    const check: StreamCheck = { verified: false };
    const staged = await replica.stage(verifiedStream(raw, options.secret, caller, check), signal);
    // Belt and braces: a store that stopped reading before the end never saw the MAC either.
    try {
      if (!check.verified) throw new RingstoreError('RpcUnauthorized', 'streamed body ended before its trailing MAC was checked');
      (ctx.state['rpcAdmit'] as () => void)();
    } catch (err) {
      await replica.discard(staged.id, signal);
      throw err;
    }
    ctx.body = { id: staged.id, size: staged.size, crc32: staged.crc32 };
  });

  router.post(RPC_PATHS.commits, authCommits, async (ctx) => {
    const signal = requestSignal(ctx.res);
    const commits = decodeCommitsRequest(bodyOf(ctx));
    // Each commit is answered on its own (they share the store's group commit), so one
    // refused write does not fail its neighbours.
    const answers = await Promise.all(commits.map((c) => orWireError(replica.commit(c.meta, c.body, signal))));
    ctx.type = 'application/json';
    ctx.body = encodeCommitsResponse(answers);
  });

  router.post(RPC_PATHS.discard, auth, async (ctx) => {
    const id = requireParam(queryOf(ctx.querystring), 'id');
    await replica.discard(id, requestSignal(ctx.res));
    ctx.status = 204;
  });

  router.post(RPC_PATHS.heads, authJson, async (ctx) => {
    const queries = parseHeadsRequest(jsonOf(ctx));
    // No cancellation signal: a head is one metadata lookup, cheaper than the signal itself.
    // Each query is answered on its own, so one failing key does not fail its neighbours.
    const answers = await Promise.all(queries.map((q) => orWireError(replica.head(q.bucket, q.key, q.inlineUpTo === undefined ? {} : { inlineUpTo: q.inlineUpTo }))));
    ctx.type = 'application/octet-stream';
    ctx.body = encodeHeadsResponse(answers);
  });

  router.get(RPC_PATHS.read, auth, async (ctx) => {
    const signal = requestSignal(ctx.res);
    const q = decodeReadQuery(queryOf(ctx.querystring));
    let expected: number | undefined;
    let record: ObjectRecord | undefined;
    if (q.range !== undefined) {
      expected = rangeLength(q.range);
    } else {
      // One metadata lookup tells the client how many bytes a whole read must deliver.
      const head = await replica.head(q.bucket, q.key, {}, signal);
      if (head !== undefined && compareVersions(head.record.version, q.version) === 0) {
        record = head.record;
        expected = head.record.size;
      }
    }
    const source = await replica.read(q.bucket, q.key, q.version, q.range, signal);
    // A store that ignores the signal must still not outlive a caller that gave up.
    signal.addEventListener('abort', () => source.destroy(), { once: true });
    // Wait for the first chunk before committing to a 200: a body that fails at once (a
    // checksum checked up front, a missing blob) is answered as a proper error.
    const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
    const first = await chunks.next();

    // koa cannot abort a response whose stream fails midway (it only logs); write it ourselves.
    ctx.respond = false;
    const res = ctx.res;
    res.statusCode = 200;
    res.setHeader('content-type', 'application/octet-stream');
    if (expected !== undefined) res.setHeader(RPC_HEADERS.bodyLength, String(expected));
    if (record !== undefined) res.setHeader(RPC_HEADERS.record, encodeJsonHeader(toWireRecord(record)));
    // No content-length: with chunked framing the final terminator is only sent after the source
    // ended cleanly, so even an error after the last byte (a failed checksum) reaches the client.
    try {
      await sendBody(res, enforceLength(expected)(resumeAfter(first, chunks)), isRecycling(source) ? (chunk) => source.recycle(chunk) : undefined, options.idleTimeoutMs);
    } catch (err) {
      // A caller that hangs up mid-read is routine (its own client went away); a failing source is not.
      if (signal.aborted) log.debug({ err: describeError(err) }, 'rpc read abandoned by the caller');
      else log.warn({ err: describeError(err), path: RPC_PATHS.read }, 'rpc read stream failed; connection aborted');
      res.destroy();
      source.destroy();
    }
  });

  router.post(RPC_PATHS.list, authJson, async (ctx) => {
    const bucket = requireParam(queryOf(ctx.querystring), 'bucket');
    const listOptions = parseListOptions(jsonOf(ctx));
    const records = await replica.list(bucket, listOptions, requestSignal(ctx.res));
    ctx.body = { records: records.map(toWireRecord) };
  });

  router.get(RPC_PATHS.ping, auth, (ctx) => {
    ctx.body = { nodeId: options.nodeId, time: clock.now() };
  });

  return router;
}

/** Outermost middleware: every error (and an unmatched route) becomes the JSON error body. */
function jsonErrors(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.respond !== false && ctx.status === 404 && ctx.body == null) {
        ctx.status = 404;
        ctx.body = { code: 'RpcProtocol', message: `no route ${ctx.method} ${ctx.path}`, details: {} };
      }
    } catch (err) {
      const wire = errorToWire(err);
      const fields = {
        method: ctx.method,
        path: ctx.path,
        status: wire.status,
        code: wire.body.code,
        err: describeError(err),
      };
      if (wire.status >= 500) log.warn(fields, 'rpc request failed');
      else if (wire.status === 401) log.warn(fields, 'rpc request rejected');
      else log.debug(fields, 'rpc request failed');
      if (ctx.headerSent || !ctx.writable) {
        ctx.res.destroy();
        return;
      }
      if (!ctx.req.complete) {
        // The request body was not read to the end (a failed stage or commit): discard the rest
        // and close the connection after the answer, as its framing cannot be trusted for reuse.
        ctx.set('connection', 'close');
        ctx.req.resume();
      }
      ctx.status = wire.status;
      ctx.body = wire.body;
    }
  };
}

/** The RPC koa app: JSON errors, the `/rpc/v1` routes, then any `extraRoutes`. */
export function createRpcApp(options: RpcAppOptions): Koa {
  if (options.secret.length === 0) throw new RingstoreError('InvalidArgument', 'rpc secret is empty');
  const log = options.logger.child({ component: 'rpc-server' });
  const app = new Koa({ proxy: false });
  // A listener replaces koa's default stderr logging of errors it sees outside our middleware.
  app.on('error', (err: unknown) => log.debug({ err: describeError(err) }, 'koa error'));
  app.use(jsonErrors(log));
  const router = createRpcRouter({ ...options, logger: log });
  app.use(router.routes());
  if (options.extraRoutes !== undefined) {
    const extra = new Router();
    options.extraRoutes(extra);
    app.use(extra.routes());
  }
  return app;
}
