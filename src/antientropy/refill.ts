/**
 * A node that lost its disk must not answer reads as if it were an up-to-date replica: "I hold
 * nothing" (or an older version) from it would, with R = 2, let a read that meets it and a
 * replica that missed the latest write return an older version or a deleted key. So a node whose
 * store was empty at open, in a cluster of more than one node, is *refilling*: it takes writes
 * (stages, commits, hints) but refuses `head`, `read` and `list` with Refilling (the coordinator
 * then asks another replica) until its first full anti-entropy pass that compared with every
 * peer ends. After that the store holds what its peers held, and nothing needs to be persisted:
 * a later restart finds the store non-empty.
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

/** The refilling state of one node and the replica guard it implies. */
export class RefillGate {
  #refilling: boolean;
  readonly #startedMs: number;
  #finishedMs: number | undefined;
  #passesTried = 0;

  constructor(refilling: boolean, nowMs: number) {
    this.#refilling = refilling;
    this.#startedMs = nowMs;
  }

  get refilling(): boolean {
    return this.#refilling;
  }

  /**
   * A full pass ended: the refill is done when it compared with every peer (at least one; no
   * exchange failed; node.ts has a refilling node try peers its failure detector believes down
   * too). Returns true while still refilling (the caller asks for another pass).
   */
  passEnded(progress: Pick<AntiEntropyProgress, 'peersFailed' | 'peersCompared'>, nowMs: number): boolean {
    if (!this.#refilling) return false;
    this.#passesTried++;
    if (progress.peersFailed === 0 && progress.peersCompared > 0) {
      this.#refilling = false;
      this.#finishedMs = nowMs;
    }
    return this.#refilling;
  }

  /** For the status section. */
  snapshot(): Record<string, unknown> {
    return {
      state: this.#refilling ? 'refilling' : 'serving',
      passesTried: this.#passesTried,
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
