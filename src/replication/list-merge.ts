/**
 * Pure k-way merge of replica listing pages. Each replica answers a page of its records in
 * key order (tombstones included); the merge keeps the newest version of every key and says
 * up to which key the merged view is complete: past the last key of a truncated page, that
 * replica may hold keys the merge has not seen yet.
 */
import { compareVersions } from '../util/clock.js';
import type { ObjectRecord } from '../store/types.js';
import { compareUtf8 } from '../util/utf8-order.js';

/** One replica's answer to a list call. */
export interface ReplicaPage {
  readonly records: readonly ObjectRecord[];
  /** True when the replica stopped at the limit and may have more keys. */
  readonly truncated: boolean;
}

/** The merged view. */
export interface MergedPage {
  /** Newest record per key, in key order, tombstones included, all ≤ `bound`. */
  readonly records: ObjectRecord[];
  /** Keys up to and including this one are complete; undefined when every replica was exhausted. */
  readonly bound: string | undefined;
}

/** Merges replica pages: newest version per key wins; the result is cut at the completeness bound. */
export function mergeReplicaPages(pages: readonly ReplicaPage[]): MergedPage {
  let bound: string | undefined;
  for (const page of pages) {
    const last = page.records[page.records.length - 1];
    if (page.truncated && last && (bound === undefined || compareUtf8(last.key, bound) < 0)) bound = last.key;
  }
  const newest = new Map<string, ObjectRecord>();
  for (const page of pages) {
    for (const record of page.records) {
      if (bound !== undefined && compareUtf8(record.key, bound) > 0) break;
      const held = newest.get(record.key);
      if (!held || compareVersions(record.version, held.version) > 0) newest.set(record.key, record);
    }
  }
  const records = [...newest.values()].sort((a, b) => compareUtf8(a.key, b.key));
  return { records, bound };
}
