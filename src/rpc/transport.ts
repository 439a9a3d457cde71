/**
 * The seam between coordinators and the network. Coordinators (replication, anti-entropy,
 * failure detector, rebalancer) ask a `ReplicaResolver` for a peer's `ReplicaApi`; in a real
 * node that is the HTTP `RpcClient`, in the simulator and unit tests a `MemoryTransport` that
 * calls the peers' stores directly, so a whole cluster can run in one process.
 */
import { Readable } from 'node:stream';
import type { ByteRange, HeadOptions, ObjectMeta, ReplicaApi } from '../store/types.js';
import type { Version } from '../util/clock.js';
import { systemClock, type Clock } from '../util/clock.js';
import { RingstoreError } from '../util/errors.js';
import { toWireMeta, toWireRecord, type PingResult } from './wire.js';

/** Hands out replicas of peers, and checks whether a peer is alive. */
export interface ReplicaResolver {
  /** The replica API of node `peerId`, reached at `address` ("host:port"). Cheap; may be called per request. */
  replica(peerId: string, address: string): ReplicaApi;
  /**
   * Asks the peer for a sign of life. Fails with PeerUnavailable / RpcTimeout (or the caller's
   * abort reason), and with PeerUnavailable when another node answers at that address.
   */
  ping(peerId: string, address: string, signal?: AbortSignal): Promise<PingResult>;
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
  down: boolean;
  /** Aborted (and replaced) whenever the node goes down, cutting its in-flight calls. */
  epoch: AbortController;
}

function unavailable(peerId: string, why: string): RingstoreError {
  return new RingstoreError('PeerUnavailable', `peer ${peerId} is unavailable (${why})`, { peer: peerId });
}

/**
 * An in-process `ReplicaResolver`: a map from node id to that node's `ReplicaApi`, called
 * directly. `setDown(id, true)` makes every call to that node fail with PeerUnavailable and
 * cuts its calls in flight (streams error, signals abort), like a crashed process. Results are
 * copied through the wire codecs, so coordinators see exactly what HTTP would give them (no
 * shared mutable buffers, no store-private fields). Addresses are ignored.
 */
export class MemoryTransport implements ReplicaResolver {
  readonly #nodes = new Map<string, Node>();
  readonly #clock: Clock;
  #closed = false;

  constructor(options: MemoryTransportOptions = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  /** Makes `replica` reachable as node `nodeId` (replacing an earlier registration). */
  register(nodeId: string, replica: ReplicaApi): void {
    this.#nodes.get(nodeId)?.epoch.abort(unavailable(nodeId, 'replaced'));
    this.#nodes.set(nodeId, { replica, down: false, epoch: new AbortController() });
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
   * Runs one call against a live node with a signal that fires on the caller's abort or when
   * the node goes down; a call cut by the node going down fails with PeerUnavailable.
   */
  async #call<T>(peerId: string, signal: AbortSignal | undefined, fn: (r: ReplicaApi, s: AbortSignal) => Promise<T>): Promise<T> {
    const node = this.#node(peerId);
    signal?.throwIfAborted();
    const epoch = node.epoch.signal;
    const combined = signal === undefined ? epoch : AbortSignal.any([signal, epoch]);
    try {
      const result = await fn(node.replica, combined);
      // A node that went down mid-call never delivered its answer.
      if (epoch.aborted) throw epoch.reason;
      return result;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (epoch.aborted) throw epoch.reason;
      throw err;
    }
  }

  /** A ReplicaApi that routes every call to node `peerId` at call time (so `setDown` applies at once). */
  replica(peerId: string, _address = ''): ReplicaApi {
    return {
      stage: (body, signal) =>
        this.#call(peerId, signal, async (r, s) => {
          const staged = await r.stage(body, s);
          return { id: staged.id, size: staged.size, crc32: staged.crc32 };
        }),
      commit: (meta: ObjectMeta, body, signal) =>
        this.#call(peerId, signal, async (r, s) => {
          const copy = body.kind === 'inline' ? { kind: 'inline' as const, data: Uint8Array.from(body.data) } : body;
          const result = await r.commit(toWireMeta(meta), copy, s);
          return { applied: result.applied, current: { ...result.current } };
        }),
      discard: (id, signal) => this.#call(peerId, signal, (r, s) => r.discard(id, s)),
      head: (bucket: string, key: string, options?: HeadOptions, signal?: AbortSignal) =>
        this.#call(peerId, signal, async (r, s) => {
          const found = await r.head(bucket, key, options, s);
          if (found === undefined) return undefined;
          const record = toWireRecord(found.record);
          if (found.inlineBody === undefined) return { record };
          return { record, inlineBody: Uint8Array.from(found.inlineBody) };
        }),
      read: (bucket: string, key: string, version: Version, range?: ByteRange, signal?: AbortSignal) =>
        this.#call(peerId, signal, async (r, s) => {
          const stream = await r.read(bucket, key, version, range, s);
          return this.#cutOnDown(stream, peerId, s);
        }),
      list: (bucket, options, signal) => this.#call(peerId, signal, async (r, s) => (await r.list(bucket, options, s)).map(toWireRecord)),
    };
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

  /** Answers for a registered, live node. */
  async ping(peerId: string, _address = '', signal?: AbortSignal): Promise<PingResult> {
    signal?.throwIfAborted();
    this.#node(peerId);
    return { nodeId: peerId, time: this.#clock.now() };
  }

  /** Cuts every call in flight; later calls fail with PeerUnavailable. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const [id, node] of this.#nodes) node.epoch.abort(unavailable(id, 'transport closed'));
  }
}
