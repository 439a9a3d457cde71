/**
 * One peer as the RPC client sees it: its two connection pools, request signing, the per-call
 * deadline and error mapping, and call reporting. `request` carries any declared endpoint
 * (endpoint.ts) over HTTP; `RpcClient.call`, `RemoteReplica` and the ping are thin layers over it.
 */
import type { Readable } from 'node:stream';
import type { Pool } from 'undici';
import type { Clock, Timers } from '../util/clock.js';
import { RingstoreError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { AUTH_HEADER, STREAMED_BODY, bodyDigest, signRpcRequest, streamMac } from './auth.js';
import { CallScope, checkedBody, watchedUpload } from './call.js';
import type { Endpoint, EndpointPool } from './endpoint.js';
import { RPC_HEADERS, withQuery } from './wire.js';
import { errorFromWire } from './wire-errors.js';

/** One finished RPC call, as reported to `observe`. For reads it ends when the headers arrive. */
export interface RpcCallEvent {
  readonly peer: string;
  readonly op: RpcOp;
  readonly seconds: number;
  /** The error code, or `ok`. */
  readonly outcome: string;
}

/** An RPC operation as named in metrics and errors: the endpoint's name. */
export type RpcOp = string;

/**
 * The two connection pools to one peer: streams (endpoints declared with pool 'streams': stage,
 * read) and small calls (everything else). Streams hold their connection for as long as a body
 * flows, so they get a pool of their own: stalled or slow streams never leave heads, commits
 * and pings without a connection.
 */
export interface PeerPools {
  readonly small: Pool;
  readonly stream: Pool;
}

/** An undici response. */
export type RpcResponse = Awaited<ReturnType<Pool['request']>>;

/** What a PeerLink shares with its client. */
export interface PeerLinkShared {
  /** This node's id (the signer). */
  readonly nodeId: string;
  readonly secret: string;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly log: Logger;
  readonly observe: ((event: RpcCallEvent) => void) | undefined;
  /** True once the owning client is closed. */
  readonly isClosed: () => boolean;
}

/** A string header of a response, or undefined. */
export function responseHeader(res: RpcResponse, name: string): string | undefined {
  const v = res.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** Reads a JSON answer body (RpcProtocol when it is not JSON). */
export async function responseJson(res: RpcResponse): Promise<unknown> {
  const text = await res.body.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RingstoreError('RpcProtocol', 'rpc answer is not valid JSON');
  }
}

/** The transport to one peer at one address. */
export class PeerLink {
  readonly peer: string;
  readonly address: string;
  readonly #pools: PeerPools;
  readonly #shared: PeerLinkShared;

  constructor(peer: string, address: string, pools: PeerPools, shared: PeerLinkShared) {
    this.peer = peer;
    this.address = address;
    this.#pools = pools;
    this.#shared = shared;
  }

  /** Per-call timeout in ms. */
  get timeoutMs(): number {
    return this.#shared.timeoutMs;
  }

  /** A fresh deadline scope for one call. */
  scope(op: RpcOp, signal: AbortSignal | undefined): CallScope {
    return new CallScope(this.peer, this.address, op, this.#shared.timeoutMs, signal, this.#shared.timers);
  }

  /**
   * Sends one signed request under `scope` on the pool its operation belongs to; the response
   * body is attached to the scope. A small `body` is covered by the signature; a `stream` is
   * sent followed by its trailing MAC. Fails as soon as the scope aborts, even while the request
   * still waits for a free connection: undici keeps an aborted request queued until a
   * connection takes it (and only then fails it), which could be never.
   */
  async send(scope: CallScope, pool: EndpointPool, method: 'GET' | 'POST', path: string, extra: SendExtra = {}): Promise<RpcResponse> {
    if (this.#shared.isClosed()) {
      throw new RingstoreError('PeerUnavailable', 'rpc client is closed', { peer: this.peer });
    }
    const secret = this.#shared.secret;
    const signed = signRpcRequest(secret, {
      method,
      pathWithQuery: path,
      timestampMs: this.#shared.clock.now(),
      nodeId: this.#shared.nodeId,
      bodyDigest: extra.stream === undefined ? bodyDigest(extra.body) : STREAMED_BODY,
    });
    const body = extra.stream === undefined ? extra.body : withTrailingMac(extra.stream, secret, signed.signature);
    const pending = (pool === 'streams' ? this.#pools.stream : this.#pools.small).request({
      method,
      path,
      headers: { ...extra.headers, [AUTH_HEADER]: signed.header },
      // undici streams any async iterable body (chunked); its typings only list Readable.
      ...(body === undefined ? {} : { body: body as string | Buffer | Readable }),
      signal: scope.signal,
    });
    const res = await untilAborted(pending, scope.signal);
    scope.attachBody(res.body);
    return res;
  }

  /**
   * One call of `endpoint`: the request encoded by its codec, sent on its pool, the answer
   * decoded by its codec. A streamed request is timed by its progress (`watchedUpload`); a
   * streamed response resolves once its headers arrive, its body then timed by undici's idle
   * `bodyTimeout` and checked against the announced length (`checkedBody`).
   */
  async request<Req, Res>(endpoint: Endpoint<Req, Res>, request: Req, signal?: AbortSignal): Promise<Res> {
    const wire = endpoint.request.encode(request);
    const path = wire.query === undefined ? endpoint.path : withQuery(endpoint.path, wire.query);
    const extra = (scope: CallScope): SendExtra => ({
      ...(wire.contentType === undefined ? {} : { headers: { 'content-type': wire.contentType } }),
      ...(wire.body === undefined ? {} : { body: wire.body }),
      ...(wire.stream === undefined ? {} : { stream: watchedUpload(wire.stream, scope) }),
    });
    if (endpoint.stream === 'response') return this.#streamed(endpoint, request, path, extra, signal);
    return this.call(endpoint.name, signal, async (scope) => {
      const res = await this.send(scope, endpoint.pool, endpoint.method, path, extra(scope));
      // The upload is done: the deadline now covers the answer.
      if (wire.stream !== undefined) scope.arm();
      if (res.statusCode < 200 || res.statusCode > 299) throw await this.failure(res);
      let body = EMPTY;
      if (res.statusCode === 204) await res.body.dump();
      else body = Buffer.from(await res.body.arrayBuffer());
      return endpoint.response.decode({ status: res.statusCode, headers: res.headers, body, stream: undefined, length: undefined }, request, this.peer);
    });
  }

  async #streamed<Req, Res>(endpoint: Endpoint<Req, Res>, request: Req, path: string, extra: (scope: CallScope) => SendExtra, signal: AbortSignal | undefined): Promise<Res> {
    const scope = this.scope(endpoint.name, signal);
    const started = performance.now();
    try {
      const res = await this.send(scope, endpoint.pool, endpoint.method, path, extra(scope));
      if (res.statusCode < 200 || res.statusCode > 299) throw await this.failure(res);
      const raw = responseHeader(res, RPC_HEADERS.bodyLength);
      const announced = raw !== undefined && /^\d{1,16}$/.test(raw) ? Number(raw) : undefined;
      const expected = endpoint.response.expectedLength === undefined ? announced : endpoint.response.expectedLength(announced, request, this.peer);
      // From here on the body is timed by undici's idle bodyTimeout, not by a total deadline.
      scope.disarm();
      const stream = checkedBody(res.body, expected, scope, () => scope.dispose());
      let answer: Res;
      try {
        answer = endpoint.response.decode({ status: res.statusCode, headers: res.headers, body: EMPTY, stream, length: expected }, request, this.peer);
      } catch (err) {
        stream.destroy();
        throw err;
      }
      this.report(endpoint.name, started, undefined);
      return answer;
    } catch (err) {
      scope.abandonBody();
      scope.dispose();
      const mapped = scope.mapError(err);
      this.report(endpoint.name, started, mapped);
      throw mapped;
    }
  }

  /** Reads an error answer and turns it into the peer's RingstoreError. */
  async failure(res: RpcResponse): Promise<RingstoreError> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await res.body.text()) as unknown;
    } catch {
      parsed = undefined;
    }
    return errorFromWire(res.statusCode, parsed, this.peer);
  }

  /**
   * Runs one call whose answer is read completely inside `fn`, under a deadline covering the
   * whole exchange (re-armable by `fn`); maps and reports errors, frees the connection on failure.
   */
  async call<T>(op: RpcOp, signal: AbortSignal | undefined, fn: (scope: CallScope) => Promise<T>): Promise<T> {
    const scope = this.scope(op, signal);
    const started = performance.now();
    try {
      const result = await fn(scope);
      this.report(op, started, undefined);
      return result;
    } catch (err) {
      scope.abandonBody();
      const mapped = scope.mapError(err);
      this.report(op, started, mapped);
      throw mapped;
    } finally {
      scope.dispose();
    }
  }

  /** Reports a finished call to `observe` and (failures) to the debug log. */
  report(op: RpcOp, started: number, err: unknown): void {
    const seconds = (performance.now() - started) / 1000;
    const outcome = err === undefined ? 'ok' : err instanceof RingstoreError ? err.code : 'error';
    if (err !== undefined) this.#shared.log.debug({ peer: this.peer, op, outcome, seconds }, 'rpc call failed');
    this.#shared.observe?.({ peer: this.peer, op, seconds, outcome });
  }
}

const EMPTY = Buffer.alloc(0);

/** What `send` sends besides method and path. */
interface SendExtra {
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  readonly stream?: AsyncIterable<Buffer>;
}

/** `source`, then the HMAC of its bytes under the request's signature (see auth.ts `streamMac`). */
async function* withTrailingMac(source: AsyncIterable<Buffer>, secret: string, signature: string): AsyncGenerator<Buffer> {
  const mac = streamMac(secret, signature);
  for await (const chunk of source) {
    mac.update(chunk);
    yield chunk;
  }
  yield mac.digest();
}

/**
 * `pending`, or a rejection with the signal's reason as soon as it aborts. A response that
 * arrives after the abort is released, so its connection is not left holding an unread body.
 */
function untilAborted(pending: Promise<RpcResponse>, signal: AbortSignal): Promise<RpcResponse> {
  if (signal.aborted) {
    pending.then(
      (res) => res.body.destroy(),
      () => undefined,
    );
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<RpcResponse>((resolve, reject) => {
    const onAbort = (): void => {
      pending.then(
        (res) => res.body.destroy(),
        () => undefined,
      );
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (res) => {
        signal.removeEventListener('abort', onAbort);
        resolve(res);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}
