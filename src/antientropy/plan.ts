/**
 * The repair plan of one partition, from the two replicas' entry lists: newest version wins, a
 * copy goes from the replica with a good copy of it to the one that lacks it, holds an older
 * version, or holds it quarantined. Pure, so every rule is tested on its own.
 *
 * Tombstones older than the GC grace are special: the replica without one may have purged it
 * after every replica held it, so its absence is not a lack, and copying it back would undo the
 * GC. Such a tombstone still replaces an older live version (that is a resurrection otherwise).
 */
import { compareVersions, hlcWallMs } from '../util/clock.js';
import type { RepairItem, ReplicaEntry } from './types.js';

/** Who compares, and the clock the grace is measured against. */
export interface PlanContext {
  readonly partition: number;
  /** This node's id (its entries are `mine`). */
  readonly self: string;
  /** The peer's id (its entries are `theirs`). */
  readonly peer: string;
  /** Wall-clock ms now. */
  readonly nowMs: number;
  /** `replication.tombstoneGraceMs`: tombstones older than this are never copied to a replica lacking them. */
  readonly tombstoneGraceMs: number;
}

/** The identity of a key inside a partition. */
export function entryId(e: { readonly bucket: string; readonly key: string }): string {
  return `${e.bucket}\0${e.key}`;
}

/** A copy others can be repaired from: a tombstone, or a body that is not quarantined. */
function good(e: ReplicaEntry): boolean {
  return e.tombstone || e.storage !== 'quarantined';
}

function pastGrace(e: ReplicaEntry, ctx: PlanContext): boolean {
  return e.tombstone && ctx.nowMs - hlcWallMs(e.version.hlc) > ctx.tombstoneGraceMs;
}

/** The copies that make both replicas hold the newest good version of every key either holds. */
export function planPartition(mine: readonly ReplicaEntry[], theirs: readonly ReplicaEntry[], ctx: PlanContext): RepairItem[] {
  const peerById = new Map(theirs.map((e) => [entryId(e), e]));
  const items: RepairItem[] = [];
  const copy = (e: ReplicaEntry, source: string, target: string, reason: RepairItem['reason']): void => {
    items.push({ partition: ctx.partition, bucket: e.bucket, key: e.key, version: e.version, tombstone: e.tombstone, size: e.tombstone ? 0 : e.size, source, target, reason });
  };
  const consider = (m: ReplicaEntry | undefined, t: ReplicaEntry | undefined): void => {
    if (m && t) {
      const order = compareVersions(m.version, t.version);
      if (order > 0 && good(m)) copy(m, ctx.self, ctx.peer, 'stale');
      else if (order < 0 && good(t)) copy(t, ctx.peer, ctx.self, 'stale');
      else if (order === 0 && good(m) !== good(t)) {
        if (good(m)) copy(m, ctx.self, ctx.peer, 'quarantined');
        else copy(t, ctx.peer, ctx.self, 'quarantined');
      }
    } else if (m) {
      if (good(m) && !pastGrace(m, ctx)) copy(m, ctx.self, ctx.peer, 'missing');
    } else if (t) {
      if (good(t) && !pastGrace(t, ctx)) copy(t, ctx.peer, ctx.self, 'missing');
    }
  };
  for (const m of mine) {
    const id = entryId(m);
    consider(m, peerById.get(id));
    peerById.delete(id);
  }
  for (const t of peerById.values()) consider(undefined, t);
  return items;
}
