/**
 * The acceptor side of per-key Paxos, as pure transitions over one key's state (the store
 * persists the state in the record's batch; nothing here does I/O). One key is a sequence of
 * single-decree instances, as in Cassandra's lightweight transactions: a commit at ballot c ends
 * the instance, and proposals at ballots above c belong to the next one. An accepted proposal at
 * or below the key's latest commit is finished (chosen and committed, or superseded) and is never
 * reported again.
 *
 * The floor. Every acceptor refuses to promise or accept at or below its key's *floor*, the
 * highest of: its promise, its latest commit, the version of the record it holds (a value
 * committed at ballot b is the record version b; a plain write above it supersedes it), and the
 * node's purge horizon (a ballot at `now - horizon`, see `purgeable`). Refusing is always safe in
 * Paxos (it is a lost message); what the floor buys is that state below it can be forgotten.
 */
import { compareVersions, type Version } from '../util/clock.js';
import { compareBallots, isAbove, maxBallot, type Ballot } from './ballot.js';

/**
 * A value put to the acceptors: `id` names the client request (a retry of the same request has
 * the same id, so it can find its own outcome), `value` is what a commit writes, or null for a
 * no-op (a commit that changes no record, used to close an instance: see proposer.ts).
 */
export interface Proposal<V> {
  readonly id: string;
  readonly value: V | null;
}

/** A proposal an acceptor accepted, and at which ballot. */
export interface Accepted<V> {
  readonly ballot: Ballot;
  readonly proposal: Proposal<V>;
}

/** An instance this acceptor saw committed: its ballot (= the version written) and request id. */
export interface Committed {
  readonly ballot: Ballot;
  readonly id: string;
  /** A no-op: it wrote nothing (only the latest commit is kept when it is one). */
  readonly noop?: true;
}

/** How many commits an acceptor remembers per key (the latest and the ones before it). */
export const RECENT_COMMITS = 16;

/** One key's acceptor state. The empty state `{}` is that of a key never proposed to (or purged). */
export interface AcceptorState<V> {
  readonly promised?: Ballot;
  readonly accepted?: Accepted<V>;
  readonly committed?: Committed;
  /**
   * The value commits before `committed`, newest first (at most RECENT_COMMITS - 1; no-ops are
   * not kept here): a proposer whose
   * value may have been chosen, finished by another and then overwritten, finds its id here and
   * answers its success instead of applying its value a second time.
   */
  readonly earlier?: readonly Committed[];
}

/** What the acceptor's replica holds for the key (tombstones included): the store's record, reduced. */
export interface RecordView {
  readonly version: Version;
  readonly tombstone: boolean;
  /** ETag without quotes ('' for a tombstone). */
  readonly etag: string;
  /**
   * The proposal id whose commit wrote this record, when a conditional write did (kept in the
   * record by the store): how a retry, or the proposer itself after another finished its
   * proposal, recognizes its own write however many no-ops were committed since.
   */
  readonly writer?: string | undefined;
}

/** What a transition knows besides the state: the key's record, and the node's purge horizon. */
export interface AcceptorContext {
  readonly record?: RecordView | undefined;
  /** The lowest ballot this node still takes (ballotAtWallMs(now - horizonMs)); see `purgeable`. */
  readonly horizon?: Ballot | undefined;
}

/** A promise: what the acceptor accepted in the open instance, its latest commit, and its record. */
export interface PromiseReply<V> {
  readonly kind: 'promise';
  /** Only a proposal above every commit, the record and the horizon (an open instance's value). */
  readonly accepted?: Accepted<V>;
  readonly committed?: Committed;
  readonly earlier?: readonly Committed[];
  readonly record?: RecordView;
}

/** A refusal, naming the ballot the proposer must get above. */
export interface RejectReply {
  readonly kind: 'reject';
  readonly higher: Ballot;
  /**
   * The refusal came from what is settled (a commit, the record, the horizon), not from another
   * proposer's promise: the ballot was merely old (a clock behind), which is no contention.
   */
  readonly settled?: true;
}

export type PrepareReply<V> = PromiseReply<V> | RejectReply;
export type AcceptReply = { readonly kind: 'accepted' } | RejectReply;

/** A transition's result: the state to persist (the same object when nothing changed) and the reply. */
export interface Transition<V, R> {
  readonly state: AcceptorState<V>;
  readonly reply: R;
}

/** The ballot at or below which nothing new is taken (everything but the promise). */
function settledFloor<V>(state: AcceptorState<V>, ctx: AcceptorContext): Ballot | undefined {
  return maxBallot(maxBallot(state.committed?.ballot, ctx.record?.version), ctx.horizon);
}

/** Phase 1: promise `ballot` if it is above the floor and every promise made, else refuse. */
export function prepare<V>(state: AcceptorState<V>, ballot: Ballot, ctx: AcceptorContext = {}): Transition<V, PrepareReply<V>> {
  const settled = settledFloor(state, ctx);
  const floor = maxBallot(settled, state.promised);
  if (!isAbove(ballot, floor)) {
    const byPromise = state.promised !== undefined && !isAbove(ballot, state.promised) && (settled === undefined || compareBallots(state.promised, settled) > 0);
    return { state, reply: byPromise ? { kind: 'reject', higher: floor! } : { kind: 'reject', higher: floor!, settled: true } };
  }
  const open = state.accepted !== undefined && isAbove(state.accepted.ballot, settled) ? state.accepted : undefined;
  const reply: PromiseReply<V> = {
    kind: 'promise',
    ...(open ? { accepted: open } : {}),
    ...(state.committed ? { committed: state.committed } : {}),
    ...(state.earlier?.length ? { earlier: state.earlier } : {}),
    ...(ctx.record ? { record: ctx.record } : {}),
  };
  return { state: { ...state, promised: ballot }, reply };
}

/** Phase 2: accept `proposal` at `ballot` unless a higher ballot was promised or it is at or below the floor. */
export function accept<V>(state: AcceptorState<V>, ballot: Ballot, proposal: Proposal<V>, ctx: AcceptorContext = {}): Transition<V, AcceptReply> {
  const settled = settledFloor(state, ctx);
  if (state.promised !== undefined && compareBallots(ballot, state.promised) < 0) return { state, reply: { kind: 'reject', higher: state.promised } };
  if (!isAbove(ballot, settled)) return { state, reply: { kind: 'reject', higher: maxBallot(settled, state.promised)! } };
  return { state: { ...state, promised: ballot, accepted: { ballot, proposal } }, reply: { kind: 'accepted' } };
}

/**
 * Whether a plain (last-writer-wins) write at `version` may land on this replica: not at or below
 * the key's promise. Why: a proposer that holds a promise has read the key; a plain write landing
 * below its ballot after that read would be overwritten by its commit (a higher version) although
 * the proposer's condition never saw it, and the history stops being linearizable (a concurrent
 * plain PUT vanishing under an If-Match that was evaluated without it). The same holds for a
 * read repair's write-back of an incomplete write (a read could then return a value the proposer
 * never saw, and that its commit overwrites). Refused, a plain write's coordinator may retry with
 * a version above `higher` (which then also floors the proposer's accept), but only when no owner
 * took the first version: a copy that landed somewhere may have been seen, even deleted by an
 * If-Match, and writing it again later would apply it twice; otherwise the answer is 503
 * (indeterminate). A key without Paxos state takes every plain write.
 */
export function admitPlainWrite<V>(state: AcceptorState<V>, version: Version): AcceptReply {
  if (state.promised !== undefined && compareVersions(version, state.promised) <= 0) return { kind: 'reject', higher: state.promised };
  return { kind: 'accepted' };
}

/**
 * Whether a proposer's read repair (bringing the newest record it saw to this replica before it
 * answers a refusal from it) may land: only while no higher ballot was promised here. A higher
 * promise means another proposer read this replica since, without that copy.
 */
export function admitRepair<V>(state: AcceptorState<V>, ballot: Ballot): AcceptReply {
  if (state.promised !== undefined && compareBallots(state.promised, ballot) > 0) return { kind: 'reject', higher: state.promised };
  return { kind: 'accepted' };
}

/**
 * Learns that `proposal` was chosen at `ballot`. Always taken (a chosen value is a fact, whatever
 * was promised since); the latest commit only moves up, and an accepted proposal at or below it
 * is dropped (it is this one, or superseded). `applies` tells the store whether to write the
 * value as the record version `ballot`, under last-writer-wins like any commit (so a late commit
 * older than the record is refused there); a no-op writes nothing.
 */
export function commit<V>(state: AcceptorState<V>, ballot: Ballot, proposal: Proposal<V>): { readonly state: AcceptorState<V>; readonly applies: boolean } {
  const entry: Committed = proposal.value === null ? { ballot, id: proposal.id, noop: true } : { ballot, id: proposal.id };
  const known = [...(state.committed ? [state.committed] : []), ...(state.earlier ?? [])];
  const all = known.some((c) => c.id === entry.id && compareBallots(c.ballot, ballot) === 0) ? known : [...known, entry].sort((a, b) => compareBallots(b.ballot, a.ballot));
  // No-ops only matter as the latest commit (they close an instance); the memory is for values.
  const [committed, ...rest0] = all;
  const older = rest0.filter((c) => c.noop !== true).slice(0, RECENT_COMMITS - 1);
  const { accepted, earlier: _earlier, ...rest } = state;
  const keepAccepted = accepted !== undefined && committed !== undefined && isAbove(accepted.ballot, committed.ballot);
  const next: AcceptorState<V> = { ...rest, ...(committed ? { committed } : {}), ...(older.length ? { earlier: older } : {}), ...(keepAccepted ? { accepted } : {}) };
  return { state: next, applies: proposal.value !== null };
}

/** What `purgeable` needs to know beyond the state. */
export interface PurgeContext extends AcceptorContext {
  /** Every replica of the key (all N owners) acknowledged the latest commit. */
  readonly committedOnAll: boolean;
  /**
   * The latest commit must be at or below this ballot: ballotAtWallMs(now - quiet), quiet being
   * longer than a conditional write may run (its budget), so that no proposer still running needs
   * the commit ids to recognize its own write (a later retry of a purged request is decided anew).
   */
  readonly quietBefore: Ballot;
}

/**
 * Whether a key's acceptor state can be dropped. The rule: every ballot in the state (promise,
 * accepted, commit) is at or below F = max(record version, horizon), and the latest commit, if
 * any, is on all replicas and older than any conditional write still running (`quietBefore`). Why that is safe: after the purge the acceptor still refuses every
 * ballot ≤ F (the floor), which is at least as strong as the promise it forgot, and an accepted
 * proposal ≤ F was never reported again anyway (superseded by the record, or abandoned for longer
 * than the horizon: its client got no answer, and nobody who saw it left it uncommitted, since a
 * proposer that sees an open proposal commits it first). F itself never goes down: the record
 * version only grows, except when the tombstone GC forgets a tombstone, and that tombstone is older
 * than replication.tombstoneGraceMs, so it lies below the horizon as long as
 * horizonMs + cluster.maxClockOffsetMs ≤ tombstoneGraceMs. A stale proposal (a delayed accept
 * message, an acceptor's old accepted value) can therefore never re-apply after a delete or a
 * tombstone GC: it is at or below a floor that outlives its state.
 *
 * A no-op commit writes no record, so its state stays until a later write or the horizon passes it.
 */
export function purgeable<V>(state: AcceptorState<V>, ctx: PurgeContext): boolean {
  const floor = maxBallot(ctx.record?.version, ctx.horizon);
  const covered = (b: Ballot | undefined): boolean => b === undefined || (floor !== undefined && compareVersions(b, floor) <= 0);
  if (!covered(state.promised) || !covered(state.accepted?.ballot) || !covered(state.committed?.ballot)) return false;
  if (state.committed === undefined) return true;
  return ctx.committedOnAll && compareVersions(state.committed.ballot, ctx.quietBefore) <= 0;
}

/** Whether a state is empty (nothing to persist). */
export function isEmptyState<V>(state: AcceptorState<V>): boolean {
  return state.promised === undefined && state.accepted === undefined && state.committed === undefined && !state.earlier?.length;
}
