/**
 * The `store-gc` worker: runs the local store's orphan collection on an interval (and once at
 * start, before the node serves, when nothing can be mid-stage), and counts what it deleted.
 */
import { systemClock, type Clock } from '../util/clock.js';
import type { Worker } from '../util/worker.js';
import type { Metrics } from '../metrics/definitions.js';
import type { LocalStore, OrphanCounts } from './types.js';

/** Construction options of an OrphanCollector. */
export interface OrphanCollectorOptions {
  /** Files and stages younger than this are left alone by the periodic passes. */
  readonly olderThanMs: number;
  readonly metrics: Metrics | null;
  /** Clock of `lastRunMs`; the system's by default. */
  readonly clock?: Clock;
}

/** Collects the local store's orphans; a no-op for stores that cannot leak. */
export class OrphanCollector implements Worker {
  readonly name = 'store-gc';
  readonly #store: LocalStore;
  readonly #olderThanMs: number;
  readonly #metrics: Metrics | null;
  readonly #clock: Clock;
  #runs = 0;
  #totals: OrphanCounts = { temp: 0, staged: 0, unreferenced: 0 };
  #lastRunMs: number | undefined;

  constructor(store: LocalStore, options: OrphanCollectorOptions) {
    this.#store = store;
    this.#olderThanMs = options.olderThanMs;
    this.#metrics = options.metrics;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * The pass at start: every leftover of the previous run is garbage, whatever its age, since no
   * stage of this process exists yet. Must run before the node accepts requests.
   */
  async startupPass(): Promise<OrphanCounts> {
    return this.#collect(0);
  }

  async runOnce(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    await this.#collect(this.#olderThanMs);
  }

  status(): Record<string, unknown> {
    return { runs: this.#runs, lastRunMs: this.#lastRunMs, collected: this.#totals };
  }

  async #collect(olderThanMs: number): Promise<OrphanCounts> {
    const counts = (await this.#store.collectOrphans?.({ olderThanMs })) ?? { temp: 0, staged: 0, unreferenced: 0 };
    this.#runs++;
    this.#lastRunMs = this.#clock.now();
    this.#totals = { temp: this.#totals.temp + counts.temp, staged: this.#totals.staged + counts.staged, unreferenced: this.#totals.unreferenced + counts.unreferenced };
    for (const kind of ['temp', 'staged', 'unreferenced'] as const) {
      if (counts[kind] > 0) this.#metrics?.gcCollected.inc({ kind }, counts[kind]);
    }
    return counts;
  }
}
