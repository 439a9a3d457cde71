/**
 * A lost-write checker for tests: the client's own record of every write of every key (what it
 * sent, whether the store acknowledged it and when), and the rule a later read must obey. After
 * the bench's KeyStates (src/bench/workload.ts), kept apart so that tests do not pull the bench in.
 *
 * Writes of one key must not overlap (the caller holds the key while its write runs): their order
 * is then the order the client issued them, and "the last acknowledged write" is exact.
 */
import { createHash } from 'node:crypto';

/** The state of a deleted or never-written key. */
export const ABSENT = 'absent';

/**
 * How a write ended. `failed`: the store refused it in a way that says nothing was written (the
 * caller decides which answers those are), so it must never take effect. `unknown`: it may or may
 * not have taken effect, like a write still in flight (no answer, a cut connection, a timeout).
 * `pending`: not ended yet.
 */
export type Outcome = 'pending' | 'acked' | 'failed' | 'unknown';

/** One write of one key as the client saw it. */
export interface WriteRecord {
  readonly key: string;
  readonly op: 'put' | 'delete';
  /** sha256 of the body, or ABSENT for a delete. */
  readonly state: string;
  readonly gateway: string;
  readonly startedAt: number;
  endedAt?: number;
  outcome: Outcome;
  /** The ETag the store answered (PUT), unquoted. */
  etag?: string;
  error?: string;
}

/** What one read returned: ABSENT (NoSuchKey), or the body's digests and the ETag sent with it. */
export interface Observed {
  readonly state: string;
  readonly md5?: string;
  readonly etag?: string;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function md5Hex(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

/** An ETag without its quotes. */
export function bareEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '');
}

/**
 * What kind of rule a read broke. `stale-read`: an older acknowledged write came back (at the end
 * of a run, once every fault is healed, the simulator calls that a `lost-write`);
 * `resurrected-delete`: a deleted key came back with an older body; `corrupt-read`: bytes that
 * do not match their ETag; `phantom-read`: a body nobody wrote, or NoSuchKey for a key whose
 * acknowledged write was never deleted; `refused-visible`: a write the store refused took effect.
 */
export type ViolationKind = 'stale-read' | 'lost-write' | 'resurrected-delete' | 'corrupt-read' | 'phantom-read' | 'refused-visible' | 'diverged';

/** A broken rule, with the explanation of `problem`. */
export interface Violation {
  readonly kind: ViolationKind;
  readonly key: string;
  readonly message: string;
}

export class WriteHistory {
  readonly #writes = new Map<string, WriteRecord[]>();
  readonly #now: () => number;
  readonly #t0: number;

  /** `now`: the clock of the times recorded (virtual time in the simulator); Date.now by default. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
    this.#t0 = now();
  }

  /** Records the start of a write; throws if another write of the key has not ended. */
  begin(key: string, op: WriteRecord['op'], state: string, gateway: string): WriteRecord {
    const writes = this.#writes.get(key) ?? [];
    this.#writes.set(key, writes);
    if (writes.some((w) => w.outcome === 'pending')) throw new Error(`overlapping writes of ${key}: the checker needs them one at a time`);
    const write: WriteRecord = { key, op, state, gateway, startedAt: this.#now() - this.#t0, outcome: 'pending' };
    writes.push(write);
    return write;
  }

  end(write: WriteRecord, outcome: Exclude<Outcome, 'pending'>, details: { etag?: string; error?: string } = {}): void {
    write.outcome = outcome;
    write.endedAt = this.#now() - this.#t0;
    if (details.etag !== undefined) write.etag = details.etag;
    if (details.error !== undefined) write.error = details.error;
  }

  keys(): string[] {
    return [...this.#writes.keys()];
  }

  writes(key: string): readonly WriteRecord[] {
    return this.#writes.get(key) ?? [];
  }

  count(outcome: Outcome): number {
    let n = 0;
    for (const writes of this.#writes.values()) for (const w of writes) if (w.outcome === outcome) n++;
    return n;
  }

  /**
   * Why `seen` (a read of `key` that started after every write of the key that had ended) breaks
   * the rule, or undefined when it does not. A read must return the last acknowledged write, or a
   * later write whose outcome is unknown or pending; never an older acknowledged write, never a
   * write the store refused, never a body nobody wrote, never bytes that do not match their ETag.
   */
  problem(key: string, seen: Observed): string | undefined {
    const writes = this.writes(key);
    let last = -1;
    for (let i = 0; i < writes.length; i++) if (writes[i]!.outcome === 'acked') last = i;
    const allowed = new Map<string, WriteRecord | undefined>();
    if (last === -1) allowed.set(ABSENT, undefined);
    for (let i = Math.max(last, 0); i < writes.length; i++) {
      const w = writes[i]!;
      if (i === last || w.outcome === 'unknown' || w.outcome === 'pending') allowed.set(w.state, w);
    }
    const describe = (w: WriteRecord | undefined): string =>
      w === undefined ? 'nothing' : `${w.op} ${w.state === ABSENT ? '' : w.state.slice(0, 12)} via ${w.gateway} at ${w.startedAt}–${w.endedAt ?? '…'} ms (${w.outcome})`;
    const expected = `expected ${[...allowed.values()].map(describe).join(' or ')}`;
    if (seen.state !== ABSENT && seen.md5 !== undefined && seen.etag !== undefined && seen.md5 !== seen.etag) {
      return `${key}: body md5 ${seen.md5} does not match its ETag ${seen.etag}`;
    }
    if (allowed.has(seen.state)) {
      const w = allowed.get(seen.state);
      if (w?.outcome === 'acked' && w.etag !== undefined && seen.etag !== undefined && w.etag !== seen.etag) return `${key}: ETag ${seen.etag}, but the acknowledged write answered ${w.etag}`;
      return undefined;
    }
    const match = writes.findLast((w) => w.state === seen.state);
    if (match === undefined) return `${key}: ${seen.state === ABSENT ? 'NoSuchKey' : `a body nobody wrote (${seen.state.slice(0, 12)})`}; ${expected}`;
    if (match.outcome === 'failed') return `${key}: a write the store refused (${match.error}) became visible: ${describe(match)}; ${expected}`;
    return `${key}: an older write came back (lost write): ${describe(match)}; ${expected}`;
  }

  /** Like `problem`, with the kind of rule broken. */
  violation(key: string, seen: Observed): Violation | undefined {
    const message = this.problem(key, seen);
    if (message === undefined) return undefined;
    const writes = this.writes(key);
    const lastAcked = writes.findLast((w) => w.outcome === 'acked');
    const match = writes.findLast((w) => w.state === seen.state);
    let kind: ViolationKind;
    if (message.includes('does not match its ETag') || message.includes(', but the acknowledged write answered')) kind = 'corrupt-read';
    else if (match === undefined) kind = 'phantom-read';
    else if (match.outcome === 'failed') kind = 'refused-visible';
    else if (lastAcked?.op === 'delete' && seen.state !== ABSENT) kind = 'resurrected-delete';
    else kind = 'stale-read';
    return { kind, key, message };
  }
}
