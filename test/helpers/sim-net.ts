/**
 * Network faults for the simulator, as a decorator of the `ReplicaResolver` seam (composition
 * in the undici style: the wrapped resolver still does the calling, this only decides when a
 * message arrives, whether it does, and how often). Every call is two messages: the request
 * (caller → peer) and the answer (peer → caller), each of which can be delayed, dropped or cut
 * by a partition. A dropped request never runs on the peer; a dropped answer ran but the caller
 * never learns so. Either way the caller waits out its RPC timeout, as over TCP. A duplicated
 * request runs twice on the peer (the copy's answer is ignored).
 *
 * One `SimNetwork` is the whole cluster's wire; `wrap(from, inner)` gives node `from` its view
 * of it. `deliver` is the one place a message is decided, so the wrapper can move onto a
 * generic `call(peer, endpoint, request)` unchanged.
 */
import { Readable } from 'node:stream';
import type { Endpoint } from '../../src/rpc/endpoint.js';
import type { PingResult } from '../../src/rpc/ping.js';
import { RemoteReplica } from '../../src/rpc/remote-replica.js';
import type { ReplicaResolver } from '../../src/rpc/transport.js';
import { sleep, type Clock, type Timers } from '../../src/util/clock.js';
import { RingstoreError } from '../../src/util/errors.js';
import type { Random } from '../../src/util/random.js';

/** Faults on the messages from one node to another (or every link: see `SimNetwork.setAll`). */
export interface LinkFaults {
  /** Chance that a message is lost. */
  drop: number;
  /** Each message is delayed uniformly in [0, delayMs] (plus the base latency). */
  delayMs: number;
  /** Chance that a request is delivered twice. */
  duplicate: number;
  /** Messages from `from` to `to` never arrive (one direction of a partition). */
  cut: boolean;
}

const CLEAN: LinkFaults = { drop: 0, delayMs: 0, duplicate: 0, cut: false };

/** Calls whose request may run twice without harm to the caller (the copy's answer is dropped). */
const DUPLICABLE = new Set(['commit', 'discard', 'head', 'list']);

/** Options of a SimNetwork. */
export interface SimNetworkOptions {
  /** Decides drops, delays and duplicates (seeded). */
  readonly random: Random;
  /** Virtual timers of the wire (delays, timeouts). */
  readonly timers: Timers;
  /** What a caller waits for a lost message before RpcTimeout (the nodes' rpc.timeoutMs). */
  readonly timeoutMs: number;
  /** Every message takes at least this long (ms). */
  readonly baseLatencyMs?: number;
  /** Virtual time (the wire's own, no node's offset). */
  readonly now: () => number;
  /** The wall clock of node `id`, which its ping answers carry. */
  readonly clockOf: (id: string) => Clock;
}

/** Counts of what the wire did. */
export interface NetStats {
  delivered: number;
  dropped: number;
  duplicated: number;
  cut: number;
}

function unavailable(peer: string, why: string): RingstoreError {
  return new RingstoreError('PeerUnavailable', `peer ${peer} is unavailable (${why})`, { peer });
}

export class SimNetwork {
  readonly #o: SimNetworkOptions;
  readonly #links = new Map<string, LinkFaults>();
  #all: LinkFaults = { ...CLEAN };
  /** Nodes whose process is gone: calls to them are refused at once (connection refused). */
  readonly crashed = new Set<string>();
  /** Nodes stopped until the given virtual time: messages to and from them wait for it. */
  readonly pausedUntil = new Map<string, number>();
  readonly stats: NetStats = { delivered: 0, dropped: 0, duplicated: 0, cut: 0 };
  /** Aborted when the node crashes: its calls in flight, both ways, end at once. */
  readonly #alive = new Map<string, AbortController>();

  constructor(options: SimNetworkOptions) {
    this.#o = options;
  }

  /** The faults of the link from → to (every-link faults included). */
  link(from: string, to: string): LinkFaults {
    const own = this.#links.get(`${from}>${to}`) ?? CLEAN;
    return {
      drop: Math.max(own.drop, this.#all.drop),
      delayMs: Math.max(own.delayMs, this.#all.delayMs),
      duplicate: Math.max(own.duplicate, this.#all.duplicate),
      cut: own.cut || this.#all.cut,
    };
  }

  /** Sets faults of one direction of one link. */
  setLink(from: string, to: string, faults: Partial<LinkFaults>): void {
    this.#links.set(`${from}>${to}`, { ...(this.#links.get(`${from}>${to}`) ?? CLEAN), ...faults });
  }

  /** Sets faults of every link. */
  setAll(faults: Partial<LinkFaults>): void {
    this.#all = { ...this.#all, ...faults };
  }

  /** Cuts every link between the two sides, both ways. */
  partition(side: readonly string[], other: readonly string[]): void {
    for (const a of side)
      for (const b of other) {
        this.setLink(a, b, { cut: true });
        this.setLink(b, a, { cut: true });
      }
  }

  /** Removes every link fault (crashes and pauses stay). */
  healAll(): void {
    this.#links.clear();
    this.#all = { ...CLEAN };
  }

  /** The node's process is gone: calls to it are refused, its calls in flight (both ways) end. */
  crash(id: string): void {
    this.crashed.add(id);
    this.pausedUntil.delete(id);
    this.#aliveOf(id).abort(unavailable(id, 'crashed'));
    this.#alive.delete(id);
  }

  /** The node runs again. */
  restart(id: string): void {
    this.crashed.delete(id);
  }

  #aliveOf(id: string): AbortController {
    let alive = this.#alive.get(id);
    if (alive === undefined) {
      alive = new AbortController();
      this.#alive.set(id, alive);
    }
    return alive;
  }

  /** Node `from`'s view of the network: `inner` with this wire's faults on every call. */
  wrap(from: string, inner: ReplicaResolver): ReplicaResolver {
    let closed = false;
    const check = (peer: string): void => {
      if (closed) throw unavailable(peer, 'transport closed');
    };
    // Every verb, the replica's included, goes through the transport's one generic call.
    const call = <Req, Res>(peerId: string, address: string, endpoint: Endpoint<Req, Res>, request: Req, signal?: AbortSignal): Promise<Res> => {
      check(peerId);
      return this.deliver(from, peerId, signal, DUPLICABLE.has(endpoint.name), () => inner.call(peerId, address, endpoint, request, signal));
    };
    return {
      replica: (peerId, address) => new RemoteReplica({ peer: peerId, address, request: (endpoint, request, signal) => call(peerId, address, endpoint, request, signal) }),
      call,
      ...(inner.serve ? { serve: inner.serve.bind(inner) } : {}),
      ping: async (peerId, address, signal) => {
        check(peerId);
        return this.deliver(from, peerId, signal, false, async (): Promise<PingResult> => {
          const answer = await inner.ping(peerId, address, signal);
          return { ...answer, time: this.#o.clockOf(peerId).now() };
        });
      },
      close: async () => {
        closed = true;
      },
    };
  }

  /**
   * Carries one call from `from` to `to`: the request leg, `run` on the peer (twice when
   * duplicated), the answer leg. Lost messages end in RpcTimeout once the caller's timeout
   * has passed since the call began; the caller's abort ends any wait at once.
   */
  async deliver<T>(from: string, to: string, callerSignal: AbortSignal | undefined, duplicable: boolean, run: () => Promise<T>): Promise<T> {
    const { random, timers, timeoutMs } = this.#o;
    if (this.crashed.has(from)) throw unavailable(to, `${from} itself is down`);
    if (this.crashed.has(to)) throw unavailable(to, 'connection refused');
    const ends = [this.#aliveOf(from).signal, this.#aliveOf(to).signal];
    const signal = AbortSignal.any(callerSignal === undefined ? ends : [callerSignal, ...ends]);
    const base = this.#o.baseLatencyMs ?? 1;
    const started = this.#o.now();
    const timeout = async (why: string): Promise<never> => {
      const waited = this.#o.now() - started;
      await sleep(timers, Math.max(1, timeoutMs - waited), signal);
      throw new RingstoreError('RpcTimeout', `call from ${from} to ${to} timed out after ${timeoutMs} ms (${why})`, { peer: to });
    };
    const leg = async (a: string, b: string): Promise<'ok' | 'lost'> => {
      const faults = this.link(a, b);
      if (faults.cut) {
        this.stats.cut++;
        return 'lost';
      }
      if (faults.drop > 0 && random.float() < faults.drop) {
        this.stats.dropped++;
        return 'lost';
      }
      const delay = base + (faults.delayMs > 0 ? Math.floor(random.float() * (faults.delayMs + 1)) : 0);
      await sleep(timers, delay, signal);
      // A paused end takes the message only when it resumes.
      for (const end of [a, b]) {
        const until = this.pausedUntil.get(end);
        const now = this.#o.now();
        if (until !== undefined && until > now) await sleep(timers, until - now, signal);
      }
      return 'ok';
    };
    if ((await leg(from, to)) === 'lost') return timeout('request lost');
    if (this.crashed.has(to)) throw unavailable(to, 'connection reset');
    const faults = this.link(from, to);
    if (duplicable && faults.duplicate > 0 && random.float() < faults.duplicate) {
      this.stats.duplicated++;
      const again = Math.floor(random.float() * (faults.delayMs + base + 1)) + 1;
      timers.setTimeout(() => void run().catch(() => undefined), again);
    }
    const result = await run();
    // While the answer travels, a body stream has no reader yet: a crash of either end errors it
    // (on the next tick, before the aborted leg below can react), which must not go unheard.
    // The reader it reaches still sees the error: a destroyed stream throws on iteration.
    const body = bodyOf(result);
    const unheard = (): void => undefined;
    body?.on('error', unheard);
    // A body stream nobody will read must be closed, or a later cut would error it unheard.
    const discard = (): void => {
      body?.destroy();
    };
    let answer: 'ok' | 'lost';
    try {
      answer = await leg(to, from);
    } catch (err) {
      discard();
      throw err;
    }
    if (answer === 'lost') {
      discard();
      return timeout('answer lost');
    }
    if (this.crashed.has(from)) {
      discard();
      throw unavailable(to, `${from} itself is down`);
    }
    this.stats.delivered++;
    body?.off('error', unheard);
    return result;
  }
}

/** The body stream an answer carries (itself, or its `body` as the read endpoint answers), if any. */
function bodyOf(answer: unknown): Readable | undefined {
  if (answer instanceof Readable) return answer;
  const body = (answer as { body?: unknown } | null)?.body;
  return body instanceof Readable ? body : undefined;
}
