/**
 * Failure detector: pings every peer, each on its own schedule, so that a hung peer's slow
 * pings never delay the others'. A peer that misses one ping is suspected (still asked); it is
 * marked down (coordinators then skip it instead of waiting for timeouts) when
 * - its connect was refused twice in a row (a crashed process closes its port: fast, strong
 *   evidence; one refusal alone may be a restart in progress, so it is confirmed once after
 *   `confirmAfterMs`), or
 * - it missed `downAfterMisses` pings in a row (a hung process accepts connections and never
 *   answers: only timeouts tell).
 * Any successful ping marks it up again.
 */
import type { Metrics } from '../metrics/definitions.js';
import { sleep, systemTimers, type Timer, type Timers } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Worker, WorkerHandle } from '../util/worker.js';
import { describeError } from '../util/errors.js';
import type { Membership, Liveness } from './membership.js';
import { classifyPingFailure, type PingFailure } from './ping-outcome.js';

/** How the detector reaches a peer. */
export type PingFn = (peerId: string, address: string, signal: AbortSignal) => Promise<void>;

/** Refused connects in a row that mark a peer down (the first one is confirmed by a second). */
export const REFUSALS_FOR_DOWN = 2;

/** Options of the failure detector. */
export interface FailureDetectorOptions {
  membership: Membership;
  ping: PingFn;
  /** A ping taking longer than this counts as missed. */
  pingTimeoutMs: number;
  downAfterMisses: number;
  logger: Logger;
  /** Milliseconds between two pings of a peer that answered (used by `start`). Default 500. */
  intervalMs?: number;
  /** Delay before re-pinging a peer whose ping failed fast (refused, reset). Default 100. */
  confirmAfterMs?: number;
  /** Timers for ping deadlines and schedules; the system's by default. */
  timers?: Timers;
  metrics?: Metrics | null;
  /** Called when a peer changes state (metrics, hint delivery). */
  onChange?: (peerId: string, state: Liveness) => void;
}

/** What one probe found. */
type ProbeResult = 'ok' | PingFailure | 'aborted';

/** Pings peers: all once per `runOnce` (tests, `worker list`), or each on its own loop after `start`. */
export class FailureDetector implements Worker {
  readonly name = 'failure-detector';
  readonly #options: FailureDetectorOptions;
  readonly #timers: Timers;
  readonly #misses = new Map<string, number>();
  readonly #refusals = new Map<string, number>();
  #rounds = 0;

  constructor(options: FailureDetectorOptions) {
    this.#options = options;
    this.#timers = options.timers ?? systemTimers;
  }

  async runOnce(signal: AbortSignal): Promise<void> {
    const { membership } = this.#options;
    await Promise.all(membership.peers().map((peer) => this.#probe(peer.id, peer.address, signal)));
    this.#rounds++;
  }

  /**
   * Probes every peer in a loop of its own until stopped: after an answer the next ping is
   * `intervalMs` later, after a fast failure `confirmAfterMs` later, after a timeout at once
   * (the timeout already waited). Peers that join the layout get a loop within `intervalMs`.
   */
  start(): WorkerHandle {
    const { membership } = this.#options;
    const intervalMs = this.#options.intervalMs ?? 500;
    const controller = new AbortController();
    const loops = new Map<string, Promise<void>>();
    let sweepTimer: Timer | undefined;
    const sweep = (): void => {
      if (controller.signal.aborted) return;
      for (const peer of membership.peers()) {
        if (loops.has(peer.id)) continue;
        loops.set(
          peer.id,
          this.#loop(peer.id, intervalMs, controller.signal).finally(() => loops.delete(peer.id)),
        );
      }
      sweepTimer = this.#timers.setTimeout(sweep, intervalMs);
      sweepTimer.unref?.();
    };
    sweep();
    return {
      worker: this,
      stop: async () => {
        controller.abort();
        if (sweepTimer !== undefined) this.#timers.clearTimeout(sweepTimer);
        await Promise.all([...loops.values()]);
      },
    };
  }

  status(): Record<string, unknown> {
    const { membership } = this.#options;
    return {
      rounds: this.#rounds,
      peers: Object.fromEntries(membership.peers().map((p) => [p.id, membership.liveness(p.id)])),
    };
  }

  async #loop(peerId: string, intervalMs: number, signal: AbortSignal): Promise<void> {
    const { membership } = this.#options;
    const confirmAfterMs = this.#options.confirmAfterMs ?? 100;
    while (!signal.aborted) {
      const peer = membership.peers().find((p) => p.id === peerId);
      if (peer === undefined) return;
      const result = await this.#probe(peer.id, peer.address, signal);
      const delay = result === 'timeout' ? 0 : result === 'ok' || membership.liveness(peerId) === 'down' ? intervalMs : confirmAfterMs;
      if (delay > 0) await sleep(this.#timers, delay, signal).catch(() => undefined);
    }
  }

  async #probe(peerId: string, address: string, signal: AbortSignal): Promise<ProbeResult> {
    const { membership, ping, pingTimeoutMs, downAfterMisses, logger } = this.#options;
    let next: Liveness;
    let result: ProbeResult;
    // Not AbortSignal.any([signal, AbortSignal.timeout()]): on Node 20 the timeout signal can be
    // garbage-collected before it fires (nodejs/node#57736), leaving a hung ping waiting for the
    // RPC deadline; and each call would register one more dependant on the long-lived signal.
    const deadline = new AbortController();
    let timedOut = false;
    const onAbort = (): void => deadline.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const timer = this.#timers.setTimeout(() => {
      timedOut = true;
      deadline.abort(new DOMException(`ping timed out after ${pingTimeoutMs} ms`, 'TimeoutError'));
    }, pingTimeoutMs);
    timer.unref?.();
    try {
      await ping(peerId, address, deadline.signal);
      this.#misses.set(peerId, 0);
      this.#refusals.set(peerId, 0);
      next = 'up';
      result = 'ok';
    } catch (err) {
      if (signal.aborted) return 'aborted';
      result = classifyPingFailure(err, timedOut);
      const misses = (this.#misses.get(peerId) ?? 0) + 1;
      const refusals = result === 'refused' ? (this.#refusals.get(peerId) ?? 0) + 1 : result === 'timeout' ? 0 : (this.#refusals.get(peerId) ?? 0);
      this.#misses.set(peerId, misses);
      this.#refusals.set(peerId, refusals);
      next = misses >= downAfterMisses || refusals >= REFUSALS_FOR_DOWN ? 'down' : 'suspect';
      if (misses === 1 || (next === 'down' && membership.liveness(peerId) !== 'down')) logger.debug({ peer: peerId, misses, refusals, failure: result, err: describeError(err) }, 'ping missed');
    } finally {
      this.#timers.clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
    this.#set(peerId, next);
    return result;
  }

  #set(peerId: string, next: Liveness): void {
    const { membership, logger, onChange, metrics } = this.#options;
    const before = membership.setLiveness(peerId, next);
    if (before !== next && (before !== undefined || next !== 'up')) {
      logger.info({ peer: peerId, from: before ?? 'up', to: next }, 'peer liveness changed');
      metrics?.peerStateChanges.inc({ peer: peerId, to: next });
      onChange?.(peerId, next);
    }
  }
}
