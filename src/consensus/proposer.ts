/**
 * The proposer's decisions, pure: given the promises of a quorum of the key's owners, what must
 * happen next. In order (Cassandra's LWT, one round of prepare+read):
 * 1. An open proposal (accepted above every commit seen) must be finished first: re-proposed at
 *    our ballot and committed, then a fresh round. When it is this request's own (an earlier
 *    attempt's accept that got through somewhere), finishing it is this request's success.
 * 2. When the latest commit seen is this request's (a retry of a request already applied), the
 *    answer is its original success.
 * 3. Otherwise the condition is evaluated against the newest record among the promises: propose,
 *    or refuse (412, or 404 for If-Match on a missing key). A refusal answers what the newest
 *    record says, so that record must be on a quorum first (`catchUp`), or a quorum read right
 *    after could see an older one.
 */
import { compareVersions } from '../util/clock.js';
import { isAbove, maxBallot, type Ballot } from './ballot.js';
import type { Accepted, Proposal, RecordView } from './acceptor.js';

/** An S3 write condition: `If-None-Match: *`, or `If-Match: <etag>` (`*` for "any existing object"). */
export type WriteCondition = { readonly kind: 'if-none-match' } | { readonly kind: 'if-match'; readonly etag: string };

/** A promise as the proposer received it, with who sent it. */
export interface ReceivedPromise<V> {
  readonly from: string;
  readonly accepted?: Accepted<V> | undefined;
  readonly committed?: { readonly ballot: Ballot; readonly id: string } | undefined;
  readonly record?: RecordView | undefined;
}

/** Why a condition refuses a write, as S3 answers it. */
export type Refusal = 'precondition-failed' | 'no-such-key';

/** What the proposer does after a quorum of promises. */
export type Decision<V> =
  /** Re-propose this open proposal at our ballot and commit it; `mine`: it is this request's own, and committing it is the answer. */
  | { readonly kind: 'repair'; readonly proposal: Proposal<V>; readonly mine: boolean }
  /** This request was already applied (its id is the latest commit): answer success again. */
  | { readonly kind: 'already-applied' }
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

/** Decides the next step of request `id` with `condition`, from a quorum of promises. */
export function decide<V>(promises: readonly ReceivedPromise<V>[], id: string, condition: WriteCondition): Decision<V> {
  const open = openProposal(promises);
  if (open) return { kind: 'repair', proposal: open.proposal, mine: open.proposal.id === id };
  const settled = latestSettled(promises);
  const latestCommit = promises.find((p) => p.committed && settled && compareVersions(p.committed.ballot, settled) === 0)?.committed;
  if (latestCommit?.id === id) return { kind: 'already-applied' };
  const current = newestRecord(promises);
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
