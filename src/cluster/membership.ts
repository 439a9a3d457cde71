/**
 * Who is in the cluster and who is alive. Holds the current layout and its ring (placement
 * is a pure function of the layout) and each peer's liveness as seen by the failure detector.
 */
import type { Layout, Member } from '../ring/layout.js';
import { Ring } from '../ring/ring.js';
import type { Hasher } from '../ring/hasher.js';

/** A peer's liveness as this node sees it. */
export type Liveness = 'up' | 'suspect' | 'down';

/** The current layout, its ring, and peer liveness. */
export class Membership {
  readonly selfId: string;
  readonly #hasher: Hasher;
  readonly #vnodesPerUnit: number;
  #ring: Ring;
  readonly #liveness = new Map<string, Liveness>();

  constructor(options: { selfId: string; layout: Layout; hasher: Hasher; vnodesPerUnit: number }) {
    this.selfId = options.selfId;
    this.#hasher = options.hasher;
    this.#vnodesPerUnit = options.vnodesPerUnit;
    this.#ring = new Ring(options.layout, this.#hasher, { vnodesPerUnit: this.#vnodesPerUnit });
  }

  get ring(): Ring {
    return this.#ring;
  }

  get layout(): Layout {
    return this.#ring.layout;
  }

  /** Adopts a layout when it is newer than the current one; returns whether it changed. */
  adopt(layout: Layout): boolean {
    if (layout.version <= this.#ring.layout.version) return false;
    this.#ring = new Ring(layout, this.#hasher, { vnodesPerUnit: this.#vnodesPerUnit });
    return true;
  }

  /** Members other than this node. */
  peers(): Member[] {
    return this.#ring.layout.members.filter((m) => m.id !== this.selfId);
  }

  member(id: string): Member | undefined {
    return this.#ring.layout.members.find((m) => m.id === id);
  }

  /** This node is always up to itself; unknown peers are presumed up until a ping fails. */
  liveness(id: string): Liveness {
    if (id === this.selfId) return 'up';
    return this.#liveness.get(id) ?? 'up';
  }

  /** False only for peers the failure detector has marked down: those are skipped, not waited for. */
  isUsable(id: string): boolean {
    return this.liveness(id) !== 'down';
  }

  /**
   * The members of `members` to ask when `needed` answers are required: the usable ones, or,
   * when too few are usable, all of them with the down ones last. "Down" is this node's last
   * guess (peers that started after it, a ping lost under load): skipping a peer saves a
   * timeout, but must never fail a request that the peer could still serve.
   */
  candidates(members: readonly Member[], needed: number): Member[] {
    const usable = members.filter((m) => this.isUsable(m.id));
    if (usable.length >= needed) return usable;
    return [...usable, ...members.filter((m) => !this.isUsable(m.id))];
  }

  setLiveness(id: string, state: Liveness): Liveness | undefined {
    const before = this.#liveness.get(id);
    this.#liveness.set(id, state);
    return before;
  }
}
