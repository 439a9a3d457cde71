/**
 * Time and versions. A version is `(hlc, node)`: a hybrid logical clock timestamp packed into
 * one safe integer (`wallMs * 1024 + logical`), tie-broken by node id. Newest version wins.
 * The wall clock is injected so the simulator can drive time.
 */

/** Source of wall-clock milliseconds. Injected; never read Date.now() directly in core code. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** One object version: newest `hlc` wins, equal `hlc` is decided by `node` (string order). */
export interface Version {
  readonly hlc: number;
  readonly node: string;
}

const LOGICAL_BITS = 1024;

/** Orders versions: negative when a is older than b, 0 when equal, positive when newer. */
export function compareVersions(a: Version, b: Version): number {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** The wall-clock milliseconds encoded in an HLC value (used for Last-Modified). */
export function hlcWallMs(hlc: number): number {
  return Math.floor(hlc / LOGICAL_BITS);
}

/**
 * Durable upper bound of the versions a clock has issued (persisted in the data dir), so that
 * after a restart the clock begins above everything it issued before, even when the wall
 * clock went back meanwhile.
 */
export interface HighWaterMark {
  /** Resolves once the persisted bound is above `wallMs`; cheap when it already is. */
  cover(wallMs: number): Promise<void>;
}

/** Options of a hybrid clock. */
export interface HybridClockOptions {
  /** `observe` refuses versions whose wall part is further than this ahead of the local wall clock. */
  readonly maxAheadMs?: number;
  /** Called when `observe` refuses a version (log and metric). */
  readonly onRefused?: (hlc: number, aheadMs: number) => void;
  /** Wall ms every version issued before this process started lies below (the loaded high-water mark). */
  readonly floorMs?: number;
  /** Where `issue` makes its versions durable before they leave the node. */
  readonly highWater?: HighWaterMark;
}

/**
 * Hybrid logical clock: monotonic even when the wall clock steps back, and pulled forward by
 * versions seen from other nodes so that a later write always gets a higher version. A version
 * from a clock further ahead than `maxAheadMs` is not adopted: it would carry this node's
 * versions into the skewed future too.
 */
export class HybridClock {
  readonly #clock: Clock;
  readonly #node: string;
  readonly #options: HybridClockOptions;
  #last = 0;

  constructor(node: string, clock: Clock = systemClock, options: HybridClockOptions = {}) {
    this.#node = node;
    this.#clock = clock;
    this.#options = options;
    if (options.floorMs !== undefined) this.#last = options.floorMs * LOGICAL_BITS;
  }

  /** A fresh version, greater than every version this clock has issued or observed. */
  next(): Version {
    const physical = this.#clock.now() * LOGICAL_BITS;
    this.#last = physical > this.#last ? physical : this.#last + 1;
    return { hlc: this.#last, node: this.#node };
  }

  /** Like `next`, once the high-water mark covers the version (so it may leave the node). */
  async issue(): Promise<Version> {
    const version = this.next();
    await this.#options.highWater?.cover(hlcWallMs(version.hlc));
    return version;
  }

  /**
   * Moves the clock past a version seen elsewhere, unless it lies further than `maxAheadMs`
   * ahead of the local wall clock. Returns whether the version is acceptable (adopted or older).
   */
  observe(hlc: number): boolean {
    const { maxAheadMs } = this.#options;
    if (maxAheadMs !== undefined) {
      const aheadMs = hlcWallMs(hlc) - this.#clock.now();
      if (aheadMs > maxAheadMs) {
        this.#options.onRefused?.(hlc, aheadMs);
        return false;
      }
    }
    if (hlc > this.#last) this.#last = hlc;
    return true;
  }

  /** The wall clock's reading (ms), without issuing a version. */
  wallNow(): number {
    return this.#clock.now();
  }

  /** `maxAheadMs` (a node's cluster.maxClockOffsetMs): how far apart two clocks in step may read; undefined when unbounded. */
  get uncertaintyMs(): number | undefined {
    return this.#options.maxAheadMs;
  }

  /** How far (ms) the wall clock is behind the floor this clock started from; 0 once past it. */
  behindFloorMs(): number {
    const floor = this.#options.floorMs;
    return floor === undefined ? 0 : Math.max(0, floor - this.#clock.now());
  }
}

/** A pending timer; `unref` lets the process exit while it waits (background work). */
export interface Timer {
  unref?(): void;
}

/**
 * Source of timers. Injected like `Clock`, so a simulation in virtual time decides when a timer
 * fires; core code never calls the global setTimeout/setInterval directly.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer): void;
}

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};

/** Resolves after `ms` on `timers`; rejects with the signal's reason when it aborts first. */
export function sleep(timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      timers.clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = timers.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * An AbortSignal that aborts with a TimeoutError after `ms` on `timers` (AbortSignal.timeout
 * runs on the real clock, and on Node 20 can be collected before it fires inside AbortSignal.any).
 * Call `clear` once the work is done so the timer does not linger.
 */
export function timeoutSignal(timers: Timers, ms: number): { readonly signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = timers.setTimeout(() => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')), ms);
  return { signal: controller.signal, clear: () => timers.clearTimeout(timer) };
}

/** A clock and the timers that run on it, for code that measures idleness (body guards). */
export interface TimeSource {
  readonly clock: Clock;
  readonly timers: Timers;
}

export const systemTime: TimeSource = { clock: systemClock, timers: systemTimers };
