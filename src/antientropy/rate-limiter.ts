/**
 * A pacing limiter for background work (partitions per second, bytes per second): each `take`
 * books its units and waits, on the injected timers, until the booked work fits the rate. Up to
 * one second of work may run ahead without waiting, so a pass that finds little to do is not
 * slowed, while a long repair settles at the rate.
 */
import { sleep, type Clock, type Timers } from '../util/clock.js';

/** Average-rate limiter on injected time. */
export class RateLimiter {
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #msPerUnit: number;
  readonly #burstMs: number;
  /** When the work booked so far would be done at the rate. */
  #doneAt = Number.NEGATIVE_INFINITY;

  /** `perSecond` units per second on average (Infinity: never waits); `burstMs` of work may run ahead. */
  constructor(clock: Clock, timers: Timers, perSecond: number, burstMs = 1000) {
    this.#clock = clock;
    this.#timers = timers;
    this.#msPerUnit = 1000 / perSecond;
    this.#burstMs = burstMs;
  }

  /** Books `units` and resolves once they fit the rate; rejects when `signal` aborts first. */
  async take(units: number, signal?: AbortSignal): Promise<void> {
    if (this.#msPerUnit === 0 || units <= 0) return;
    const now = this.#clock.now();
    const start = Math.max(this.#doneAt, now);
    this.#doneAt = start + units * this.#msPerUnit;
    const wait = this.#doneAt - now - this.#burstMs;
    if (wait > 0) await sleep(this.#timers, wait, signal);
  }
}
