/**
 * A pure quorum tracker: counts successes and failures of one operation across its replicas
 * and says when the operation has succeeded (`needed` acks) or can no longer succeed.
 * Its error names how many acks were needed and got, and what each failing peer said.
 */
import { RingstoreError, describeError, isErrorCode } from '../util/errors.js';

/** Where a quorum operation stands. */
export type QuorumState = 'pending' | 'reached' | 'failed';

/** Counts per-replica outcomes of one operation against a quorum. */
export class QuorumTracker<T> {
  readonly op: string;
  readonly needed: number;
  readonly total: number;
  readonly #successes = new Map<string, T>();
  readonly #failures = new Map<string, unknown>();

  constructor(op: string, needed: number, total: number) {
    if (!Number.isInteger(needed) || needed < 1) throw new RingstoreError('InvalidArgument', `quorum needed must be ≥ 1, got ${needed}`);
    this.op = op;
    this.needed = needed;
    this.total = total;
  }

  /** Records a replica's success; later outcomes for the same peer are ignored. */
  succeed(peer: string, value: T): QuorumState {
    if (!this.#failures.has(peer) && !this.#successes.has(peer)) this.#successes.set(peer, value);
    return this.state;
  }

  /** Records a replica's failure. */
  fail(peer: string, err: unknown): QuorumState {
    if (!this.#failures.has(peer) && !this.#successes.has(peer)) this.#failures.set(peer, err);
    return this.state;
  }

  get state(): QuorumState {
    if (this.#successes.size >= this.needed) return 'reached';
    const outstanding = this.total - this.#successes.size - this.#failures.size;
    return this.#successes.size + outstanding < this.needed ? 'failed' : 'pending';
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
    return new RingstoreError(
      diskFull ? 'InsufficientStorage' : 'QuorumNotReached',
      `${this.op}: needed ${this.needed} of ${this.total} replicas, got ${this.#successes.size} (${perPeer.join('; ') || 'no errors'})`,
      { op: this.op, needed: this.needed, got: this.#successes.size, total: this.total, errors: Object.fromEntries([...this.#failures].map(([p, e]) => [p, describeError(e)])) },
    );
  }
}
