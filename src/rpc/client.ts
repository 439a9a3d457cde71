/**
 * The RPC client: one undici `Pool` per peer address, and `HttpReplica`, a `ReplicaApi` that
 * carries every call over HTTP to a peer's RPC server (see server.ts for the routes).
 *
 * Timeouts: every call is bounded by `timeoutMs` of *no progress*: connecting and waiting for an
 * answer are bounded outright; an upload is bounded while the peer does not drain it; a read
 * body is bounded by undici's idle `bodyTimeout` (a slow consumer pauses that clock). So a dead,
 * partitioned or SIGSTOPped peer never hangs a call, while a 5 GiB transfer may take minutes.
 * Errors: connection failures → PeerUnavailable, timeouts → RpcTimeout, a peer's error answer →
 * the same RingstoreError code it raised (details gain `peer`), the caller's abort → its reason.
 */
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { ByteRange, CommitBody, CommitResult, HeadOptions, HeadResult, ListOptions, ObjectMeta, ObjectRecord, ReplicaApi, StagedBody } from '../store/types.js';
import { systemClock, type Clock, type Version } from '../util/clock.js';
import { RingstoreError } from '../util/errors.js';
import { formatHostPort, parseHostPort } from '../util/http-server.js';
import type { Logger } from '../util/logger.js';
import { bodyDigest, signRpc } from './auth.js';
import { checkedBody, watchedUpload } from './call.js';
import { PeerLink, type PeerPools, responseHeader, responseJson, type PeerLinkShared, type RpcCallEvent, type RpcResponse } from './peer-link.js';
import type { ReplicaResolver } from './transport.js';
import { CallBatcher } from './call-batcher.js';
import {
  RPC_HEADERS,
  RPC_PATHS,
  decodeCommitsResponse,
  decodeHeadsResponse,
  encodeCommitsRequest,
  encodeHeadsRequest,
  MAX_COMMIT_BATCH,
  MAX_HEAD_BATCH,
  MAX_INLINE_COMMIT_BYTES,
  type CommitAnswer,
  type CommitQuery,
  type HeadAnswer,
  type HeadQuery,
  encodeReadQuery,
  parseListResult,
  parseObjectRecord,
  parsePingResult,
  parseStagedBody,
  rangeLength,
  withQuery,
  type PingResult,
} from './wire.js';

export type { RpcCallEvent } from './peer-link.js';

/**
 * Head and commit calls open at once to one peer; more queries wait and go out together
 * (call-batcher.ts). Two keeps one exchange on the wire while the next batch forms.
 */
const HEAD_CALLS_PER_PEER = 2;
const COMMIT_CALLS_PER_PEER = 2;

/** The batched calls to one peer. */
interface PeerBatchers {
  readonly heads: CallBatcher<HeadQuery, HeadResult | undefined>;
  readonly commits: CallBatcher<CommitQuery, CommitResult>;
}

/** Options of the RPC client. */
export interface RpcClientOptions {
  /** This node's id (the signer of every request). */
  readonly nodeId: string;
  /** The shared cluster secret. */
  readonly secret: string;
  /** Per-call timeout in ms (of no progress; see the module doc). */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Wall clock for request timestamps; the system clock by default. */
  readonly clock?: Clock;
  /** Connections per peer for small calls (heads, commits, discard, list, ping). Default 32. */
  readonly connectionsPerPeer?: number;
  /** Connections per peer for streaming calls (stage, read), a pool of their own. Default 64. */
  readonly streamsPerPeer?: number;
  /** Called once per finished call (for metrics such as `ringstore_rpc_request_duration_seconds`). */
  readonly observe?: (event: RpcCallEvent) => void;
}

/** A peer's `ReplicaApi` over HTTP. Obtained from `RpcClient.replica`. */
export class HttpReplica implements ReplicaApi {
  readonly #link: PeerLink;
  readonly #batchers: PeerBatchers;

  constructor(link: PeerLink, batchers: PeerBatchers) {
    this.#link = link;
    this.#batchers = batchers;
  }

  /** The peer's node id. */
  get peerId(): string {
    return this.#link.peer;
  }

  /** The peer's address ("host:port"). */
  get address(): string {
    return this.#link.address;
  }

  async stage(body: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<StagedBody> {
    return this.#link.call('stage', signal, async (scope) => {
      const res = await this.#link.send(scope, 'POST', RPC_PATHS.stage, {
        headers: { 'content-type': 'application/octet-stream' },
        stream: watchedUpload(body, scope),
      });
      scope.arm();
      if (res.statusCode !== 200) throw await this.#link.failure(res);
      return parseStagedBody(await responseJson(res));
    });
  }

  async commit(meta: ObjectMeta, body: CommitBody, signal?: AbortSignal): Promise<CommitResult> {
    return this.#batchers.commits.call({ meta, body }, signal);
  }

  async discard(id: string, signal?: AbortSignal): Promise<void> {
    return this.#link.call('discard', signal, async (scope) => {
      const res = await this.#link.send(scope, 'POST', withQuery(RPC_PATHS.discard, { id }));
      if (res.statusCode !== 204) throw await this.#link.failure(res);
      await res.body.dump();
    });
  }

  async head(bucket: string, key: string, options: HeadOptions = {}, signal?: AbortSignal): Promise<HeadResult | undefined> {
    return this.#batchers.heads.call(options.inlineUpTo === undefined ? { bucket, key } : { bucket, key, inlineUpTo: options.inlineUpTo }, signal);
  }

  async read(bucket: string, key: string, version: Version, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    const scope = this.#link.scope('read', signal);
    const started = performance.now();
    let res: RpcResponse | undefined;
    try {
      const path = encodeReadQuery({ bucket, key, version, ...(range === undefined ? {} : { range }) });
      res = await this.#link.send(scope, 'GET', path);
      if (res.statusCode !== 200) throw await this.#link.failure(res);
      const raw = responseHeader(res, RPC_HEADERS.bodyLength);
      const announced = raw !== undefined && /^\d{1,16}$/.test(raw) ? Number(raw) : undefined;
      const expected = range === undefined ? announced : rangeLength(range);
      if (announced !== undefined && announced !== expected) {
        throw new RingstoreError('RpcProtocol', `read from ${this.#link.peer}: announced ${announced} bytes for a ${expected}-byte range`, { peer: this.#link.peer });
      }
      // From here on the body is timed by undici's idle bodyTimeout, not by a total deadline.
      scope.disarm();
      this.#link.report('read', started, undefined);
      return checkedBody(res.body, expected, scope, () => scope.dispose());
    } catch (err) {
      scope.abandonBody();
      scope.dispose();
      const mapped = scope.mapError(err);
      this.#link.report('read', started, mapped);
      throw mapped;
    }
  }

  async list(bucket: string, options: ListOptions, signal?: AbortSignal): Promise<ObjectRecord[]> {
    return this.#link.call('list', signal, async (scope) => {
      const body = JSON.stringify({
        limit: options.limit,
        ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
        ...(options.startAfter === undefined ? {} : { startAfter: options.startAfter }),
      });
      const res = await this.#link.send(scope, 'POST', withQuery(RPC_PATHS.list, { bucket }), {
        headers: { 'content-type': 'application/json' },
        body,
      });
      if (res.statusCode !== 200) throw await this.#link.failure(res);
      return parseListResult(await responseJson(res));
    });
  }
}

/**
 * The HTTP `ReplicaResolver`: two connection pools per peer address (no pipelining,
 * keep-alive), every request signed with the cluster secret. Streams (stage, read) hold a
 * connection as long as their body flows, paced by an S3 client that may stall; they get a
 * pool of their own so that heads, commits and pings always find a connection.
 */
export class RpcClient implements ReplicaResolver {
  /** Per-call timeout in ms. */
  readonly timeoutMs: number;
  readonly #connections: number;
  readonly #streams: number;
  readonly #shared: PeerLinkShared;
  readonly #pools = new Map<string, PeerPools>();
  readonly #batchers = new Map<string, PeerBatchers>();
  #closed = false;

  constructor(options: RpcClientOptions) {
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new RingstoreError('InvalidArgument', 'rpc timeoutMs must be a positive number', {
        timeoutMs: options.timeoutMs,
      });
    }
    // Fail at construction, not on the first call, on a bad node id or an empty secret.
    signRpc(options.secret, { method: 'GET', pathWithQuery: '/', timestampMs: 0, nodeId: options.nodeId, bodyDigest: bodyDigest(undefined) });
    this.timeoutMs = options.timeoutMs;
    this.#connections = options.connectionsPerPeer ?? 32;
    this.#streams = options.streamsPerPeer ?? 64;
    this.#shared = {
      nodeId: options.nodeId,
      secret: options.secret,
      timeoutMs: options.timeoutMs,
      clock: options.clock ?? systemClock,
      log: options.logger.child({ component: 'rpc-client' }),
      observe: options.observe,
      isClosed: () => this.#closed,
    };
  }

  /** The replica API of `peerId` at `address` ("host:port"). Cheap: pools and batches are shared per peer. */
  replica(peerId: string, address: string): HttpReplica {
    const link = this.#link(peerId, address);
    const id = `${peerId}@${address}`;
    let batchers = this.#batchers.get(id);
    if (batchers === undefined) {
      batchers = {
        heads: new CallBatcher<HeadQuery, HeadResult | undefined>((queries) => sendHeads(link, queries), { maxInFlight: HEAD_CALLS_PER_PEER, maxBatch: MAX_HEAD_BATCH }),
        commits: new CallBatcher<CommitQuery, CommitResult>((commits) => sendCommits(link, commits), {
          maxInFlight: COMMIT_CALLS_PER_PEER,
          maxBatch: MAX_COMMIT_BATCH,
          maxWeight: MAX_INLINE_COMMIT_BYTES,
          weight: (c) => (c.body.kind === 'inline' ? c.body.data.byteLength : 0),
        }),
      };
      this.#batchers.set(id, batchers);
    }
    return new HttpReplica(link, batchers);
  }

  /** Pings `address`; fails with PeerUnavailable when the node answering there is not `peerId`. */
  async ping(peerId: string, address: string, signal?: AbortSignal): Promise<PingResult> {
    const link = this.#link(peerId, address);
    return link.call('ping', signal, async (scope) => {
      const res = await link.send(scope, 'GET', RPC_PATHS.ping);
      if (res.statusCode !== 200) throw await link.failure(res);
      const answer = parsePingResult(await responseJson(res));
      if (answer.nodeId !== peerId) {
        throw new RingstoreError('PeerUnavailable', `${address} is node ${answer.nodeId}, expected ${peerId}`, {
          peer: peerId,
          address,
          answered: answer.nodeId,
        });
      }
      return answer;
    });
  }

  /**
   * Closes every pool: calls in flight get `timeoutMs` to finish, then their connections are
   * destroyed. Later calls fail with PeerUnavailable.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()].flatMap((p) => [p.small, p.stream]);
    this.#pools.clear();
    await Promise.all(
      pools.map(async (pool) => {
        let timer: NodeJS.Timeout | undefined;
        const forced = new Promise<void>((resolve) => {
          timer = setTimeout(() => resolve(pool.destroy().catch(() => undefined)), this.timeoutMs);
        });
        try {
          await Promise.race([pool.close(), forced]);
        } catch {
          await pool.destroy().catch(() => undefined);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }

  #link(peerId: string, address: string): PeerLink {
    if (this.#closed) throw new RingstoreError('PeerUnavailable', 'rpc client is closed', { peer: peerId });
    let pools = this.#pools.get(address);
    if (pools === undefined) {
      const { host, port } = parseHostPort(address);
      const origin = `http://${formatHostPort(host, port)}`;
      pools = { small: this.#pool(origin, this.#connections), stream: this.#pool(origin, this.#streams) };
      this.#pools.set(address, pools);
    }
    return new PeerLink(peerId, address, pools, this.#shared);
  }

  #pool(origin: string, connections: number): Pool {
    return new Pool(origin, {
      connections,
      pipelining: 1,
      // Below the server's 65 s, so the client retires idle sockets before the server does.
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 60_000,
      connectTimeout: this.timeoutMs,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      maxHeaderSize: 64 * 1024,
    });
  }
}

/** One `commits` call: the answers to `commits`, in order. */
async function sendCommits(link: PeerLink, commits: readonly CommitQuery[]): Promise<CommitAnswer[]> {
  return link.call('commit', undefined, async (scope) => {
    const res = await link.send(scope, 'POST', RPC_PATHS.commits, { headers: { 'content-type': 'application/octet-stream' }, body: encodeCommitsRequest(commits) });
    if (res.statusCode !== 200) throw await link.failure(res);
    return decodeCommitsResponse(await responseJson(res), commits.length, link.peer);
  });
}

/** One `heads` call: the answers to `queries`, in order. */
async function sendHeads(link: PeerLink, queries: readonly HeadQuery[]): Promise<HeadAnswer[]> {
  return link.call('head', undefined, async (scope) => {
    const res = await link.send(scope, 'POST', RPC_PATHS.heads, { headers: { 'content-type': 'application/json' }, body: encodeHeadsRequest(queries) });
    if (res.statusCode !== 200) throw await link.failure(res);
    return decodeHeadsResponse(Buffer.from(await res.body.arrayBuffer()), queries.length, link.peer);
  });
}
