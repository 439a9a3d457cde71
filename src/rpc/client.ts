/**
 * The RPC client: two undici `Pool`s per peer address, and any declared endpoint (endpoint.ts)
 * carried over HTTP to a peer's RPC server (server.ts). `replica()` hands out the peer's
 * `ReplicaApi` (`RemoteReplica`, with heads and commits batched per peer), `call()` any other
 * endpoint, `ping()` the liveness check.
 *
 * Timeouts: every call is bounded by `timeoutMs` of *no progress*: connecting and waiting for an
 * answer are bounded outright; an upload is bounded while the peer does not drain it; a read
 * body is bounded by undici's idle `bodyTimeout` (a slow consumer pauses that clock). So a dead,
 * partitioned or SIGSTOPped peer never hangs a call, while a 5 GiB transfer may take minutes.
 * Errors: connection failures → PeerUnavailable, timeouts → RpcTimeout, a peer's error answer →
 * the same RingstoreError code it raised (details gain `peer`), the caller's abort → its reason.
 */
import { Pool } from 'undici';
import { systemClock, systemTimers, type Clock, type Timer, type Timers } from '../util/clock.js';
import { RingstoreError } from '../util/errors.js';
import { formatHostPort, parseHostPort } from '../util/http-server.js';
import type { Logger } from '../util/logger.js';
import { bodyDigest, signRpc } from './auth.js';
import type { Endpoint } from './endpoint.js';
import { PeerLink, type PeerPools, type PeerLinkShared, type RpcCallEvent } from './peer-link.js';
import { checkPingAnswer, pingEndpoint, type PingResult } from './ping.js';
import { RemoteReplica, replicaBatchers, type ReplicaBatchers } from './remote-replica.js';
import type { ReplicaResolver } from './transport.js';

export type { RpcCallEvent } from './peer-link.js';

/** A peer's `ReplicaApi` over HTTP, as `RpcClient.replica` hands it out. */
export type HttpReplica = RemoteReplica;

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
  /** Timers for call deadlines and the close grace; the system's by default. */
  readonly timers?: Timers;
  /** Connections per peer for small calls (heads, commits, discard, list, ping). Default 32. */
  readonly connectionsPerPeer?: number;
  /** Connections per peer for streaming calls (stage, read), a pool of their own. Default 64. */
  readonly streamsPerPeer?: number;
  /** Called once per finished call (for metrics such as `ringstore_rpc_request_duration_seconds`). */
  readonly observe?: (event: RpcCallEvent) => void;
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
  readonly #batchers = new Map<string, ReplicaBatchers>();
  readonly #timers: Timers;
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
    this.#timers = options.timers ?? systemTimers;
    this.#shared = {
      nodeId: options.nodeId,
      secret: options.secret,
      timeoutMs: options.timeoutMs,
      clock: options.clock ?? systemClock,
      timers: this.#timers,
      log: options.logger.child({ component: 'rpc-client' }),
      observe: options.observe,
      isClosed: () => this.#closed,
    };
  }

  /** The replica API of `peerId` at `address` ("host:port"). Cheap: pools and batches are shared per peer. */
  replica(peerId: string, address: string): RemoteReplica {
    const link = this.#link(peerId, address);
    const id = `${peerId}@${address}`;
    let batchers = this.#batchers.get(id);
    if (batchers === undefined) {
      batchers = replicaBatchers(link);
      this.#batchers.set(id, batchers);
    }
    return new RemoteReplica(link, batchers);
  }

  /** One call of `endpoint` to `peerId` at `address`, on the endpoint's pool, under the per-call deadline. */
  call<Req, Res>(peerId: string, address: string, endpoint: Endpoint<Req, Res>, request: Req, signal?: AbortSignal): Promise<Res> {
    return this.#link(peerId, address).request(endpoint, request, signal);
  }

  /** Pings `address`; fails with PeerUnavailable when the node answering there is not `peerId`. */
  async ping(peerId: string, address: string, signal?: AbortSignal): Promise<PingResult> {
    return checkPingAnswer(await this.call(peerId, address, pingEndpoint, undefined, signal), peerId, address);
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
        let timer: Timer | undefined;
        const forced = new Promise<void>((resolve) => {
          timer = this.#timers.setTimeout(() => resolve(pool.destroy().catch(() => undefined)), this.timeoutMs);
        });
        try {
          await Promise.race([pool.close(), forced]);
        } catch {
          await pool.destroy().catch(() => undefined);
        } finally {
          if (timer !== undefined) this.#timers.clearTimeout(timer);
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
