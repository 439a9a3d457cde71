/**
 * Failure detector: pings every peer on an interval. A peer that misses one ping is
 * suspected, one that misses `downAfterMisses` in a row is marked down (coordinators then
 * skip it instead of waiting for timeouts); any successful ping marks it up again.
 */
import { systemTimers, type Timers } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Worker } from '../util/worker.js';
import { describeError } from '../util/errors.js';
import type { Membership, Liveness } from './membership.js';

/** How the detector reaches a peer. */
export type PingFn = (peerId: string, address: string, signal: AbortSignal) => Promise<void>;

/** Options of the failure detector. */
export interface FailureDetectorOptions {
  membership: Membership;
  ping: PingFn;
  /** A ping taking longer than this counts as missed. */
  pingTimeoutMs: number;
  downAfterMisses: number;
  logger: Logger;
  /** Called when a peer changes state (metrics, hint delivery). */
  onChange?: (peerId: string, state: Liveness) => void;
  /** Timers of the ping deadline; the system's by default. */
  timers?: Timers;
}

/** Pings all peers once per `runOnce`. */
export class FailureDetector implements Worker {
  readonly name = 'failure-detector';
  readonly #options: FailureDetectorOptions;
  readonly #misses = new Map<string, number>();
  #rounds = 0;

  constructor(options: FailureDetectorOptions) {
    this.#options = options;
  }

  async runOnce(signal: AbortSignal): Promise<void> {
    const { membership } = this.#options;
    await Promise.all(membership.peers().map((peer) => this.#probe(peer.id, peer.address, signal)));
    this.#rounds++;
  }

  status(): Record<string, unknown> {
    const { membership } = this.#options;
    return {
      rounds: this.#rounds,
      peers: Object.fromEntries(membership.peers().map((p) => [p.id, membership.liveness(p.id)])),
    };
  }

  async #probe(peerId: string, address: string, signal: AbortSignal): Promise<void> {
    const { membership, ping, pingTimeoutMs, downAfterMisses, logger, onChange } = this.#options;
    const timers = this.#options.timers ?? systemTimers;
    let next: Liveness;
    // Not AbortSignal.any([signal, AbortSignal.timeout()]): on Node 20 the timeout signal can be
    // garbage-collected before it fires (nodejs/node#57736), leaving a hung ping waiting for the
    // RPC deadline; and each call would register one more dependant on the long-lived signal.
    const deadline = new AbortController();
    const onAbort = (): void => deadline.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const timer = timers.setTimeout(() => deadline.abort(new DOMException(`ping timed out after ${pingTimeoutMs} ms`, 'TimeoutError')), pingTimeoutMs);
    timer.unref?.();
    try {
      await ping(peerId, address, deadline.signal);
      this.#misses.set(peerId, 0);
      next = 'up';
    } catch (err) {
      if (signal.aborted) return;
      const misses = (this.#misses.get(peerId) ?? 0) + 1;
      this.#misses.set(peerId, misses);
      next = misses >= downAfterMisses ? 'down' : 'suspect';
      if (misses === 1 || misses === downAfterMisses) logger.debug({ peer: peerId, misses, err: describeError(err) }, 'ping missed');
    } finally {
      timers.clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
    const before = membership.setLiveness(peerId, next);
    if (before !== next && (before !== undefined || next !== 'up')) {
      logger.info({ peer: peerId, from: before ?? 'up', to: next }, 'peer liveness changed');
      onChange?.(peerId, next);
    }
  }
}
