/**
 * Read repair: after a quorum read, once every replica has answered, replicas that hold an
 * older version (or none) are sent the newest one in the background. Best effort: the
 * anti-entropy exchange catches whatever this misses.
 */
import { copyVersion, needsSourceBody } from '../store/copy-version.js';
import type { HeadResult, ObjectRecord } from '../store/types.js';
import { compareVersions } from '../util/clock.js';
import { RingstoreError, describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Metrics } from '../metrics/definitions.js';
import type { FanoutTarget } from './fanout.js';

type Answer = Promise<{ target: FanoutTarget; result: HeadResult | undefined }>;

/** Repairs stale replicas found by reads. */
export class ReadRepairer {
  readonly #logger: Logger;
  readonly #metrics: Metrics | null;
  readonly #replacing = new Set<string>();

  constructor(options: { logger: Logger; metrics: Metrics | null }) {
    this.#logger = options.logger;
    this.#metrics = options.metrics;
  }

  /** Waits for every answer of a read, then brings stale replicas up to the newest version seen. */
  async afterRead(answers: readonly Answer[], newestSoFar: HeadResult | undefined): Promise<void> {
    const settled = await Promise.allSettled(answers);
    const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    let newest = newestSoFar;
    for (const { result } of ok) {
      if (result && (!newest || compareVersions(result.record.version, newest.record.version) > 0)) newest = result;
    }
    if (!newest) return;
    const target = newest;
    const same = (a: (typeof ok)[number]): boolean => a.result !== undefined && compareVersions(a.result.record.version, target.record.version) === 0;
    // A quarantined copy (corrupt, set aside) is stale too: it gets the body back under the same version.
    const holders = ok.filter((a) => same(a) && a.result?.record.storage !== 'quarantined').map((a) => a.target);
    const stale = ok.filter((a) => !a.result || compareVersions(a.result.record.version, target.record.version) < 0 || (same(a) && a.result.record.storage === 'quarantined')).map((a) => a.target);
    await Promise.all(stale.map((replica) => this.#repair(replica, target, holders)));
  }

  /**
   * Gives `replica`, which found its copy of `record` corrupt (and quarantined it), the body again
   * from one of `sources`, under the same version. The staged copy must match the record's size
   * and CRC32 before it is committed, so the re-fetched copy is byte-identical. One repair per
   * replica and key at a time; failures are logged (the next read of that copy tries again).
   */
  async replaceCorrupt(replica: FanoutTarget, record: ObjectRecord, sources: readonly FanoutTarget[]): Promise<void> {
    const job = `${replica.id}\0${record.bucket}\0${record.key}`;
    if (this.#replacing.has(job)) return;
    this.#replacing.add(job);
    try {
      for (const source of sources) {
        try {
          const { applied } = await copyVersion({ record }, replica.api, source.api, undefined, source.id);
          if (applied) {
            this.#metrics?.corruptRepairs.inc();
            this.#logger.info({ peer: replica.id, source: source.id, bucket: record.bucket }, 'corrupt copy replaced from a good replica');
          }
          return;
        } catch (err) {
          if (err instanceof RingstoreError && err.code === 'ChecksumMismatch') {
            this.#logger.warn({ peer: replica.id, source: source.id, bucket: record.bucket }, 'corrupt copy not replaced: the fetched body differs from the record');
            continue;
          }
          this.#logger.warn({ peer: replica.id, source: source.id, err: describeError(err) }, 'replacing a corrupt copy failed');
        }
      }
    } finally {
      this.#replacing.delete(job);
    }
  }

  async #repair(replica: FanoutTarget, newest: HeadResult, holders: readonly FanoutTarget[]): Promise<void> {
    const source = holders[0];
    // A body to read, and no replica holding a good copy of it: nothing to repair from.
    if (needsSourceBody(newest) && !source) return;
    try {
      const { applied } = await copyVersion(newest, replica.api, source?.api, undefined, source?.id);
      if (applied) {
        this.#metrics?.readRepairs.inc();
        this.#logger.info({ peer: replica.id, bucket: newest.record.bucket }, 'read repair applied');
      }
    } catch (err) {
      this.#logger.warn({ peer: replica.id, err: describeError(err) }, 'read repair failed');
    }
  }
}
