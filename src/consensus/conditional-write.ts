/**
 * One conditional write through per-key Paxos, as a loop over injected seams: the link to the
 * key's acceptors (RPC endpoints in a node, plain function calls in tests), a ballot clock,
 * time, sleep and randomness. No I/O of its own, so the same loop runs over HTTP and in the
 * in-memory property tests.
 *
 * The loop: prepare at a fresh ballot and read (the promises carry each owner's record) → decide
 * (proposer.ts) → repair an open proposal / propose our value / refuse → commit, and on a lost
 * ballot back off (backoff.ts) and try again above the ballot that beat us.
 *
 * The answers, and why each is safe:
 * - `applied`: our value was chosen and committed on a quorum (a quorum read sees it).
 * - `refused` (412 / 404): the condition is false on the newest record, and that record is on a
 *   quorum (brought there first if need be). If any attempt of this request sent an accept, a
 *   no-op is then committed above it, so that accept can never be finished later by someone
 *   repairing it (the order matters: a no-op settles the instance, and must not hide a value
 *   whose commit reached only a minority).
 * - `conflict` (409): the same as a refusal, when this request met a concurrent proposal (another
 *   proposer got in after our promise, or we finished another's): S3's ConditionalRequestConflict.
 *   Also the answer when the budget runs out before a decision, as long as no accept of ours was sent.
 * - `unavailable` (503): no quorum of owners, or a clock too far off. `maybeApplied` when an
 *   accept of ours went out: the write may still be finished by a later proposer, so the answer
 *   is "unknown" (a retry of the same request, same id, finds its outcome).
 */
import { compareVersions } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { AcceptReply, PrepareReply, Proposal, RecordView } from './acceptor.js';
import { makeBallot, maxBallot, type Ballot, type BallotClock } from './ballot.js';
import { DEFAULT_BACKOFF, retryDelayMs, withinBudget, type BackoffPolicy } from './backoff.js';
import { decide, highestRejection, newestRecord, type ReceivedPromise, type Refusal, type WriteCondition } from './proposer.js';

/** How the proposer reaches one key's acceptors. Every call may throw (unreachable, timeout). */
export interface AcceptorLink<V> {
  prepare(node: string, ballot: Ballot): Promise<PrepareReply<V>>;
  accept(node: string, ballot: Ballot, proposal: Proposal<V>): Promise<AcceptReply>;
  commit(node: string, ballot: Ballot, proposal: Proposal<V>): Promise<void>;
  /**
   * Brings the record `current` (held by `holders`) to `node`, the read repair a refusal needs,
   * within `ballot`: the owner refuses (admitRepair) when it promised a higher ballot since, as
   * that proposer read the key without this copy.
   */
  catchUp(node: string, ballot: Ballot, current: RecordView, holders: readonly string[]): Promise<AcceptReply>;
}

/** One conditional write request. */
export interface ConditionalWriteRequest<V> {
  /** Names the client request; a retry of it must carry the same id. */
  readonly id: string;
  readonly condition: WriteCondition;
  /** What a commit writes (a tombstone for a conditional delete). */
  readonly value: V;
}

/** Everything the loop needs. */
export interface ConditionalWriteDeps<V> {
  /** The key's owners (all N), each an acceptor. */
  readonly owners: readonly string[];
  /** A quorum of them (⌊N/2⌋ + 1). */
  readonly needed: number;
  readonly link: AcceptorLink<V>;
  readonly clock: BallotClock;
  /** Wall-clock ms, for the budget. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: Random;
  readonly policy?: BackoffPolicy;
}

/** How a conditional write ended. */
export type ConditionalWriteOutcome =
  | { readonly kind: 'applied'; readonly ballot: Ballot; readonly attempts: number }
  | { readonly kind: 'refused'; readonly refusal: Refusal; readonly current: RecordView | undefined; readonly attempts: number }
  | { readonly kind: 'conflict'; readonly attempts: number }
  | { readonly kind: 'unavailable'; readonly reason: string; readonly maybeApplied: boolean; readonly attempts: number };

interface Gathered<T> {
  readonly ok: Map<string, T>;
  readonly refused: T[];
  readonly errors: number;
}

/** Calls every node and resolves once `needed` answers pass `good`, or that can no longer happen; later answers are ignored. */
function gather<T>(nodes: readonly string[], needed: number, call: (node: string) => Promise<T>, good: (answer: T) => boolean): Promise<Gathered<T>> {
  return new Promise((resolve) => {
    const result = { ok: new Map<string, T>(), refused: [] as T[], errors: 0 };
    let settled = false;
    const check = (): void => {
      if (settled) return;
      const failed = result.refused.length + result.errors;
      if (result.ok.size >= needed || failed > nodes.length - needed) {
        settled = true;
        resolve({ ok: new Map(result.ok), refused: [...result.refused], errors: result.errors });
      }
    };
    for (const node of nodes) {
      call(node).then(
        (answer) => {
          if (good(answer)) result.ok.set(node, answer);
          else result.refused.push(answer);
          check();
        },
        () => {
          result.errors++;
          check();
        },
      );
    }
    check();
  });
}

/** Runs one conditional write to its decision. */
export async function runConditionalWrite<V>(request: ConditionalWriteRequest<V>, deps: ConditionalWriteDeps<V>): Promise<ConditionalWriteOutcome> {
  const { owners, needed, link } = deps;
  const policy = deps.policy ?? DEFAULT_BACKOFF;
  const startedAt = deps.now();
  const mine: Proposal<V> = { id: request.id, value: request.value };
  let seen: Ballot | undefined;
  let attempts = 0;
  let acceptSent = false;
  let acceptedAt: Ballot | undefined;
  let contended = false;

  const unavailable = (reason: string): ConditionalWriteOutcome => ({ kind: 'unavailable', reason, maybeApplied: acceptSent, attempts });
  const gatherAccepts = (ballot: Ballot, proposal: Proposal<V>): Promise<Gathered<AcceptReply>> =>
    gather(
      owners,
      needed,
      (n) => link.accept(n, ballot, proposal),
      (r) => r.kind === 'accepted',
    );
  const commitQuorum = async (ballot: Ballot, proposal: Proposal<V>): Promise<boolean> =>
    (
      await gather(
        owners,
        needed,
        (n) => link.commit(n, ballot, proposal).then(() => true),
        () => true,
      )
    ).ok.size >= needed;

  /**
   * Brings the newest record among the promises to a quorum, within `ballot` (an owner that
   * promised higher since refuses): 'done', the ballot that beat us, or 'unavailable'.
   */
  const catchUpNewest = async (promises: readonly ReceivedPromise<V>[], ballot: Ballot): Promise<'done' | 'unavailable' | Ballot> => {
    const current = newestRecord(promises);
    if (current === undefined) return 'done';
    const holds = (p: ReceivedPromise<V>): boolean => p.record !== undefined && compareVersions(p.record.version, current.version) === 0;
    const holders = promises.filter(holds).map((p) => p.from);
    const missing = needed - holders.length;
    if (missing <= 0) return 'done';
    const lagging = promises.filter((p) => !holds(p)).map((p) => p.from);
    const caught = await gather(
      lagging,
      missing,
      (n) => link.catchUp(n, ballot, current, holders),
      (r) => r.kind === 'accepted',
    );
    if (caught.ok.size >= missing) return 'done';
    return highestRejection(caught.refused.filter((r) => r.kind === 'reject')) ?? 'unavailable';
  };

  for (;;) {
    attempts++;
    const ballot = makeBallot(deps.clock, seen);
    if (ballot === undefined) return unavailable('a ballot seen is from a clock beyond the skew bound');
    let lost: Ballot | undefined;
    let onlySettled = false;
    // Whether a competitor got in after our promise (an accept or repair of ours refused): only
    // that is contention (409); a prepare refused by a promise may be a finished read's.
    let overtaken = true;

    const prepared = await gather(
      owners,
      needed,
      (n) => link.prepare(n, ballot),
      (r) => r.kind === 'promise',
    );
    if (prepared.ok.size < needed) {
      const rejections = prepared.refused.filter((r) => r.kind === 'reject');
      lost = highestRejection(rejections);
      onlySettled = rejections.every((r) => r.settled === true);
      overtaken = false;
      if (lost === undefined) return unavailable(`prepare: ${prepared.ok.size} of ${needed} owners promised, ${prepared.errors} unreachable`);
    } else {
      const promises: ReceivedPromise<V>[] = [...prepared.ok].map(([from, r]) => ({ from, ...(r.kind === 'promise' ? r : {}) }));
      const decision = decide(promises, request.id, request.condition, acceptedAt);
      if (decision.kind === 'already-applied') {
        // Our value was committed, maybe only on a minority (its committer failed half-way):
        // the newest record goes to a quorum before the success, so a quorum read sees it.
        const caught = await catchUpNewest(promises, ballot);
        if (caught === 'unavailable') return unavailable('this request was applied, but its record could not be brought to a quorum');
        if (caught === 'done') return { kind: 'applied', ballot, attempts };
        lost = caught;
      } else if (decision.kind === 'indeterminate') return { kind: 'unavailable', reason: 'this request may have been applied, and too many commits followed to tell', maybeApplied: true, attempts };
      else if (decision.kind === 'repair' || decision.kind === 'propose') {
        const proposal = decision.kind === 'repair' ? decision.proposal : mine;
        const ours = decision.kind === 'propose' || decision.mine;
        if (ours) {
          acceptSent = true;
          acceptedAt ??= ballot;
        } else contended = true;
        const accepted = await gatherAccepts(ballot, proposal);
        if (accepted.ok.size >= needed) {
          if (!(await commitQuorum(ballot, proposal))) return unavailable('commit: no quorum of owners acknowledged');
          if (ours) return { kind: 'applied', ballot, attempts };
          seen = maxBallot(seen, ballot);
          continue; // an open proposal finished: a fresh round at once
        }
        lost = highestRejection(accepted.refused.filter((r) => r.kind === 'reject'));
        if (lost === undefined) return unavailable(`accept: ${accepted.ok.size} of ${needed} owners accepted, ${accepted.errors} unreachable`);
      } else {
        // refuse: first the record we answer from goes to a quorum (a no-op closing the instance
        // before it would hide a value committed on a minority), then a no-op closes any accept of ours.
        const { current } = decision;
        const caught = await catchUpNewest(promises, ballot);
        if (caught === 'unavailable') return unavailable('the newest record could not be brought to a quorum');
        if (caught !== 'done') lost = caught;
        if (caught === 'done' && acceptSent) {
          const noop: Proposal<V> = { id: `${request.id}#noop`, value: null };
          const closed = await gatherAccepts(ballot, noop);
          if (closed.ok.size >= needed && (await commitQuorum(ballot, noop))) acceptSent = false;
          else {
            lost = highestRejection(closed.refused.filter((r) => r.kind === 'reject'));
            if (lost === undefined) return unavailable('closing an earlier accept: no quorum of owners');
          }
        }
        if (lost === undefined) return contended ? { kind: 'conflict', attempts } : { kind: 'refused', refusal: decision.refusal, current, attempts };
      }
    }

    // A higher ballot beat us: back off and try again above it. Only another proposer's promise
    // is contention; a ballot below what is settled was just old (this node's clock behind).
    seen = maxBallot(seen, lost);
    if (onlySettled && withinBudget(startedAt, deps.now(), 0, policy)) continue;
    if (overtaken) contended = true;
    const delay = retryDelayMs(attempts, deps.random, policy);
    if (!withinBudget(startedAt, deps.now(), delay, policy)) {
      return acceptSent ? unavailable('gave up under contention with an accept of ours out') : { kind: 'conflict', attempts };
    }
    await deps.sleep(delay);
  }
}
