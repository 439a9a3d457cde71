/**
 * The proposer's decisions, pure: given the promises of a quorum of the key's owners, what must
 * happen next. In order (Cassandra's LWT, one round of prepare+read):
 * 1. An open proposal (accepted above every commit seen) must be finished first: re-proposed at
 *    our ballot and committed, then a fresh round. When it is this request's own (an earlier
 *    attempt's accept that got through somewhere), finishing it is this request's success.
 * 2. When a commit seen (the promisers remember their last RECENT_COMMITS), or the writer of the
 *    newest record, is this request (a retry of a request already applied, or a proposal another
 *    proposer finished for us), the answer is its original success: never apply a value twice.
 * 3. Otherwise the condition is evaluated against the newest record among the promises: propose,
 *    or refuse (412, or 404 for If-Match on a missing key). A refusal answers what the newest
 *    record says, so that record must be on a quorum first (`catchUp`), or a quorum read right
 *    after could see an older one.
 */
import { compareVersions } from '../util/clock.js';
import { compareBallots, isAbove, maxBallot, type Ballot } from './ballot.js';
import { RECENT_COMMITS, type Accepted, type Committed, type Proposal, type RecordView } from './acceptor.js';

/** An S3 write condition: `If-None-Match: *`, or `If-Match: <etag>` (`*` for "any existing object"). */
export type WriteCondition = { readonly kind: 'if-none-match' } | { readonly kind: 'if-match'; readonly etag: string };

/** A promise as the proposer received it, with who sent it. */
export interface ReceivedPromise<V> {
  readonly from: string;
  readonly accepted?: Accepted<V> | undefined;
  readonly committed?: Committed | undefined;
  readonly earlier?: readonly Committed[] | undefined;
  readonly record?: RecordView | undefined;
}

/** Why a condition refuses a write, as S3 answers it. */
export type Refusal = 'precondition-failed' | 'no-such-key';

/** What the proposer does after a quorum of promises. */
export type Decision<V> =
  /** Re-propose this open proposal at our ballot and commit it; `mine`: it is this request's own, and committing it is the answer. */
  | { readonly kind: 'repair'; readonly proposal: Proposal<V>; readonly mine: boolean }
  /** This request was already applied (its id is among the commits seen, or wrote the newest record): answer success again. */
  | { readonly kind: 'already-applied' }
  /** This request's value may have been committed and forgotten since (more commits than are remembered): its outcome is unknown. */
  | { readonly kind: 'indeterminate' }
  /** The condition holds on `current`: propose this request's value. */
  | { readonly kind: 'propose'; readonly current: RecordView | undefined }
  /** The condition fails on `current`; `catchUp`: promisers holding an older record, to bring `current` before answering. */
  | { readonly kind: 'refuse'; readonly refusal: Refusal; readonly current: RecordView | undefined; readonly catchUp: readonly string[] };

/** Whether a record view is a live object (not absent, not a tombstone). */
export function exists(record: RecordView | undefined): record is RecordView {
  return record !== undefined && !record.tombstone;
}

/** Evaluates a write condition against the current record: undefined when it holds, else the refusal. */
export function evaluateCondition(condition: WriteCondition, current: RecordView | undefined): Refusal | undefined {
  if (condition.kind === 'if-none-match') return exists(current) ? 'precondition-failed' : undefined;
  if (!exists(current)) return 'no-such-key';
  return condition.etag === '*' || condition.etag === current.etag ? undefined : 'precondition-failed';
}

/** The newest record among the promises (by version), or undefined when none holds one. */
export function newestRecord<V>(promises: readonly ReceivedPromise<V>[]): RecordView | undefined {
  let newest: RecordView | undefined;
  for (const p of promises) if (p.record && (!newest || compareVersions(p.record.version, newest.version) > 0)) newest = p.record;
  return newest;
}

/** The highest commit or record version among the promises: what closes an instance. */
export function latestSettled<V>(promises: readonly ReceivedPromise<V>[]): Ballot | undefined {
  let latest: Ballot | undefined;
  for (const p of promises) latest = maxBallot(maxBallot(latest, p.committed?.ballot), p.record?.version);
  return latest;
}

/** The open proposal among the promises: the highest accepted one above every commit and record seen. */
export function openProposal<V>(promises: readonly ReceivedPromise<V>[]): Accepted<V> | undefined {
  const settled = latestSettled(promises);
  let open: Accepted<V> | undefined;
  for (const p of promises) if (p.accepted && isAbove(p.accepted.ballot, settled) && isAbove(p.accepted.ballot, open?.ballot)) open = p.accepted;
  return open;
}

/**
 * Decides the next step of request `id` with `condition`, from a quorum of promises.
 * `acceptedAt`: the lowest ballot at which this request already sent its own value to the
 * acceptors (an earlier attempt), if any. Such a value may have been chosen, finished by another
 * proposer and overwritten since; its id is then among the commits some promiser remembers (a
 * quorum committed it, and this quorum meets that one), and proposing it again would apply it
 * twice. When a promiser's memory of commits is full and reaches no lower than `acceptedAt`, that
 * cannot be told, and the outcome is indeterminate.
 */
export function decide<V>(promises: readonly ReceivedPromise<V>[], id: string, condition: WriteCondition, acceptedAt?: Ballot): Decision<V> {
  const open = openProposal(promises);
  if (open) return { kind: 'repair', proposal: open.proposal, mine: open.proposal.id === id };
  const current = newestRecord(promises);
  const commits = promises.flatMap((p) => [...(p.committed ? [p.committed] : []), ...(p.earlier ?? [])]);
  if (commits.some((c) => c.id === id) || (current?.writer !== undefined && current.writer === id)) return { kind: 'already-applied' };
  if (acceptedAt !== undefined) {
    const forgetting = promises.some((p) => {
      const earlier = p.earlier ?? [];
      const oldest = earlier[earlier.length - 1];
      return earlier.length >= RECENT_COMMITS - 1 && oldest !== undefined && compareBallots(oldest.ballot, acceptedAt) > 0;
    });
    if (forgetting) return { kind: 'indeterminate' };
  }
  const refusal = evaluateCondition(condition, current);
  if (refusal === undefined) return { kind: 'propose', current };
  const catchUp = current === undefined ? [] : promises.filter((p) => !p.record || compareVersions(p.record.version, current.version) < 0).map((p) => p.from);
  return { kind: 'refuse', refusal, current, catchUp };
}

/** The highest ballot named by a set of rejections (what the next ballot must be above). */
export function highestRejection(rejections: readonly { readonly higher: Ballot }[]): Ballot | undefined {
  let highest: Ballot | undefined;
  for (const r of rejections) highest = maxBallot(highest, r.higher);
  return highest;
}
