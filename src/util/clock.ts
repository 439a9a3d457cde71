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
 * Hybrid logical clock: monotonic even when the wall clock steps back, and pulled forward by
 * versions seen from other nodes so that a later write always gets a higher version.
 */
export class HybridClock {
  readonly #clock: Clock;
  readonly #node: string;
  #last = 0;

  constructor(node: string, clock: Clock = systemClock) {
    this.#node = node;
    this.#clock = clock;
  }

  /** A fresh version, greater than every version this clock has issued or observed. */
  next(): Version {
    const physical = this.#clock.now() * LOGICAL_BITS;
    this.#last = physical > this.#last ? physical : this.#last + 1;
    return { hlc: this.#last, node: this.#node };
  }

  /** Moves the clock past a version seen elsewhere. */
  observe(hlc: number): void {
    if (hlc > this.#last) this.#last = hlc;
  }
}
