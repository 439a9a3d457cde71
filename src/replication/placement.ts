/**
 * Where a request goes: the one place that turns a key's preference list and this node's view of
 * liveness into the replicas a write is sent to and counted over (its write set, plus for each
 * down owner the next live fallback, tagged with the owner it stands in for), the replicas a read
 * asks, and the members a listing asks. "Down" is only this node's last guess, so a down owner is
 * still asked, last, whenever the others are too few. The pure functions decide; `Placement`
 * feeds them the ring and the membership.
 */
import type { Member } from '../ring/layout.js';
import type { PreferenceList } from '../ring/ring.js';
import { coveringMembers } from '../ring/coverage.js';
import type { Membership } from '../cluster/membership.js';

/** A member written in place of a down owner; it holds the write as a hint for `hintFor`. */
export interface Fallback {
  readonly member: Member;
  readonly hintFor: string;
}

/** Where a write goes and what its quorum is counted over. */
export interface WriteSet {
  /** The owners to write, the local one first, down ones last (and only when too few are up). */
  readonly owners: readonly Member[];
  /** The replica sets the quorum is counted over (owner ids; one set while layouts do not overlap). */
  readonly sets: readonly (readonly string[])[];
  /** For each down owner of the preference list, the next live fallback not used already. */
  readonly fallbacks: readonly Fallback[];
}

/** Orders members for asking: the local one first (it saves a network hop), the rest as given. */
function localFirst(members: readonly Member[], selfId: string): Member[] {
  return [...members].sort((a, b) => Number(b.id === selfId) - Number(a.id === selfId));
}

/**
 * The members of `members` to ask when `needed` answers are required: the usable ones, or, when
 * too few are usable, all of them with the down ones last; the local one first either way.
 */
export function replicasToAsk(members: readonly Member[], isUsable: (id: string) => boolean, selfId: string, needed: number): Member[] {
  const usable = members.filter((m) => isUsable(m.id));
  const chosen = usable.length >= needed ? usable : [...usable, ...members.filter((m) => !isUsable(m.id))];
  return localFirst(chosen, selfId);
}

/** The write set of a key (pure): see WriteSet. */
export function planWrite(list: PreferenceList, isUsable: (id: string) => boolean, selfId: string, w: number): WriteSet {
  const owners = replicasToAsk(list.replicas, isUsable, selfId, w);
  const fallbacks: Fallback[] = [];
  const spare = list.fallbacks.filter((m) => isUsable(m.id));
  for (const owner of list.replicas) {
    if (isUsable(owner.id)) continue;
    const member = spare.shift();
    if (member === undefined) break;
    fallbacks.push({ member, hintFor: owner.id });
  }
  return { owners, sets: [owners.map((m) => m.id)], fallbacks };
}

/** The replicas a read asks, in order (pure): the owners, local first, down last. */
export function planRead(list: PreferenceList, isUsable: (id: string) => boolean, selfId: string, needed: number): Member[] {
  return replicasToAsk(list.replicas, isUsable, selfId, needed);
}

/** Placement decisions for this node, over the current ring and liveness. */
export class Placement {
  readonly #membership: Membership;
  readonly #n: number;
  readonly #r: number;
  readonly #coverageCache = new Map<string, string[] | null>();

  constructor(membership: Membership, options: { n: number; r: number }) {
    this.#membership = membership;
    this.#n = options.n;
    this.#r = options.r;
  }

  /** The write set of a key. */
  writeSet(bucket: string, key: string, w: number): WriteSet & { readonly replicas: number } {
    const m = this.#membership;
    const list = m.ring.preferenceList(bucket, key, this.#n);
    return { ...planWrite(list, (id) => m.isUsable(id), m.selfId, w), replicas: list.replicas.length };
  }

  /** The replicas a read of a key asks, and how many answers it needs (R, or fewer when the ring is smaller). */
  readTargets(bucket: string, key: string): { readonly targets: Member[]; readonly needed: number } {
    const m = this.#membership;
    const { replicas } = m.ring.preferenceList(bucket, key, this.#n);
    const needed = Math.min(this.#r, replicas.length);
    return { targets: planRead({ replicas, fallbacks: [] }, (id) => m.isUsable(id), m.selfId, needed), needed };
  }

  /** Members currently believed usable. */
  usableMembers(): Set<string> {
    const m = this.#membership;
    return new Set(m.ring.members.filter((x) => m.isUsable(x.id)).map((x) => x.id));
  }

  /**
   * The members a listing asks: every ring range covered by R of its usable replicas (all of them
   * when fewer are usable), the local one first; members marked down are asked too when the others
   * cannot cover the ring, but never one in `failed`. Undefined when some range has none left.
   */
  listTargets(usable: ReadonlySet<string>, failed: ReadonlySet<string>): Member[] | undefined {
    const ring = this.#membership.ring;
    const self = this.#membership.selfId;
    const cover = (members: ReadonlySet<string>): string[] | null => {
      const cacheKey = `${ring.layout.version}|${[...members].sort().join(',')}`;
      let ids = this.#coverageCache.get(cacheKey);
      if (ids === undefined) {
        ids = coveringMembers(ring.ranges(this.#n), this.#r, members, self) ?? null;
        if (this.#coverageCache.size > 64) this.#coverageCache.clear();
        this.#coverageCache.set(cacheKey, ids);
      }
      return ids;
    };
    const ids = cover(usable) ?? cover(new Set(ring.members.filter((m) => !failed.has(m.id)).map((m) => m.id)));
    return ids === null ? undefined : ids.map((id) => ring.member(id)!);
  }
}
