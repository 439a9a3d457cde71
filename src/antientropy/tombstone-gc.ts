/**
 * Tombstone GC: purges (`forget`) a tombstone once it is older than `replication.tombstoneGraceMs`
 * and every other replica of its partition, asked now, holds that same tombstone version or
 * nothing at all for the key. Any replica that cannot be asked, or holds another version (an older
 * live one it missed the delete for, or a newer one), keeps the tombstone here until a later pass:
 * a replica that was away while the key was deleted therefore finds the tombstone still held by the
 * others when it returns, and read repair or anti-entropy overwrite its stale copy with it (a
 * tombstone, however old, always replaces an older live version). Each replica decides for itself;
 * one that purged answers "nothing", which lets the others purge too (docs/consistency.md,
 * "Deletes and tombstone GC", says why that is safe).
 */
import type { Metrics } from '../metrics/definitions.js';
import type { PartitionEntry, ScanPage, ScanPartitionOptions } from '../store/types.js';
import { compareVersions, hlcWallMs, type Clock, type Version } from '../util/clock.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Worker } from '../util/worker.js';
import { occupiedPartitions } from './occupied.js';

/** What the GC reads and purges in this node's store (`LocalStore` implements it). */
export interface TombstoneSource {
  partitionDigests(): BigUint64Array;
  scanPartition(p: number, options: ScanPartitionOptions): Promise<ScanPage<PartitionEntry>>;
  /** Removes the key if this replica holds exactly `version`; false otherwise. */
  forget(bucket: string, key: string, version: Version): Promise<boolean>;
}

/** What a replica answers for a key: its newest record's version, or undefined when it holds none. */
export interface HeldVersion {
  readonly version: Version;
  readonly tombstone: boolean;
}

/** What the worker is built from. */
export interface TombstoneGcOptions {
  readonly self: string;
  readonly source: TombstoneSource;
  /** Ids of the replicas (not fallbacks) of partition p under the current layout. */
  ownersOf(partition: number): readonly string[];
  /** What `owner` holds for the key now (its head); rejects when it cannot be asked. */
  headOn(owner: string, bucket: string, key: string, signal: AbortSignal): Promise<HeldVersion | undefined>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics | null;
  readonly settings: {
    /** `replication.tombstoneGraceMs`: younger tombstones are never purged. */
    readonly graceMs: number;
    /** `tombstoneGc.intervalMs`: from the end of one pass to the start of the next. */
    readonly intervalMs: number;
  };
}

/** What the last (or current) pass did. */
export interface TombstoneGcProgress {
  readonly passes: number;
  readonly running: boolean;
  /** Tombstones older than the grace this pass looked at. */
  readonly expired: number;
  readonly purged: number;
  /** Kept because a replica could not be asked. */
  readonly keptUnreachable: number;
  /** Kept because a replica holds another version of the key. */
  readonly keptDiffering: number;
  readonly purgedTotal: number;
  readonly startedMs?: number;
  readonly finishedMs?: number;
}

const SCAN_PAGE = 512;

interface Counters {
  expired: number;
  purged: number;
  keptUnreachable: number;
  keptDiffering: number;
  startedMs?: number;
  finishedMs?: number;
}

/** The `tombstone-gc` background worker. */
export class TombstoneGcWorker implements Worker {
  readonly name = 'tombstone-gc';
  readonly #o: TombstoneGcOptions;
  #pass: Counters = { expired: 0, purged: 0, keptUnreachable: 0, keptDiffering: 0 };
  #passes = 0;
  #purgedTotal = 0;
  #running = false;
  #lastEndMs: number | undefined;

  constructor(options: TombstoneGcOptions) {
    this.#o = options;
  }

  progress(): TombstoneGcProgress {
    return { passes: this.#passes, running: this.#running, ...this.#pass, purgedTotal: this.#purgedTotal };
  }

  status(): Record<string, unknown> {
    return { ...this.progress() };
  }

  /** A full pass when `intervalMs` has passed since the last one ended (at once the first time). */
  async runOnce(signal: AbortSignal): Promise<void> {
    if (this.#lastEndMs !== undefined && this.#o.clock.now() - this.#lastEndMs < this.#o.settings.intervalMs) return;
    await this.pass(signal);
  }

  /** One full pass over every partition this node holds keys of. */
  async pass(signal: AbortSignal): Promise<TombstoneGcProgress> {
    this.#pass = { expired: 0, purged: 0, keptUnreachable: 0, keptDiffering: 0, startedMs: this.#o.clock.now() };
    this.#running = true;
    try {
      for (const p of occupiedPartitions(this.#o.source.partitionDigests())) {
        const owners = this.#o.ownersOf(p);
        // Keys of a partition this node does not own (a fallback's hinted copies) are hint delivery's to drop.
        if (!owners.includes(this.#o.self)) continue;
        let after: string | undefined;
        do {
          if (signal.aborted) throw signal.reason;
          const page = await this.#o.source.scanPartition(p, { ...(after === undefined ? {} : { after }), limit: SCAN_PAGE });
          for (const entry of page.entries) if (entry.tombstone && this.#expired(entry.version)) await this.#consider(entry, owners, signal);
          after = page.next;
        } while (after !== undefined);
      }
    } finally {
      this.#running = false;
      this.#pass.finishedMs = this.#o.clock.now();
      this.#lastEndMs = this.#pass.finishedMs;
    }
    this.#passes++;
    if (this.#pass.expired > 0) this.#o.logger.info({ ...this.progress() }, 'tombstone GC pass done');
    return this.progress();
  }

  #expired(version: Version): boolean {
    return this.#o.clock.now() - hlcWallMs(version.hlc) > this.#o.settings.graceMs;
  }

  async #consider(entry: PartitionEntry, owners: readonly string[], signal: AbortSignal): Promise<void> {
    this.#pass.expired++;
    const { bucket, key, version } = entry;
    for (const owner of owners) {
      if (owner === this.#o.self) continue;
      let held: HeldVersion | undefined;
      try {
        held = await this.#o.headOn(owner, bucket, key, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        this.#pass.keptUnreachable++;
        this.#o.logger.debug({ owner, err: describeError(err) }, 'tombstone kept: a replica could not be asked');
        return;
      }
      if (held !== undefined && !(held.tombstone && compareVersions(held.version, version) === 0)) {
        this.#pass.keptDiffering++;
        return;
      }
    }
    if (await this.#o.source.forget(bucket, key, version)) {
      this.#pass.purged++;
      this.#purgedTotal++;
      this.#o.metrics?.tombstonesPurged.inc();
    }
  }
}
