/**
 * A node that lost its disk must not answer reads as if it were an up-to-date replica: "I hold
 * nothing" (or an older version) from it would, with R = 2, let a read that meets it and a
 * replica that missed the latest write return an older version or a deleted key. So a node whose
 * store was empty at open, in a cluster of more than one node, is *refilling*: it takes writes
 * (stages, commits, hints) but refuses `head`, `read` and `list` with Refilling (the coordinator
 * then asks another replica) until full anti-entropy passes have compared it with every peer
 * (a peer it cannot reach is given up on once down for `antiEntropy.refillPeerWaitMs`). After
 * that the store holds what its peers held, and nothing needs to be persisted: a later restart
 * finds the store non-empty.
 */
import type { ReplicaApi } from '../store/types.js';
import { RingstoreError } from '../util/errors.js';
import type { AntiEntropyProgress } from './worker.js';

/** Whether a store that was empty at open must refill before it serves reads. */
export function mustRefill(digests: ArrayLike<bigint>, members: number, antiEntropyEnabled: boolean): boolean {
  if (members <= 1 || !antiEntropyEnabled) return false;
  for (let i = 0; i < digests.length; i++) if (digests[i] !== 0n) return false;
  return true;
}

/** A peer a refilling node still waits for, and why. */
export interface AwaitedPeer {
  readonly peer: string;
  /** 'up': believed up but not compared yet (never given up on); 'down': unreached, given up on once down for `refillPeerWaitMs`. */
  readonly reason: 'up' | 'down';
  /** For 'down': how long this node has found it down so far, and how long it waits in all. */
  readonly downForMs?: number;
  readonly waitMs?: number;
}

/** What the gate learns from one full anti-entropy pass. */
export type PassPeers = Pick<AntiEntropyProgress, 'comparedPeers' | 'unreachedPeers'>;

/** The refilling state of one node and the replica guard it implies. */
export class RefillGate {
  #refilling: boolean;
  readonly #startedMs: number;
  readonly #peerWaitMs: number;
  #finishedMs: number | undefined;
  #passesTried = 0;
  /** Peers compared over all their shared partitions in some pass since the start. */
  readonly #compared = new Set<string>();
  /** Unreached peers the failure detector believes down, and since when (first seen so by this gate). */
  readonly #downSince = new Map<string, number>();
  #awaited: AwaitedPeer[] = [];
  #givenUp: string[] = [];

  /** `peerWaitMs` is `antiEntropy.refillPeerWaitMs`. */
  constructor(refilling: boolean, nowMs: number, peerWaitMs: number) {
    this.#refilling = refilling;
    this.#startedMs = nowMs;
    this.#peerWaitMs = peerWaitMs;
  }

  get refilling(): boolean {
    return this.#refilling;
  }

  /** The peers the refill still waits for (empty once serving). */
  get awaited(): readonly AwaitedPeer[] {
    return this.#awaited;
  }

  /**
   * A full pass ended. The refill is done once every peer sharing partitions with this node was
   * compared over all of them in some pass since the start, except peers that were never reached
   * and that the failure detector (`isUp`) has found down for at least `peerWaitMs` (a peer down
   * for good must not keep this node from ever serving reads; writes while it was away reached
   * the others). At least one peer must have been compared: an empty store that compared with
   * nobody knows nothing. A peer believed up is waited for without bound (the next pass retries
   * it). node.ts has a refilling node try peers its failure detector believes down too. Returns
   * true while still refilling (the caller asks for another pass).
   */
  passEnded(pass: PassPeers, nowMs: number, isUp: (id: string) => boolean): boolean {
    if (!this.#refilling) return false;
    this.#passesTried++;
    for (const id of pass.comparedPeers) {
      this.#compared.add(id);
      this.#downSince.delete(id);
    }
    const awaited: AwaitedPeer[] = [];
    const givenUp: string[] = [];
    for (const id of new Set(pass.unreachedPeers)) {
      if (this.#compared.has(id)) continue;
      if (isUp(id)) {
        this.#downSince.delete(id);
        awaited.push({ peer: id, reason: 'up' });
        continue;
      }
      const since = this.#downSince.get(id) ?? nowMs;
      this.#downSince.set(id, since);
      const downForMs = nowMs - since;
      if (downForMs >= this.#peerWaitMs) givenUp.push(id);
      else awaited.push({ peer: id, reason: 'down', downForMs, waitMs: this.#peerWaitMs });
    }
    this.#awaited = awaited;
    this.#givenUp = givenUp;
    if (awaited.length === 0 && this.#compared.size > 0) {
      this.#refilling = false;
      this.#finishedMs = nowMs;
    }
    return this.#refilling;
  }

  /** Why this node still refills, for /ready; undefined once serving. */
  reason(): string | undefined {
    if (!this.#refilling) return undefined;
    const waits = this.#awaited.map((a) => (a.reason === 'up' ? `${a.peer} (up, not compared yet)` : `${a.peer} (down ${Math.round(a.downForMs! / 1000)} s of ${Math.round(a.waitMs! / 1000)} s)`));
    const what = this.#passesTried === 0 ? 'the first pass has not ended' : waits.length > 0 ? `awaiting ${waits.join(', ')}` : 'no peer compared yet';
    return `refilling: the store was empty at start; reads of this replica wait until every peer was compared (${what})`;
  }

  /** For the status section. */
  snapshot(): Record<string, unknown> {
    return {
      state: this.#refilling ? 'refilling' : 'serving',
      passesTried: this.#passesTried,
      comparedPeers: [...this.#compared].sort(),
      ...(this.#refilling ? { awaitedPeers: this.#awaited } : {}),
      ...(this.#givenUp.length > 0 ? { givenUpPeers: this.#givenUp } : {}),
      ...(this.#finishedMs === undefined ? {} : { refilledInMs: this.#finishedMs - this.#startedMs }),
    };
  }
  #refuse(op: string): RingstoreError {
    return new RingstoreError('Refilling', `this node lost its data and is refilling it from its peers; it serves no ${op} until it compared with every peer`, { op });
  }

  /** `replica` with its read verbs refused while refilling; writes pass through. */
  guard(replica: ReplicaApi): ReplicaApi {
    return {
      stage: (body, signal) => replica.stage(body, signal),
      commit: (meta, body, signal, sideWrites) => replica.commit(meta, body, signal, sideWrites),
      discard: (id, signal) => replica.discard(id, signal),
      head: (bucket, key, options, signal) => (this.#refilling ? Promise.reject(this.#refuse('head')) : replica.head(bucket, key, options, signal)),
      read: (bucket, key, version, range, signal) => (this.#refilling ? Promise.reject(this.#refuse('read')) : replica.read(bucket, key, version, range, signal)),
      list: (bucket, options, signal) => (this.#refilling ? Promise.reject(this.#refuse('list')) : replica.list(bucket, options, signal)),
    };
  }
}
