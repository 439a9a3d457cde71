/**
 * The scrub worker: re-reads every body this node stores, partition by partition, through the
 * store's own read path (which checks each block's and the whole body's CRC32 and quarantines a
 * copy that fails), at a bounded rate, so a copy that rots on disk is found before a second copy
 * can rot too. A corrupt copy is reported to `onCorrupt`, which the node wires to a repair from a
 * good replica; a copy found already quarantined (by a read whose repair failed) is reported
 * again, so it is never left without a body. The pass position is persisted in the store (the
 * `scrub-cursor` meta record: the pass start, the partition and the cursor inside it, or when the
 * pass ended), at most once a second and when the worker stops, so a restart resumes the pass
 * instead of starting over, and the next pass is due `intervalMs` after the persisted start: the
 * "whole store every 7 days" holds across restarts. A restart repeats at most the last second's
 * reads (the cursor saved before it); the counters of a resumed pass count from the resume.
 */
import type { Readable } from 'node:stream';
import type { Metrics } from '../metrics/definitions.js';
import type { PartitionEntry, ScanPage, ScanPartitionOptions } from '../store/types.js';
import type { Clock, Timers, Version } from '../util/clock.js';
import { RingstoreError, describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { isRecycling } from '../util/send-body.js';
import type { Worker } from '../util/worker.js';
import { PARTITIONS } from './merkle.js';
import { occupiedPartitions } from './occupied.js';
import { RateLimiter } from './rate-limiter.js';

/** What scrub reads from this node's store (`LocalStore` implements it). */
export interface ScrubSource {
  /** The 65,536 partition digests; 0n marks an empty partition, which is not scanned. */
  partitionDigests(): BigUint64Array;
  scanPartition(p: number, options: ScanPartitionOptions): Promise<ScanPage<PartitionEntry>>;
  /** The checked read: the stream errors with CorruptBody (and the store quarantines the copy) when it does not match. */
  read(bucket: string, key: string, version: Version, range?: undefined, signal?: AbortSignal): Promise<Readable>;
  /** The persisted cursor (`LocalStore.getMeta`/`putMeta`). */
  getMeta(name: string): Promise<Buffer | undefined>;
  putMeta(name: string, value: Buffer): Promise<void>;
}

/** The meta record the pass position is kept in. */
export const SCRUB_CURSOR_META = 'scrub-cursor';

/** The persisted position: the pass start and where it stands, or when it ended. */
export interface ScrubCursor {
  /** Clock time the pass started (the next one is due `intervalMs` after it). */
  readonly startedMs: number;
  /** Next partition to scan (PARTITIONS once ended), and the page cursor inside it. */
  readonly partition: number;
  readonly after?: string;
  readonly finishedMs?: number;
}

const CURSOR_FORMAT = 1;

export function encodeScrubCursor(cursor: ScrubCursor): Buffer {
  return Buffer.from(JSON.stringify({ format: CURSOR_FORMAT, ...cursor }), 'utf8');
}

/** The cursor in `bytes`, or undefined when it is not one this version wrote (the pass then starts over). */
export function decodeScrubCursor(bytes: Buffer): ScrubCursor | undefined {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const c = v as Record<string, unknown>;
  const time = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  if (c['format'] !== CURSOR_FORMAT || !time(c['startedMs'])) return undefined;
  if (!Number.isInteger(c['partition']) || (c['partition'] as number) < 0 || (c['partition'] as number) > PARTITIONS) return undefined;
  if (c['after'] !== undefined && typeof c['after'] !== 'string') return undefined;
  if (c['finishedMs'] !== undefined && !time(c['finishedMs'])) return undefined;
  return {
    startedMs: c['startedMs'],
    partition: c['partition'] as number,
    ...(typeof c['after'] === 'string' ? { after: c['after'] } : {}),
    ...(c['finishedMs'] !== undefined ? { finishedMs: c['finishedMs'] as number } : {}),
  };
}

/** The cursor is saved at most this often while a pass runs (and always at its start, end and a stop). */
const CURSOR_SAVE_INTERVAL_MS = 1000;

/** How scrub is paced (the `scrub.*` config keys). */
export interface ScrubSettings {
  /** Milliseconds from the start of one full pass to the start of the next. */
  readonly intervalMs: number;
  /** Body bytes read per second, at most (each object is also charged SEEK_COST_BYTES). */
  readonly maxBytesPerSecond: number;
}

/** Budget each object read is charged on top of its bytes: what a seek costs a disk, as bytes it could have read. */
export const SEEK_COST_BYTES = 64 * 1024;

/** Entries read per scan of a partition. */
const SCAN_PAGE = 256;

/** What the worker is built from. */
export interface ScrubWorkerOptions {
  readonly source: ScrubSource;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly metrics: Metrics | null;
  readonly settings: ScrubSettings;
  /** Told of every copy found corrupt (or already quarantined); the node repairs it from a good replica. */
  readonly onCorrupt: (bucket: string, key: string, partition: number) => void;
}

/** Progress of the current (or last) pass, for `ringstore scrub` and the `scrub` status section. */
export interface ScrubProgress {
  /** Full passes completed since start. */
  readonly passes: number;
  readonly running: boolean;
  /** Partitions of the current pass done (empty ones included), of PARTITIONS. */
  readonly partitionsDone: number;
  readonly partitionsTotal: number;
  readonly objectsChecked: number;
  readonly bytesChecked: number;
  /** Copies this pass found corrupt (the store quarantined them). */
  readonly corruptions: number;
  /** Copies this pass found already quarantined (repair asked again). */
  readonly quarantinedSeen: number;
  /** Reads that failed for another reason (logged; the next pass tries again). */
  readonly readErrors: number;
  /** Corruptions found since start, all passes. */
  readonly corruptionsTotal: number;
  readonly startedMs?: number;
  readonly finishedMs?: number;
  /** Bytes read per second over the pass so far. */
  readonly bytesPerSecond: number;
  /** Milliseconds until the pass ends at the current rate, from the share of partitions done (keys spread evenly over partitions). */
  readonly etaMs?: number;
  /** Passes asked for (`ringstore scrub`) and not yet started. */
  readonly requested: number;
}

interface Pass {
  /** Next partition to scan, and the cursor inside it. */
  partition: number;
  after?: string;
  objectsChecked: number;
  bytesChecked: number;
  corruptions: number;
  quarantinedSeen: number;
  readErrors: number;
  startedMs: number;
  finishedMs?: number;
  waiters: Waiter[];
}

function newPass(partition: number, startedMs: number, waiters: Waiter[]): Pass {
  return { partition, objectsChecked: 0, bytesChecked: 0, corruptions: 0, quarantinedSeen: 0, readErrors: 0, startedMs, waiters };
}

interface Waiter {
  resolve: (p: ScrubProgress) => void;
  reject: (err: unknown) => void;
}

/** The `scrub` background worker. */
export class ScrubWorker implements Worker {
  readonly name = 'scrub';
  readonly #o: ScrubWorkerOptions;
  readonly #rate: RateLimiter;
  #pass: Pass | undefined;
  #running = false;
  #passes = 0;
  #corruptionsTotal = 0;
  #lastPassStartMs: number | undefined;
  #requested: Waiter[] = [];
  #cursorLoaded = false;
  #cursorSavedMs = -Infinity;

  constructor(options: ScrubWorkerOptions) {
    this.#o = options;
    this.#rate = new RateLimiter(options.clock, options.timers, options.settings.maxBytesPerSecond);
  }

  /** Asks for a full pass now (after the running one, if any); resolves with its progress once it ends. */
  scrubNow(): Promise<ScrubProgress> {
    return new Promise((resolve, reject) => this.#requested.push({ resolve, reject }));
  }

  progress(): ScrubProgress {
    const p = this.#pass;
    const now = this.#o.clock.now();
    const end = p?.finishedMs ?? now;
    const seconds = p === undefined ? 0 : Math.max(end - p.startedMs, 1) / 1000;
    const done = p === undefined ? 0 : p.partition;
    const etaMs = this.#running && p !== undefined && done > 0 ? Math.round(((now - p.startedMs) * (PARTITIONS - done)) / done) : undefined;
    return {
      passes: this.#passes,
      running: this.#running,
      partitionsDone: done,
      partitionsTotal: PARTITIONS,
      objectsChecked: p?.objectsChecked ?? 0,
      bytesChecked: p?.bytesChecked ?? 0,
      corruptions: p?.corruptions ?? 0,
      quarantinedSeen: p?.quarantinedSeen ?? 0,
      readErrors: p?.readErrors ?? 0,
      corruptionsTotal: this.#corruptionsTotal,
      ...(p === undefined ? {} : { startedMs: p.startedMs }),
      ...(p?.finishedMs === undefined ? {} : { finishedMs: p.finishedMs }),
      bytesPerSecond: seconds > 0 ? (p?.bytesChecked ?? 0) / seconds : 0,
      ...(etaMs === undefined ? {} : { etaMs }),
      requested: this.#requested.length,
    };
  }

  status(): Record<string, unknown> {
    return { ...this.progress() };
  }

  /**
   * One step: continues the unfinished pass (one stopped half-way), or starts one when asked for
   * or when `intervalMs` has passed since the last one started. Drive it often (e.g. every second).
   */
  async runOnce(signal: AbortSignal): Promise<void> {
    if (!this.#cursorLoaded) await this.#loadCursor();
    let pass = this.#pass;
    if (pass === undefined || pass.finishedMs !== undefined) {
      const due = this.#lastPassStartMs === undefined || this.#o.clock.now() - this.#lastPassStartMs >= this.#o.settings.intervalMs;
      if (this.#requested.length === 0 && !due) return;
      pass = newPass(0, this.#o.clock.now(), this.#requested);
      this.#requested = [];
      this.#pass = pass;
      this.#lastPassStartMs = pass.startedMs;
      await this.#saveCursor(pass);
    }
    this.#running = true;
    try {
      await this.#continue(pass, signal);
    } finally {
      this.#running = false;
      // Stopped half-way (or failed): keep the exact position for the next start.
      if (pass.partition < PARTITIONS) await this.#saveCursor(pass);
    }
    pass.finishedMs = this.#o.clock.now();
    await this.#saveCursor(pass);
    this.#passes++;
    this.#o.metrics?.scrubPassProgress.set(1);
    const progress = this.progress();
    this.#o.logger.info({ ...progress }, 'scrub pass done');
    for (const w of pass.waiters) w.resolve(progress);
  }

  /** Stops for good: rejects every waiter (the node is stopping). */
  abandon(reason: unknown): void {
    const waiters = [...this.#requested, ...(this.#pass?.waiters ?? [])];
    this.#requested = [];
    if (this.#pass) this.#pass.waiters = [];
    for (const w of waiters) w.reject(reason);
  }

  /** Picks up the persisted pass: resumes an unfinished one; either way the next is due from its start. */
  async #loadCursor(): Promise<void> {
    this.#cursorLoaded = true;
    let cursor: ScrubCursor | undefined;
    try {
      const bytes = await this.#o.source.getMeta(SCRUB_CURSOR_META);
      if (bytes === undefined) return;
      cursor = decodeScrubCursor(bytes);
      if (cursor === undefined) this.#o.logger.warn({}, 'the saved scrub position is unreadable; scrub starts a new pass');
    } catch (err) {
      this.#o.logger.warn({ err: describeError(err) }, 'could not read the saved scrub position; scrub starts a new pass');
    }
    if (cursor === undefined) return;
    this.#lastPassStartMs = cursor.startedMs;
    if (cursor.finishedMs !== undefined) return;
    this.#pass = newPass(cursor.partition, cursor.startedMs, []);
    if (cursor.after !== undefined) this.#pass.after = cursor.after;
    this.#o.logger.info({ partition: cursor.partition, startedMs: cursor.startedMs }, 'scrub resumes its saved pass');
  }

  /** Saves where `pass` stands; a failure is logged (a restart then repeats some reads), never fatal. */
  async #saveCursor(pass: Pass): Promise<void> {
    const cursor: ScrubCursor = {
      startedMs: pass.startedMs,
      partition: pass.partition,
      ...(pass.after === undefined ? {} : { after: pass.after }),
      ...(pass.finishedMs === undefined ? {} : { finishedMs: pass.finishedMs }),
    };
    this.#cursorSavedMs = this.#o.clock.now();
    try {
      await this.#o.source.putMeta(SCRUB_CURSOR_META, encodeScrubCursor(cursor));
    } catch (err) {
      this.#o.logger.warn({ err: describeError(err) }, 'could not save the scrub position');
    }
  }

  async #saveCursorSometimes(pass: Pass): Promise<void> {
    if (this.#o.clock.now() - this.#cursorSavedMs >= CURSOR_SAVE_INTERVAL_MS) await this.#saveCursor(pass);
  }

  async #continue(pass: Pass, signal: AbortSignal): Promise<void> {
    for (const p of occupiedPartitions(this.#o.source.partitionDigests(), pass.partition)) {
      if (signal.aborted) throw signal.reason;
      // The saved cursor belongs to its partition: if that one emptied meanwhile, it means nothing here.
      if (p !== pass.partition) delete pass.after;
      pass.partition = p;
      for (;;) {
        const page = await this.#o.source.scanPartition(p, { ...(pass.after === undefined ? {} : { after: pass.after }), limit: SCAN_PAGE });
        for (const entry of page.entries) await this.#check(pass, p, entry, signal);
        if (page.next === undefined) break;
        pass.after = page.next;
        await this.#saveCursorSometimes(pass);
      }
      delete pass.after;
      pass.partition = p + 1;
      this.#o.metrics?.scrubPassProgress.set(pass.partition / PARTITIONS);
      await this.#saveCursorSometimes(pass);
    }
    pass.partition = PARTITIONS;
  }

  async #check(pass: Pass, partition: number, entry: PartitionEntry, signal: AbortSignal): Promise<void> {
    if (entry.tombstone) return;
    const { bucket, key } = entry;
    if (entry.storage === 'quarantined') {
      pass.quarantinedSeen++;
      this.#o.onCorrupt(bucket, key, partition);
      return;
    }
    let bytes = 0;
    try {
      const body = await this.#o.source.read(bucket, key, entry.version, undefined, signal);
      try {
        for await (const chunk of body as AsyncIterable<Uint8Array>) {
          bytes += chunk.byteLength;
          if (isRecycling(body)) body.recycle(chunk);
        }
      } finally {
        body.destroy();
      }
      pass.objectsChecked++;
      pass.bytesChecked += bytes;
      this.#o.metrics?.scrubObjects.inc();
      this.#o.metrics?.scrubBytes.inc(bytes);
    } catch (err) {
      if (signal.aborted) throw err;
      if (err instanceof RingstoreError && err.code === 'CorruptBody') {
        pass.corruptions++;
        this.#corruptionsTotal++;
        this.#o.metrics?.scrubCorruptions.inc();
        this.#o.logger.warn({ bucket, key, partition, version: entry.version, err: describeError(err) }, 'scrub found a corrupt copy; replacing it from a good replica');
        this.#o.onCorrupt(bucket, key, partition);
      } else if (err instanceof RingstoreError && (err.code === 'NoSuchKey' || err.code === 'InvalidArgument')) {
        // Overwritten or deleted since the scan (NoSuchKey), or a multipart manifest: no body of its own.
      } else {
        pass.readErrors++;
        this.#o.logger.warn({ bucket, key, partition, err: describeError(err) }, 'scrub could not read a body; the next pass tries again');
      }
    }
    await this.#rate.take(bytes + SEEK_COST_BYTES, signal);
  }
}
