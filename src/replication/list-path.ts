/**
 * The list path: one page of a bucket's live records in key order. A coverage query asks the
 * fewest members such that every ring range is covered by R of its replicas (`Placement`), merges
 * their pages newest-wins (`list-merge.ts`), drops tombstones, and trusts the merged view only up
 * to the smallest last key of a truncated page. A member that fails is replaced by recomputing
 * the coverage without it.
 */
import type { Member } from '../ring/layout.js';
import type { ObjectRecord } from '../store/types.js';
import { RingstoreError, describeError } from '../util/errors.js';
import { mergeReplicaPages, type ReplicaPage } from './list-merge.js';
import type { PathContext } from './context.js';

/** One page of live (non-deleted) records of a bucket, in key order. */
export interface ListPage {
  readonly records: ObjectRecord[];
  /** True when the bucket has no keys after the last record. */
  readonly exhausted: boolean;
}

/** Coverage listings of buckets. */
export class ListPath {
  readonly #ctx: PathContext;

  constructor(ctx: PathContext) {
    this.#ctx = ctx;
  }

  /**
   * One page of a bucket's live records in key order after `startAfter`: a coverage query
   * over every usable data member, merged newest-wins, tombstones dropped.
   */
  async listPage(bucket: string, options: { prefix?: string; startAfter?: string; limit: number }): Promise<ListPage> {
    const ctx = this.#ctx;
    const usable = ctx.placement.usableMembers();
    const failures = new Map<string, unknown>();
    // A little over the limit, so that a few tombstones do not force a second round.
    const batch = Math.min(1100, Math.max(100, options.limit + 10));
    const records: ObjectRecord[] = [];
    let startAfter = options.startAfter;
    for (;;) {
      const asked = this.#coverage(usable, failures);
      const listOptions = { ...(options.prefix !== undefined && { prefix: options.prefix }), ...(startAfter !== undefined && { startAfter }), limit: batch };
      const answers = await Promise.allSettled(asked.map((m) => ctx.replicaFor(m).list(bucket, listOptions)));
      const pages: ReplicaPage[] = [];
      answers.forEach((answer, i) => {
        if (answer.status === 'fulfilled') pages.push({ records: answer.value, truncated: answer.value.length >= batch });
        else {
          failures.set(asked[i]!.id, answer.reason);
          usable.delete(asked[i]!.id);
        }
      });
      // A member that failed leaves its ranges short: ask again with a coverage that avoids it.
      if (pages.length < asked.length) continue;
      const merged = mergeReplicaPages(pages);
      for (const record of merged.records) {
        if (record.tombstone) continue;
        records.push(record);
        if (records.length === options.limit) {
          const exhausted = merged.bound === undefined && record === merged.records[merged.records.length - 1];
          return { records, exhausted };
        }
      }
      if (merged.bound === undefined) return { records, exhausted: true };
      startAfter = merged.bound;
    }
  }

  /**
   * The members a listing asks (Placement.listTargets), QuorumNotReached when a range has none left.
   * Members marked down are asked too when the others cannot cover the ring: "down" is a guess,
   * and only a failure within this request rules a member out.
   */
  #coverage(usable: ReadonlySet<string>, failures: ReadonlyMap<string, unknown>): Member[] {
    const members = this.#ctx.placement.listTargets(usable, new Set(failures.keys()));
    if (members === undefined) {
      this.#ctx.metrics?.quorumFailures.inc({ op: 'ListObjects' });
      const why = [...failures].map(([id, err]) => `${id}: ${describeError(err)}`).join('; ');
      throw new RingstoreError('QuorumNotReached', `ListObjects: some keys have no live replica (failed: ${[...failures.keys()].join(', ')})${why ? ` (${why})` : ''}`);
    }
    return members;
  }
}
