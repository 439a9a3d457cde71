/**
 * Hint delivery: the worker that hands the writes this node took for down owners (hints, stored
 * with the record by the write path's fallback commits) back to those owners once they are up.
 * Each pass scans the local hints, drops those beyond the queue's bounds (counted; their
 * partitions go to anti-entropy through `onDropped`), and copies every hint whose owner is up
 * with the same version, a few at a time (`ReplicaCopier`, the copier anti-entropy uses: the
 * owner ends up with exactly this node's record and body). A delivered hint is dropped; once a
 * key has no hint left, the fallback's copy is forgotten unless this node owns the key itself.
 * `wake()` starts a pass at once (the failure detector calls it when a peer comes back).
 */
import type { Repairer } from '../antientropy/types.js';
import type { Metrics } from '../metrics/definitions.js';
import type { HintEntry, LocalStore } from '../store/types.js';
import type { Clock, Timer, Timers } from '../util/clock.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Worker } from '../util/worker.js';
import { hintsBeyondBounds, type HintBounds } from './bounds.js';

/** Copies delivered at once by default (each streams one body to its owner). */
const DEFAULT_CONCURRENCY = 8;
/** Hints read per page of the scan. */
const SCAN_PAGE = 1000;

/** What the delivery worker needs. */
export interface HintDeliveryOptions {
  readonly selfId: string;
  readonly store: LocalStore;
  /** Copies a version between replicas by id (antientropy's ReplicaCopier over the local store and RPC). */
  readonly copier: Repairer;
  /** Whether a member is up as this node sees it (membership liveness). */
  readonly isUp: (id: string) => boolean;
  /** Whether this node is an owner of the key's partition (then it keeps its copy after delivery). */
  readonly ownsKey: (bucket: string, key: string) => boolean;
  readonly partitionOf: (bucket: string, key: string) => number;
  readonly clock: Clock;
  readonly bounds: HintBounds;
  /** Copies in flight at once (8 by default). */
  readonly concurrency?: number;
  readonly metrics: Metrics | null;
  readonly logger: Logger;
  /** Called with the partition of every hint dropped for the bounds (node.ts: anti-entropy's `prioritize`). */
  readonly onDropped: (partition: number) => void;
}

/** The `hints` section of the status answer. */
export interface HintStatus {
  /** Hints held per owner, as of the last pass. */
  readonly queued: Record<string, { count: number; bytes: number }>;
  readonly queuedBytes: number;
  readonly delivered: number;
  readonly deliveredBytes: number;
  readonly dropped: number;
  readonly lastPassMs?: number;
}

type Outcome = 'delivered' | 'kept' | 'dropped';

/** Delivers this node's hints to their owners (see the module comment). */
export class HintDelivery implements Worker {
  readonly name = 'hint-delivery';
  readonly #o: HintDeliveryOptions;
  #queued: Record<string, { count: number; bytes: number }> = {};
  #queuedBytes = 0;
  #delivered = 0;
  #deliveredBytes = 0;
  #dropped = 0;
  #lastPassMs: number | undefined;
  /** Key → the version delivered this pass, to forget once the key has no hint left. */
  readonly #forgetVersion = new Map<string, HintEntry['version']>();

  constructor(options: HintDeliveryOptions) {
    this.#o = options;
  }

  /** One pass: bounds, then delivery of every hint whose owner is up. */
  async runOnce(signal: AbortSignal): Promise<void> {
    const o = this.#o;
    const hints = await this.#scan(signal);
    const { drop } = hintsBeyondBounds(hints, o.clock.now(), o.bounds);
    const dropped = new Set(drop.map((d) => d.hint));
    for (const { hint, reason } of drop) await this.#drop(hint, reason);
    const kept = hints.filter((h) => !dropped.has(h));
    // A key's copy may be forgotten only once no hint for it is left (two owners may be down).
    const left = new Map<string, number>();
    for (const h of kept) left.set(keyOf(h), (left.get(keyOf(h)) ?? 0) + 1);
    const due = kept.filter((h) => o.isUp(h.owner));
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < due.length && !signal.aborted) {
        const hint = due[next++]!;
        const outcome = await this.#deliver(hint, signal).catch((err: unknown): Outcome => {
          if (!signal.aborted) o.logger.warn({ owner: hint.owner, bucket: hint.bucket, err: describeError(err) }, 'hint delivery failed; retried next pass');
          return 'kept';
        });
        if (outcome === 'kept') continue;
        const remaining = left.get(keyOf(hint))! - 1;
        left.set(keyOf(hint), remaining);
        if (remaining === 0 && outcome === 'delivered' && !o.ownsKey(hint.bucket, hint.key)) await this.#forget(hint);
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency ?? DEFAULT_CONCURRENCY, due.length) }, lane));
    this.#lastPassMs = o.clock.now();
    // The queue as it stands after the pass (a fresh scan is cheap next to the copies; an idle pass needs none).
    this.#tally(signal.aborted || (due.length === 0 && drop.length === 0) ? kept : await this.#scan(signal));
  }

  status(): Record<string, unknown> {
    return { ...this.snapshot() };
  }

  /** The `hints` status section: held per owner, delivered, dropped. */
  snapshot(): HintStatus {
    return {
      queued: this.#queued,
      queuedBytes: this.#queuedBytes,
      delivered: this.#delivered,
      deliveredBytes: this.#deliveredBytes,
      dropped: this.#dropped,
      ...(this.#lastPassMs !== undefined && { lastPassMs: this.#lastPassMs }),
    };
  }

  async #scan(signal: AbortSignal): Promise<HintEntry[]> {
    const all: HintEntry[] = [];
    let after: string | undefined;
    do {
      signal.throwIfAborted();
      const page = await this.#o.store.hints({ limit: SCAN_PAGE, ...(after !== undefined && { after }) });
      all.push(...page.entries);
      after = page.next;
    } while (after !== undefined);
    return all;
  }

  #tally(hints: readonly HintEntry[]): void {
    const queued: Record<string, { count: number; bytes: number }> = {};
    let bytes = 0;
    for (const h of hints) {
      const q = (queued[h.owner] ??= { count: 0, bytes: 0 });
      q.count++;
      q.bytes += h.size;
      bytes += h.size;
    }
    this.#queued = queued;
    this.#queuedBytes = bytes;
    this.#o.metrics?.hintQueueBytes.set(bytes);
  }

  /** Copies the version this node holds to the owner; 'kept' when it should be tried again. */
  async #deliver(hint: HintEntry, signal: AbortSignal): Promise<Outcome> {
    const { store, copier, selfId } = this.#o;
    const held = await store.head(hint.bucket, hint.key, {}, signal);
    if (held === undefined) {
      // The copy is gone (forgotten or purged): nothing left to deliver.
      await store.dropHint(hint.owner, hint.bucket, hint.key, hint.version);
      return 'dropped';
    }
    const { record } = held;
    if (!record.tombstone && record.storage === 'quarantined') {
      await this.#drop(hint, 'unreadable');
      return 'dropped';
    }
    const partition = this.#o.partitionOf(hint.bucket, hint.key);
    // The newest version held goes (the hint's, or one written here since): the owner needs it either way.
    const item = {
      partition,
      bucket: hint.bucket,
      key: hint.key,
      version: record.version,
      tombstone: record.tombstone,
      size: record.size,
      source: selfId,
      target: hint.owner,
      reason: 'missing' as const,
    };
    const outcome = await copier.copy(item, signal);
    if (!outcome.applied) {
      // Not applied: the owner holds this version or a newer one, unless this copy moved on meanwhile.
      const now = await store.head(hint.bucket, hint.key, {}, signal);
      if (now === undefined || now.record.version.hlc !== record.version.hlc || now.record.version.node !== record.version.node) return 'kept';
    }
    await store.dropHint(hint.owner, hint.bucket, hint.key, hint.version);
    this.#delivered++;
    this.#deliveredBytes += outcome.bytes;
    this.#o.metrics?.hintsDelivered.inc();
    this.#forgetVersion.set(keyOf(hint), record.version);
    return 'delivered';
  }

  async #forget(hint: HintEntry): Promise<void> {
    const version = this.#forgetVersion.get(keyOf(hint));
    this.#forgetVersion.delete(keyOf(hint));
    if (version === undefined) return;
    // False when a newer write arrived meanwhile (its own hint keeps it).
    await this.#o.store.forget(hint.bucket, hint.key, version);
  }

  async #drop(hint: HintEntry, reason: 'size' | 'age' | 'unreadable'): Promise<void> {
    const o = this.#o;
    await o.store.dropHint(hint.owner, hint.bucket, hint.key, hint.version);
    this.#dropped++;
    o.metrics?.hintsDropped.inc({ reason });
    o.logger.info({ owner: hint.owner, reason }, 'hint dropped undelivered; its partition goes to anti-entropy');
    o.onDropped(o.partitionOf(hint.bucket, hint.key));
  }
}

function keyOf(h: { bucket: string; key: string }): string {
  return `${h.bucket}\0${h.key}`;
}

/** A running delivery loop: a pass every `intervalMs`, and at once on `wake()`. */
export interface HintDeliveryHandle {
  readonly worker: HintDelivery;
  /** Starts a pass now (or right after the running one). */
  wake(): void;
  stop(): Promise<void>;
}

/** Runs `delivery` every `intervalMs` on `timers`, and whenever woken; a failing pass is reported, not fatal. */
export function startHintDelivery(delivery: HintDelivery, intervalMs: number, onError: (err: unknown) => void, timers: Timers): HintDeliveryHandle {
  const controller = new AbortController();
  let timer: Timer | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  const tick = (): void => {
    timer = undefined;
    running = delivery
      .runOnce(controller.signal)
      .catch((err: unknown) => {
        if (!controller.signal.aborted) onError(err);
      })
      .finally(() => {
        running = undefined;
        if (controller.signal.aborted) return;
        timer = timers.setTimeout(tick, again ? 0 : intervalMs);
        timer.unref?.();
        again = false;
      });
  };
  const schedule = (ms: number): void => {
    timer = timers.setTimeout(tick, ms);
    timer.unref?.();
  };
  schedule(0);
  return {
    worker: delivery,
    wake() {
      if (controller.signal.aborted) return;
      if (running) again = true;
      else {
        if (timer) timers.clearTimeout(timer);
        schedule(0);
      }
    },
    async stop() {
      controller.abort();
      if (timer) timers.clearTimeout(timer);
      await running;
    },
  };
}
