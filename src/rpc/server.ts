/**
 * The RPC server: a koa app serving the endpoints of an `EndpointRegistry` (by default one node's
 * `ReplicaApi`, replica-endpoints.ts, and the ping, ping.ts) under `/rpc/v1/…`.
 *
 * Everything that is the same for every endpoint lives here, once: the auth (`x-ringstore-auth`,
 * see auth.ts; the signature covers the body, each signature is admitted once), the request body
 * limit each endpoint declares, the streamed-request MAC check (stage), streamed answers (read:
 * the first chunk before the 200, a later failure aborts the connection), and the error mapping:
 * every error is the JSON `{code, message, details}` (wire-errors.ts), never koa's text output.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa from 'koa';
import { Router } from '@koa/router';
import type { ReplicaApi } from '../store/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { RingstoreError, describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { isRecycling, resumeAfter, sendBody } from '../util/send-body.js';
import { AUTH_HEADER, ReplayCache, STREAMED_BODY, STREAM_MAC_BYTES, bodyDigest, parseRpcHeader, streamMac, streamMacMatches, verifyRpc, type RpcCaller } from './auth.js';
import type { WireResponse } from './endpoint.js';
import { mountPing } from './ping.js';
import { EndpointRegistry, type Mounted } from './registry.js';
import { mountReplica } from './replica-endpoints.js';
import { RPC_HEADERS } from './wire.js';
import { errorToWire } from './wire-errors.js';

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
  /** A streamed answer the caller takes nothing of for this long (ms) is cut. Default: never. */
  readonly idleTimeoutMs?: number;
  /** Mounts more endpoints (a subsystem's, beside its code) next to the replica's and the ping. */
  readonly endpoints?: (registry: EndpointRegistry) => void;
  /**
   * Mounts more routes (admin, cluster) on a router of their own, behind the same JSON error
   * handling. They are NOT covered by the RPC auth; use `createRpcAuth` on routes that need it.
   */
  readonly extraRoutes?: (router: Router) => void;
}

/** Options of `createRpcRouter`. */
export interface RpcRouterOptions {
  readonly registry: EndpointRegistry;
  readonly secret: string;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly maxSkewMs?: number;
  readonly idleTimeoutMs?: number;
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

/** What serving one endpoint needs besides the endpoint. */
interface ServeContext {
  readonly secret: string;
  readonly log: Logger;
  readonly idleTimeoutMs: number | undefined;
}

/**
 * The koa handler of one mounted endpoint: decodes the request with the endpoint's codec (for a
 * streamed request, the body checked against its trailing MAC as it passes), runs the handler,
 * and writes the encoded answer. Errors propagate to `jsonErrors`.
 */
function serveEndpoint<Req, Res>(mounted: Mounted<Req, Res>, serve: ServeContext): Koa.Middleware {
  const { endpoint, handler, refuse } = mounted;
  return async (ctx) => {
    const signal = requestSignal(ctx.res);
    const caller = ctx.state['rpcCaller'] as RpcCaller;
    let check: StreamCheck | undefined;
    let stream: AsyncIterable<Uint8Array> | undefined;
    if (endpoint.stream === 'request') {
      // A handler that stops reading early (it failed) must not destroy the socket with the
      // request stream: the caller still needs the error answer. jsonErrors drains what is left.
      const raw = ctx.req.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Uint8Array>;
      check = { verified: false };
      stream = verifiedStream(raw, serve.secret, caller, check);
    }
    const body = (ctx.state['rpcBody'] as Buffer | undefined) ?? EMPTY;
    const request = endpoint.request.decode({ query: new URLSearchParams(ctx.querystring), body, stream });
    const answer = await handler(request, { signal, caller: caller.nodeId });
    if (check !== undefined) {
      // Belt and braces: a handler that stopped reading before the end never saw the MAC either.
      try {
        if (!check.verified) throw new RingstoreError('RpcUnauthorized', 'streamed body ended before its trailing MAC was checked');
        (ctx.state['rpcAdmit'] as () => void)();
      } catch (err) {
        await refuse?.(answer, signal);
        throw err;
      }
    }
    const wire = endpoint.response.encode(answer);
    if (endpoint.stream === 'response') {
      await sendStream(ctx, endpoint.path, wire, signal, serve);
      return;
    }
    ctx.status = wire.status ?? 200;
    if (wire.headers !== undefined) ctx.set(wire.headers);
    if (wire.contentType !== undefined) ctx.type = wire.contentType;
    if (wire.body !== undefined) ctx.body = wire.body;
  };
}

const EMPTY = Buffer.alloc(0);

/**
 * Writes a streamed answer. The first chunk is awaited before committing to a 200, so a body that
 * fails at once (a checksum checked up front, a missing blob) is answered as a proper error; a
 * stream error later aborts the connection, so the caller never mistakes a cut body for a whole one.
 */
async function sendStream(ctx: Koa.Context, path: string, wire: WireResponse, signal: AbortSignal, serve: ServeContext): Promise<void> {
  const source = wire.stream;
  if (source === undefined) throw new RingstoreError('RpcProtocol', `rpc ${path}: the handler gave no stream`);
  // A store that ignores the signal must still not outlive a caller that gave up.
  signal.addEventListener('abort', () => source.destroy(), { once: true });
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  const first = await chunks.next();

  // koa cannot abort a response whose stream fails midway (it only logs); write it ourselves.
  ctx.respond = false;
  const res = ctx.res;
  res.statusCode = wire.status ?? 200;
  res.setHeader('content-type', wire.contentType ?? 'application/octet-stream');
  if (wire.length !== undefined) res.setHeader(RPC_HEADERS.bodyLength, String(wire.length));
  for (const [name, value] of Object.entries(wire.headers ?? {})) res.setHeader(name, value);
  // No content-length: with chunked framing the final terminator is only sent after the source
  // ended cleanly, so even an error after the last byte (a failed checksum) reaches the client.
  try {
    await sendBody(res, enforceLength(wire.length)(resumeAfter(first, chunks)), isRecycling(source) ? (chunk) => source.recycle(chunk) : undefined, serve.idleTimeoutMs);
  } catch (err) {
    // A caller that hangs up mid-read is routine (its own client went away); a failing source is not.
    if (signal.aborted) serve.log.debug({ err: describeError(err), path }, 'rpc stream abandoned by the caller');
    else serve.log.warn({ err: describeError(err), path }, 'rpc stream failed; connection aborted');
    res.destroy();
    source.destroy();
  }
}

/** The endpoints of `registry` as koa routes, each behind the RPC auth with its endpoint's body limit. */
export function createRpcRouter(options: RpcRouterOptions): Router {
  // One cache for every route: a signature admitted on one path is refused on all of them.
  const replay = new ReplayCache(options.maxSkewMs === undefined ? {} : { windowMs: options.maxSkewMs });
  const authOptions = {
    secret: options.secret,
    replay,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.maxSkewMs === undefined ? {} : { maxSkewMs: options.maxSkewMs }),
  };
  const serve: ServeContext = { secret: options.secret, log: options.logger, idleTimeoutMs: options.idleTimeoutMs };
  // Case-sensitive and strict, so that no spelling of a path can reach a handler another way.
  const router = new Router({ sensitive: true, strict: true });
  for (const mounted of options.registry.all()) {
    const { endpoint } = mounted;
    const auth = createRpcAuth(endpoint.stream === 'request' ? { ...authOptions, streamed: true } : { ...authOptions, bodyLimit: endpoint.bodyLimit });
    const handle = serveEndpoint(mounted, serve);
    if (endpoint.method === 'GET') router.get(endpoint.path, auth, handle);
    else router.post(endpoint.path, auth, handle);
  }
  return router;
}

/** The endpoints a node serves by default: its replica and the ping. */
export function defaultRegistry(options: Pick<RpcAppOptions, 'replica' | 'nodeId' | 'clock'>): EndpointRegistry {
  const registry = mountReplica(new EndpointRegistry(), options.replica);
  return mountPing(registry, options.nodeId, options.clock ?? systemClock);
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

/** The RPC koa app: JSON errors, the `/rpc/v1` endpoints, then any `extraRoutes`. */
export function createRpcApp(options: RpcAppOptions): Koa {
  if (options.secret.length === 0) throw new RingstoreError('InvalidArgument', 'rpc secret is empty');
  const log = options.logger.child({ component: 'rpc-server' });
  const app = new Koa({ proxy: false });
  // A listener replaces koa's default stderr logging of errors it sees outside our middleware.
  app.on('error', (err: unknown) => log.debug({ err: describeError(err) }, 'koa error'));
  app.use(jsonErrors(log));
  const registry = defaultRegistry(options);
  options.endpoints?.(registry);
  const router = createRpcRouter({
    registry,
    secret: options.secret,
    logger: log,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.maxSkewMs === undefined ? {} : { maxSkewMs: options.maxSkewMs }),
    ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
  });
  app.use(router.routes());
  if (options.extraRoutes !== undefined) {
    const extra = new Router();
    options.extraRoutes(extra);
    app.use(extra.routes());
  }
  return app;
}
