/**
 * The anti-entropy worker: compares, with every peer, the partitions both replicate, and copies
 * what differs, forever, at a bounded rate (differing partitions per second, body bytes per
 * second). Partitions queued by others (a dropped hint) go first, even in the middle of a pass.
 * `repairNow` asks for a full pass at once and resolves when it ends (`ringstore repair --wait`).
 */
import type { Metrics } from '../metrics/definitions.js';
import type { Clock, Timers } from '../util/clock.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Worker } from '../util/worker.js';
import { findDifferences, planPartitions, type ExchangeContext } from './exchange.js';
import { PARTITIONS, countMasked } from './merkle.js';
import { RateLimiter } from './rate-limiter.js';
import type { SharedPartitions } from './shared.js';
import type { MerklePeer, MerkleSource, PartitionPlacement, RepairItem, Repairer } from './types.js';

/** How the worker is paced (the `antiEntropy.*` config keys). */
export interface AntiEntropySettings {
  /** Milliseconds between the end of one full pass and the start of the next. */
  readonly intervalMs: number;
  /** Differing partitions compared key by key per second, at most. */
  readonly maxPartitionsPerSecond: number;
  /** Body bytes copied per second, at most. */
  readonly maxBytesPerSecond: number;
  /** Differing partitions compared per entries request. */
  readonly batchPartitions: number;
  /** `replication.tombstoneGraceMs`. */
  readonly tombstoneGraceMs: number;
  /** Copies in flight at once (default 1); heads and commits to one peer are batched, so more copies cost fewer round trips each. */
  readonly repairConcurrency?: number;
  /** Of those, copies of bodies over 64 KiB at once (default `repairConcurrency`): each holds a streamed read from its source. */
  readonly largeRepairConcurrency?: number;
}

/** Bodies over this size are streamed (the source's head does not carry them). */
const LARGE_BODY = 64 * 1024;

/** What the worker is built from. */
export interface AntiEntropyWorkerOptions {
  readonly self: string;
  readonly source: MerkleSource;
  /** The current placement (changes with the layout). */
  readonly placement: () => PartitionPlacement;
  readonly shared: SharedPartitions;
  /** The exchange client for a peer id. */
  readonly peer: (id: string) => MerklePeer;
  /** Peers believed down are skipped until the next pass. */
  readonly isUp?: (id: string) => boolean;
  readonly repairer: Repairer;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly metrics: Metrics | null;
  readonly settings: AntiEntropySettings;
  /**
   * Which planned copies this worker makes: 'both' (default) copies either way, 'pull' only
   * those whose target is this node. In a cluster every node pulls what it lacks, so a node
   * refilled after a lost disk receives each key once, not once from every peer.
   */
  readonly direction?: 'both' | 'pull';
  /** Called with the progress of each full pass once it ends (a refilling node learns it compared with every peer). */
  readonly onPassDone?: (progress: AntiEntropyProgress) => void;
}

/** Progress of the current (or last) full pass, for `ringstore repair` and `worker list`. */
export interface AntiEntropyProgress {
  /** Full passes completed since start. */
  readonly passes: number;
  /** A full pass is running. */
  readonly running: boolean;
  /** The peer being compared. */
  readonly peer?: string;
  /** Shared (peer, partition) pairs the pass covers. */
  readonly partitionsTotal: number;
  /** Pairs compared so far (equal subtrees count all their partitions). */
  readonly partitionsCompared: number;
  /** Pairs whose digests differed. */
  readonly partitionsDiffering: number;
  readonly keysRepaired: number;
  readonly bytesRepaired: number;
  /** Body bytes copies moved, applied or not (at least `bytesRepaired`). */
  readonly bytesMoved: number;
  readonly repairFailures: number;
  /** Peers skipped (down) or whose exchange failed in this pass. */
  readonly peersSkipped: number;
  /** Of those, peers believed up whose exchange failed. */
  readonly peersFailed: number;
  /** Peers whose exchange completed in this pass. */
  readonly peersCompared: number;
  /** Their ids: each was compared over every partition it shares with this node. */
  readonly comparedPeers: readonly string[];
  /** The ids of the peers skipped or failed in this pass. */
  readonly unreachedPeers: readonly string[];
  readonly startedMs?: number;
  readonly finishedMs?: number;
  /** Pairs compared per second over the pass so far. */
  readonly partitionsPerSecond: number;
  /** Bytes copied per second over the pass so far. */
  readonly bytesPerSecond: number;
  /** Milliseconds until the pass ends at the current rate (absent before anything is compared). */
  readonly etaMs?: number;
  /** Prioritized partitions waiting. */
  readonly queued: number;
}

interface PassCounters {
  partitionsTotal: number;
  partitionsCompared: number;
  partitionsDiffering: number;
  keysRepaired: number;
  bytesRepaired: number;
  bytesMoved: number;
  repairFailures: number;
  peersSkipped: number;
  peersFailed: number;
  peersCompared: number;
  comparedPeers: string[];
  unreachedPeers: string[];
  startedMs?: number;
  finishedMs?: number;
}

const emptyCounters = (): PassCounters => ({
  partitionsTotal: 0,
  partitionsCompared: 0,
  partitionsDiffering: 0,
  keysRepaired: 0,
  bytesRepaired: 0,
  bytesMoved: 0,
  repairFailures: 0,
  peersSkipped: 0,
  peersFailed: 0,
  peersCompared: 0,
  comparedPeers: [],
  unreachedPeers: [],
});

/** The `anti-entropy` background worker. */
export class AntiEntropyWorker implements Worker {
  readonly name = 'anti-entropy';
  readonly #o: AntiEntropyWorkerOptions;
  readonly #partitionRate: RateLimiter;
  readonly #byteRate: RateLimiter;
  readonly #queue = new Set<number>();
  readonly #peerQueue = new Set<string>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #inFlightLarge = new Set<Promise<void>>();
  /** Copies in flight, by target, key and version, so two plans never move the same body twice at once. */
  readonly #inFlightKeys = new Set<string>();
  #pass: PassCounters = emptyCounters();
  #passes = 0;
  #running = false;
  #peer: string | undefined;
  #lastPassEndMs: number | undefined;
  #requested: { resolve: (p: AntiEntropyProgress) => void; reject: (err: unknown) => void }[] = [];

  constructor(options: AntiEntropyWorkerOptions) {
    this.#o = options;
    const { clock, timers, settings } = options;
    this.#partitionRate = new RateLimiter(clock, timers, settings.maxPartitionsPerSecond);
    this.#byteRate = new RateLimiter(clock, timers, settings.maxBytesPerSecond);
  }

  /** Queues a partition to be compared with every peer sharing it before the rest of the pass. */
  prioritize(partition: number): void {
    if (Number.isInteger(partition) && partition >= 0 && partition < PARTITIONS) this.#queue.add(partition);
  }

  /**
   * Queues an exchange with `peer` alone (e.g. it just came back up), run before the next full
   * pass is due and between the peers of a running one.
   */
  exchangeWith(peer: string): void {
    if (peer !== this.#o.self) this.#peerQueue.add(peer);
  }

  /** Asks for a full pass now; resolves with its progress once it ends (rejects if it is aborted). */
  repairNow(): Promise<AntiEntropyProgress> {
    return new Promise((resolve, reject) => this.#requested.push({ resolve, reject }));
  }

  /** Progress of the current or last pass. */
  progress(): AntiEntropyProgress {
    const p = this.#pass;
    const end = p.finishedMs ?? this.#o.clock.now();
    const seconds = p.startedMs === undefined ? 0 : Math.max(end - p.startedMs, 1) / 1000;
    const partitionsPerSecond = seconds > 0 ? p.partitionsCompared / seconds : 0;
    const left = p.partitionsTotal - p.partitionsCompared;
    const etaMs = this.#running && partitionsPerSecond > 0 ? Math.round((left / partitionsPerSecond) * 1000) : undefined;
    return {
      passes: this.#passes,
      running: this.#running,
      ...(this.#peer === undefined ? {} : { peer: this.#peer }),
      partitionsTotal: p.partitionsTotal,
      partitionsCompared: p.partitionsCompared,
      partitionsDiffering: p.partitionsDiffering,
      keysRepaired: p.keysRepaired,
      bytesRepaired: p.bytesRepaired,
      bytesMoved: p.bytesMoved,
      repairFailures: p.repairFailures,
      peersSkipped: p.peersSkipped,
      peersFailed: p.peersFailed,
      peersCompared: p.peersCompared,
      comparedPeers: [...p.comparedPeers],
      unreachedPeers: [...p.unreachedPeers],
      ...(p.startedMs === undefined ? {} : { startedMs: p.startedMs }),
      ...(p.finishedMs === undefined ? {} : { finishedMs: p.finishedMs }),
      partitionsPerSecond,
      bytesPerSecond: seconds > 0 ? p.bytesRepaired / seconds : 0,
      ...(etaMs === undefined ? {} : { etaMs }),
      queued: this.#queue.size + this.#peerQueue.size,
    };
  }

  status(): Record<string, unknown> {
    return { ...this.progress() };
  }

  /**
   * One step: the prioritized partitions, then a full pass when one is asked for or
   * `intervalMs` has passed since the last one ended. Drive it often (e.g. every second).
   */
  async runOnce(signal: AbortSignal): Promise<void> {
    await this.#drainQueue(signal);
    await this.#drainPeers(signal);
    const due = this.#lastPassEndMs === undefined || this.#o.clock.now() - this.#lastPassEndMs >= this.#o.settings.intervalMs;
    if (this.#requested.length === 0 && !due) return;
    const waiters = this.#requested;
    this.#requested = [];
    try {
      await this.#fullPass(signal);
    } catch (err) {
      for (const w of waiters) w.reject(err);
      throw err;
    }
    const progress = this.progress();
    for (const w of waiters) w.resolve(progress);
  }

  async #fullPass(signal: AbortSignal): Promise<void> {
    const placement = this.#o.placement();
    const masks = [...this.#o.shared.masks(placement)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.#pass = { ...emptyCounters(), startedMs: this.#o.clock.now(), partitionsTotal: masks.reduce((n, [, mask]) => n + countMasked(mask, 0, PARTITIONS), 0) };
    this.#running = true;
    try {
      for (const [id, mask] of masks) {
        if (this.#o.isUp && !this.#o.isUp(id)) {
          this.#pass.peersSkipped++;
          this.#pass.unreachedPeers.push(id);
          continue;
        }
        await this.#drainPeers(signal);
        this.#peer = id;
        try {
          await this.#exchange({ self: this.#o.self, peer: this.#o.peer(id), source: this.#o.source, layoutVersion: placement.layoutVersion, mask }, signal, true);
          this.#pass.peersCompared++;
          this.#pass.comparedPeers.push(id);
        } catch (err) {
          if (signal.aborted) throw err;
          this.#pass.peersSkipped++;
          this.#pass.peersFailed++;
          this.#pass.unreachedPeers.push(id);
          this.#o.logger.warn({ peer: id, err: describeError(err) }, 'anti-entropy exchange failed; next pass retries');
        }
      }
    } finally {
      this.#peer = undefined;
      this.#running = false;
      this.#pass.finishedMs = this.#o.clock.now();
      this.#lastPassEndMs = this.#pass.finishedMs;
    }
    this.#passes++;
    this.#o.logger.info({ ...this.progress() }, 'anti-entropy pass done');
    this.#o.onPassDone?.(this.progress());
  }

  /** One exchange with one peer; `counted` ones are part of the full pass's progress. */
  async #exchange(ctx: ExchangeContext, signal: AbortSignal, counted: boolean): Promise<void> {
    try {
      const { differing, equal } = await findDifferences(ctx, signal);
      if (counted) {
        this.#compared(equal);
        this.#pass.partitionsDiffering += differing.length;
      }
      const batch = this.#o.settings.batchPartitions;
      for (let i = 0; i < differing.length; i += batch) {
        await this.#drainQueue(signal);
        const partitions = differing.slice(i, i + batch);
        await this.#compare(ctx, partitions, signal);
        if (counted) this.#compared(partitions.length);
      }
    } finally {
      // The next exchange must see this one's copies, or it would plan them again.
      await this.#settle();
    }
    signal.throwIfAborted();
  }

  /** Exchanges with each queued peer that is up and shares partitions with this node. */
  async #drainPeers(signal: AbortSignal): Promise<void> {
    if (this.#peerQueue.size === 0) return;
    const placement = this.#o.placement();
    const masks = this.#o.shared.masks(placement);
    for (const id of this.#peerQueue) {
      this.#peerQueue.delete(id);
      const mask = masks.get(id);
      if (mask === undefined || (this.#o.isUp && !this.#o.isUp(id))) continue;
      try {
        await this.#exchange({ self: this.#o.self, peer: this.#o.peer(id), source: this.#o.source, layoutVersion: placement.layoutVersion, mask }, signal, false);
      } catch (err) {
        if (signal.aborted) throw err;
        this.#o.logger.warn({ peer: id, err: describeError(err) }, 'anti-entropy exchange with a peer back up failed; the next pass retries');
      }
    }
  }

  #compared(n: number): void {
    this.#pass.partitionsCompared += n;
    this.#o.metrics?.antiEntropyPartitionsCompared.inc(n);
  }

  /** Compares each queued partition with every (live) peer that shares it. */
  async #drainQueue(signal: AbortSignal): Promise<void> {
    if (this.#queue.size === 0) return;
    const placement = this.#o.placement();
    const masks = this.#o.shared.masks(placement);
    for (const partition of this.#queue) {
      this.#queue.delete(partition);
      for (const [id, mask] of masks) {
        if (mask[partition] !== 1 || (this.#o.isUp && !this.#o.isUp(id))) continue;
        try {
          await this.#compare({ self: this.#o.self, peer: this.#o.peer(id), source: this.#o.source, layoutVersion: placement.layoutVersion, mask }, [partition], signal);
        } catch (err) {
          if (signal.aborted) throw err;
          this.#o.logger.warn({ peer: id, partition, err: describeError(err) }, 'anti-entropy of a queued partition failed; the next pass covers it');
        }
      }
    }
    await this.#settle();
    signal.throwIfAborted();
  }

  async #compare(ctx: ExchangeContext, partitions: readonly number[], signal: AbortSignal): Promise<void> {
    await this.#partitionRate.take(partitions.length, signal);
    const items = await planPartitions(ctx, partitions, { nowMs: this.#o.clock.now(), tombstoneGraceMs: this.#o.settings.tombstoneGraceMs }, signal);
    for (const item of items) {
      if (this.#o.direction === 'pull' && item.target !== this.#o.self) continue;
      await this.#submit(item, signal);
    }
  }

  /** Starts a copy once fewer than `repairConcurrency` run (skipping one already in flight). */
  async #submit(item: RepairItem, signal: AbortSignal): Promise<void> {
    const id = `${item.target}\0${item.bucket}\0${item.key}\0${item.version.hlc}\0${item.version.node}`;
    if (this.#inFlightKeys.has(id)) return;
    const limit = Math.max(1, this.#o.settings.repairConcurrency ?? 1);
    const large = item.size > LARGE_BODY;
    const largeLimit = Math.max(1, Math.min(limit, this.#o.settings.largeRepairConcurrency ?? limit));
    while (this.#inFlight.size >= limit || (large && this.#inFlightLarge.size >= largeLimit))
      await Promise.race(large && this.#inFlightLarge.size >= largeLimit ? this.#inFlightLarge : this.#inFlight);
    signal.throwIfAborted();
    this.#inFlightKeys.add(id);
    const running: Promise<void> = this.#repair(item, signal).finally(() => {
      this.#inFlight.delete(running);
      this.#inFlightLarge.delete(running);
      this.#inFlightKeys.delete(id);
    });
    this.#inFlight.add(running);
    if (large) this.#inFlightLarge.add(running);
  }

  /** Waits for every copy in flight. */
  async #settle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.race(this.#inFlight);
  }

  /** One copy; never rejects (an abort is seen by the caller through its signal). */
  async #repair(item: RepairItem, signal: AbortSignal): Promise<void> {
    try {
      await this.#byteRate.take(item.size, signal);
      const outcome = await this.#o.repairer.copy(item, signal);
      this.#pass.bytesMoved += outcome.moved ?? outcome.bytes;
      if (!outcome.applied) return;
      this.#pass.keysRepaired++;
      this.#pass.bytesRepaired += outcome.bytes;
      this.#o.metrics?.antiEntropyKeysRepaired.inc({ reason: item.reason });
      this.#o.metrics?.antiEntropyBytesRepaired.inc(outcome.bytes);
    } catch (err) {
      if (signal.aborted) return;
      this.#pass.repairFailures++;
      this.#o.metrics?.antiEntropyRepairFailures.inc();
      this.#o.logger.warn({ source: item.source, target: item.target, partition: item.partition, err: describeError(err) }, 'anti-entropy copy failed; next pass retries');
    }
  }
}
