/**
 * The seam between coordinators and the network. Coordinators (replication, anti-entropy,
 * failure detector, rebalancer) ask a `ReplicaResolver` for a peer's `ReplicaApi`, or call any
 * declared endpoint of a peer; in a real node that is the HTTP `RpcClient`, in the simulator and
 * unit tests a `MemoryTransport` that serves each node's endpoint registry in-process, so a
 * whole cluster can run in one process.
 */
import { Readable } from 'node:stream';
import type { ReplicaApi } from '../store/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { RingstoreError } from '../util/errors.js';
import type { Endpoint } from './endpoint.js';
import { checkPingAnswer, mountPing, pingEndpoint, type PingResult } from './ping.js';
import { EndpointRegistry } from './registry.js';
import { RemoteReplica } from './remote-replica.js';
import { mountReplica } from './replica-endpoints.js';
import { RPC_HEADERS, withQuery } from './wire.js';
import { errorFromWire, errorToWire } from './wire-errors.js';

/** Hands out replicas of peers, calls their endpoints, and checks whether a peer is alive. */
export interface ReplicaResolver {
  /** The replica API of node `peerId`, reached at `address` ("host:port"). Cheap; may be called per request. */
  replica(peerId: string, address: string): ReplicaApi;
  /**
   * One call of `endpoint` to node `peerId` at `address`: the request and the answer pass
   * through the endpoint's codecs; errors as for `replica` calls (the peer's own RingstoreError,
   * PeerUnavailable, RpcTimeout, or the caller's abort reason). For small endpoints that
   * subsystems declare beside their code (hints, Merkle exchange, admin, consensus).
   */
  call<Req, Res>(peerId: string, address: string, endpoint: Endpoint<Req, Res>, request: Req, signal?: AbortSignal): Promise<Res>;
  /**
   * Asks the peer for a sign of life. Fails with PeerUnavailable / RpcTimeout (or the caller's
   * abort reason), and with PeerUnavailable when another node answers at that address.
   */
  ping(peerId: string, address: string, signal?: AbortSignal): Promise<PingResult>;
  /**
   * In-process transports: node `nodeId` also serves the endpoints `endpoints` mounts (the same
   * function node.ts passes to `createRpcApp({ endpoints })`; over HTTP the server serves them,
   * so `RpcClient` has nothing to do here). `guard`, when given, wraps the replica the node
   * was registered with, as node.ts wraps the one its HTTP server serves (a refilling node
   * refuses reads).
   */
  serve?(nodeId: string, endpoints: (registry: EndpointRegistry) => void, guard?: (replica: ReplicaApi) => ReplicaApi): void;
  /** Releases connections; replicas handed out before fail afterwards. */
  close(): Promise<void>;
}

/** Options of the in-process transport. */
export interface MemoryTransportOptions {
  /** Clock answering pings; the system clock by default. */
  readonly clock?: Clock;
}

interface Node {
  readonly replica: ReplicaApi;
  registry: EndpointRegistry;
  down: boolean;
  /** Aborted (and replaced) whenever the node goes down, cutting its in-flight calls. */
  epoch: AbortController;
}

function unavailable(peerId: string, why: string): RingstoreError {
  return new RingstoreError('PeerUnavailable', `peer ${peerId} is unavailable (${why})`, { peer: peerId });
}

const EMPTY = Buffer.alloc(0);

/**
 * An in-process `ReplicaResolver`: a map from node id to that node's endpoint registry, served
 * directly. `setDown(id, true)` makes every call to that node fail with PeerUnavailable and
 * cuts its calls in flight (streams error, signals abort), like a crashed process. Requests and
 * answers pass through the endpoints' codecs, and errors through the wire's error mapping, so
 * coordinators see exactly what HTTP would give them (no shared mutable buffers, no
 * store-private fields). Addresses are ignored; heads and commits are not batched.
 */
export class MemoryTransport implements ReplicaResolver {
  readonly #nodes = new Map<string, Node>();
  readonly #clock: Clock;
  #closed = false;

  constructor(options: MemoryTransportOptions = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  /** Makes `replica` reachable as node `nodeId` (replacing an earlier registration): its replica endpoints and the ping (on this transport's clock). */
  register(nodeId: string, replica: ReplicaApi): void {
    this.#nodes.get(nodeId)?.epoch.abort(unavailable(nodeId, 'replaced'));
    const registry = this.#baseRegistry(nodeId, replica);
    this.#nodes.set(nodeId, { replica, registry, down: false, epoch: new AbortController() });
  }

  /** Node `nodeId` serves its replica, the ping and what `endpoints` mounts (replacing earlier extras, e.g. of a restarted node). */
  serve(nodeId: string, endpoints: (registry: EndpointRegistry) => void, guard?: (replica: ReplicaApi) => ReplicaApi): void {
    const node = this.#nodes.get(nodeId);
    if (node === undefined) throw new RingstoreError('InvalidArgument', `unknown node ${nodeId}`, { nodeId });
    const registry = this.#baseRegistry(nodeId, guard ? guard(node.replica) : node.replica);
    endpoints(registry);
    node.registry = registry;
  }

  #baseRegistry(nodeId: string, replica: ReplicaApi): EndpointRegistry {
    return mountPing(mountReplica(new EndpointRegistry(), replica), nodeId, this.#clock);
  }

  /** Removes a node; calls to it fail with PeerUnavailable. */
  unregister(nodeId: string): void {
    this.#nodes.get(nodeId)?.epoch.abort(unavailable(nodeId, 'removed'));
    this.#nodes.delete(nodeId);
  }

  /** Marks a node down (calls fail, in-flight calls are cut) or up again. */
  setDown(nodeId: string, down: boolean): void {
    const node = this.#nodes.get(nodeId);
    if (node === undefined) throw new RingstoreError('InvalidArgument', `unknown node ${nodeId}`, { nodeId });
    if (down && !node.down) {
      node.epoch.abort(unavailable(nodeId, 'down'));
      node.epoch = new AbortController();
    }
    node.down = down;
  }

  /** Whether a node is currently marked down. */
  isDown(nodeId: string): boolean {
    return this.#nodes.get(nodeId)?.down ?? false;
  }

  /** The live node, or PeerUnavailable. */
  #node(peerId: string): Node {
    if (this.#closed) throw unavailable(peerId, 'transport closed');
    const node = this.#nodes.get(peerId);
    if (node === undefined) throw unavailable(peerId, 'not registered');
    if (node.down) throw unavailable(peerId, 'down');
    return node;
  }

  /**
   * One call of `endpoint`, served by the node's handler with a signal that fires on the
   * caller's abort or when the node goes down (a call cut that way fails with PeerUnavailable).
   */
  async call<Req, Res>(peerId: string, _address: string, endpoint: Endpoint<Req, Res>, request: Req, signal?: AbortSignal): Promise<Res> {
    const node = this.#node(peerId);
    signal?.throwIfAborted();
    const epoch = node.epoch.signal;
    const combined = signal === undefined ? epoch : AbortSignal.any([signal, epoch]);
    try {
      const wire = endpoint.request.encode(request);
      let answer: Res;
      try {
        const mounted = node.registry.get(endpoint);
        // A copy, as the wire would make: the handler never shares the caller's buffers.
        const body = wire.body === undefined ? EMPTY : Buffer.from(wire.body);
        if (endpoint.stream !== 'request' && body.length > endpoint.bodyLimit) {
          throw new RingstoreError('RpcProtocol', `request body exceeds ${endpoint.bodyLimit} bytes`, { limit: endpoint.bodyLimit });
        }
        const received = endpoint.request.decode({ query: new URLSearchParams(withQuery('', wire.query ?? {}).slice(1)), body, stream: wire.stream });
        answer = await mounted.handler(received, { signal: combined, caller: '' });
      } catch (err) {
        // The error as HTTP would deliver it: status and JSON body, rebuilt with `peer`.
        if (signal?.aborted || epoch.aborted) throw err;
        const { status, body } = errorToWire(err);
        throw errorFromWire(status, JSON.parse(JSON.stringify(body)) as unknown, peerId);
      }
      const out = endpoint.response.encode(answer);
      const headers = { ...out.headers, ...(out.length === undefined ? {} : { [RPC_HEADERS.bodyLength]: String(out.length) }) };
      const stream = out.stream === undefined ? undefined : this.#cutOnDown(out.stream, peerId, combined);
      const result = endpoint.response.decode(
        {
          status: out.status ?? 200,
          headers,
          body: out.body === undefined ? EMPTY : Buffer.from(out.body),
          stream,
          length: endpoint.response.expectedLength === undefined ? out.length : endpoint.response.expectedLength(out.length, request, peerId),
        },
        request,
        peerId,
      );
      // A node that went down mid-call never delivered its answer.
      if (epoch.aborted) {
        stream?.destroy();
        throw epoch.reason;
      }
      return result;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (epoch.aborted) throw epoch.reason;
      throw err;
    }
  }

  /** A ReplicaApi that routes every call to node `peerId` at call time (so `setDown` applies at once). */
  replica(peerId: string, address = ''): ReplicaApi {
    return new RemoteReplica({ peer: peerId, address, request: (endpoint, request, signal) => this.call(peerId, address, endpoint, request, signal) });
  }

  /** A stream that errors with the signal's reason (PeerUnavailable when the node goes down). */
  #cutOnDown(stream: Readable, peerId: string, signal: AbortSignal): Readable {
    const out = Readable.from(stream, { objectMode: false });
    const onAbort = (): void => {
      const reason: unknown = signal.reason;
      out.destroy(reason instanceof Error ? reason : unavailable(peerId, 'aborted'));
      stream.destroy();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    out.once('close', () => {
      signal.removeEventListener('abort', onAbort);
      if (!stream.destroyed) stream.destroy();
    });
    return out;
  }

  /** Asks the node's ping endpoint. */
  async ping(peerId: string, address = '', signal?: AbortSignal): Promise<PingResult> {
    return checkPingAnswer(await this.call(peerId, address, pingEndpoint, undefined, signal), peerId, address);
  }

  /** Cuts every call in flight; later calls fail with PeerUnavailable. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const [id, node] of this.#nodes) node.epoch.abort(unavailable(id, 'transport closed'));
  }
}
