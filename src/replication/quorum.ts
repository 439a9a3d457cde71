/**
 * A pure quorum tracker over replica sets (the idea of Garage's QuorumSetResultTracker): an
 * operation names one or more sets of replicas, each of which needs its own `needed` acks, and
 * an ack from a node counts for every set containing it. It says when every set has its quorum
 * or when some set can no longer reach one. A stand-in (a fallback written for a down owner,
 * `hintFor`) counts for nobody's set under strict handoff; when `sloppy`, its ack fills the
 * owner's place in each set the owner belongs to. Its error names how many acks were needed and
 * got, and what each failing peer said.
 */
import { RingstoreError, describeError, isErrorCode } from '../util/errors.js';

/** Where a quorum operation stands. */
export type QuorumState = 'pending' | 'reached' | 'failed';

/** What a QuorumSetTracker counts. */
export interface QuorumSetOptions {
  /** The operation, for the error message (`PutObject`). */
  readonly op: string;
  /** The replica sets; each needs `needed` acks of its own. */
  readonly sets: readonly (readonly string[])[];
  /** Acks needed in each set. */
  readonly needed: number;
  /** Stand-ins: fallback node → the owner it is written for (its `hintFor`). */
  readonly standIns?: ReadonlyMap<string, string>;
  /** Whether a stand-in's ack fills its owner's place (sloppy quorum); strict by default. */
  readonly sloppy?: boolean;
}

/** Counts per-node outcomes of one operation against a quorum in each of its replica sets. */
export class QuorumSetTracker<T> {
  readonly op: string;
  readonly needed: number;
  readonly sets: readonly (readonly string[])[];
  readonly #standInOf = new Map<string, string>();
  readonly #sloppy: boolean;
  readonly #nodes: ReadonlySet<string>;
  readonly #successes = new Map<string, T>();
  readonly #failures = new Map<string, unknown>();

  constructor(options: QuorumSetOptions) {
    const { op, sets, needed } = options;
    if (!Number.isInteger(needed) || needed < 1) throw new RingstoreError('InvalidArgument', `quorum needed must be ≥ 1, got ${needed}`);
    if (sets.length === 0) throw new RingstoreError('InvalidArgument', `${op}: a quorum needs at least one replica set`);
    this.op = op;
    this.needed = needed;
    this.sets = sets;
    this.#sloppy = options.sloppy ?? false;
    for (const [fallback, owner] of options.standIns ?? []) this.#standInOf.set(owner, fallback);
    this.#nodes = new Set([...sets.flat(), ...(options.standIns?.keys() ?? [])]);
  }

  /** Every node the tracker counts (set members and stand-ins). */
  get total(): number {
    return this.#nodes.size;
  }

  /** Records a node's success; later outcomes for the same node are ignored. */
  succeed(node: string, value: T): QuorumState {
    if (!this.#failures.has(node) && !this.#successes.has(node)) this.#successes.set(node, value);
    return this.state;
  }

  /** Records a node's failure. */
  fail(node: string, err: unknown): QuorumState {
    if (!this.#failures.has(node) && !this.#successes.has(node)) this.#failures.set(node, err);
    return this.state;
  }

  get state(): QuorumState {
    let reached = true;
    for (const set of this.sets) {
      const { acks, possible } = this.#count(set);
      if (possible < this.needed) return 'failed';
      if (acks < this.needed) reached = false;
    }
    return reached ? 'reached' : 'pending';
  }

  /** Whether an ack from `node` now would give every set its quorum. */
  wouldReach(node: string): boolean {
    if (this.#successes.has(node) || this.#failures.has(node)) return this.state === 'reached';
    return this.sets.every((set) => {
      const { acks } = this.#count(set);
      return acks >= this.needed || (acks + 1 >= this.needed && this.#fills(set, node));
    });
  }

  get successes(): ReadonlyMap<string, T> {
    return this.#successes;
  }

  get failures(): ReadonlyMap<string, unknown> {
    return this.#failures;
  }

  /**
   * The error to raise when the quorum was not reached (503 at the S3 layer, so clients retry).
   * Its code is InsufficientStorage when a replica failed for a full disk, so the client is told why.
   */
  error(): RingstoreError {
    const perPeer = [...this.#failures].map(([peer, err]) => `${peer}: ${describeError(err)}`);
    const missing = this.total - this.#successes.size - this.#failures.size;
    if (missing > 0) perPeer.push(`${missing} replica(s) did not answer`);
    const diskFull = [...this.#failures.values()].some((e) => isErrorCode(e, 'InsufficientStorage'));
    const single = this.sets.length === 1 && this.#standInOf.size === 0;
    const wanted = single
      ? `needed ${this.needed} of ${this.total} replicas, got ${this.#successes.size}`
      : `needed ${this.needed} in each of ${this.sets.length} replica sets (${this.sets.map((s) => `[${s.join(', ')}]: ${this.#count(s).acks}`).join(', ')}), got ${this.#successes.size} of ${this.total}`;
    return new RingstoreError(diskFull ? 'InsufficientStorage' : 'QuorumNotReached', `${this.op}: ${wanted} (${perPeer.join('; ') || 'no errors'})`, {
      op: this.op,
      needed: this.needed,
      got: this.#successes.size,
      total: this.total,
      errors: Object.fromEntries([...this.#failures].map(([p, e]) => [p, describeError(e)])),
    });
  }

  /** A set's acks so far, and the most it can still get (members not failed, or with a live stand-in when sloppy). */
  #count(set: readonly string[]): { acks: number; possible: number } {
    let acks = 0;
    let possible = 0;
    for (const member of set) {
      const standIn = this.#sloppy ? this.#standInOf.get(member) : undefined;
      if (this.#successes.has(member) || (standIn !== undefined && this.#successes.has(standIn))) acks++;
      if (!this.#failures.has(member) || (standIn !== undefined && !this.#failures.has(standIn))) possible++;
    }
    return { acks, possible };
  }

  /** Whether an ack from `node` would add one to `set` (a member not yet counted, or a sloppy stand-in for one). */
  #fills(set: readonly string[], node: string): boolean {
    return set.some((member) => {
      const standIn = this.#sloppy ? this.#standInOf.get(member) : undefined;
      const counted = this.#successes.has(member) || (standIn !== undefined && this.#successes.has(standIn));
      return !counted && (member === node || standIn === node);
    });
  }
}
