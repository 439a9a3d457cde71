/**
 * The write path: PUT, DELETE and small system records. A body up to the inline threshold is
 * committed with its record; a larger one is staged on the replicas first (`fanout.ts`) and
 * committed once W have staged it. Every commit round is one quorum call: the coordinator's own
 * copy goes last, once W-1 peers have committed, so a write that cannot reach W leaves no copy
 * on it; replicas that stage late commit only once the write is acknowledged.
 *
 * Hinted handoff: for each down owner the write also goes to the next live fallback
 * (placement.ts), which commits it with a hint for that owner in the same batch; the hint is
 * delivered later (src/handoff/). Strict by default: a fallback's ack counts for nobody's set, so
 * the write still needs W owners and is sent to the fallbacks only once they acked (a write
 * answered 503 leaves no hint behind); `replication.sloppyQuorum` lets a fallback's ack fill
 * its owner's place.
 */
import type { CommitResult, ObjectMeta, ReplicaApi, SideWrite } from '../store/types.js';
import type { Version } from '../util/clock.js';
import { compareVersions, hlcWallMs } from '../util/clock.js';
import { RingstoreError, describeError, isErrorCode } from '../util/errors.js';
import { stageOnReplicas, discardAll, type FanoutTarget, type WriteCounting } from './fanout.js';
import { quorumCall } from './quorum-call.js';
import { targetsOf, type PathContext } from './context.js';

/** What a PUT carries besides the key. */
export interface PutObjectInput {
  readonly bucket: string;
  readonly key: string;
  readonly contentType: string;
  readonly userMeta: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** The (already decoded) body; it throws at its end when verification fails. */
  readonly body: AsyncIterable<Uint8Array>;
  /** Called once the body has been read completely: the ETag and checksums to record. */
  readonly seal: () => { etag: string; checksums?: Record<string, string> };
  readonly signal?: AbortSignal;
  /**
   * The version taken when the request arrived (`Coordinator.arrivalVersion`), so that of two
   * overlapping writes the one that started later wins however long the other's body takes;
   * taken here when absent.
   */
  readonly version?: Version;
}

const EMPTY = new Uint8Array(0);

/** Quorum writes of objects and tombstones. */
export class WritePath {
  readonly #ctx: PathContext;

  constructor(ctx: PathContext) {
    this.#ctx = ctx;
  }

  /** Stores an object version on the key's replicas; resolves after W durable acks. */
  async putObject(input: PutObjectInput): Promise<ObjectMeta> {
    const { bucket, key, signal } = input;
    const ctx = this.#ctx;
    const { targets, counting } = this.#writeTargets(bucket, key, 'PutObject');
    const version = input.version ?? (await ctx.clock.issue());
    const iterator = input.body[Symbol.asyncIterator]();
    const { head, size, ended } = await readHead(iterator, ctx.inlineThreshold);
    if (ended) {
      const data = head.length === 1 ? head[0]! : Buffer.concat(head, size);
      const sealed = input.seal();
      return this.#commitEverywhere('PutObject', targets, counting, this.#meta(input, version, size, sealed), () => ({ kind: 'inline', data }));
    }
    const { staged, late } = await stageOnReplicas('PutObject', targets, ctx.w, head, iterator, signal, counting).catch((err: unknown) => {
      // A quorum missed at stage counts as one; the client's own body errors do not.
      if (isErrorCode(err, 'QuorumNotReached') || isErrorCode(err, 'InsufficientStorage')) ctx.metrics?.quorumFailures.inc({ op: 'PutObject' });
      throw err;
    });
    let meta: ObjectMeta;
    try {
      meta = this.#meta(input, version, staged[0]!.staged.size, input.seal());
    } catch (err) {
      await discardAll(staged);
      ctx.leftovers.track(late.then(discardAll));
      throw err;
    }
    const sealed = meta;
    const byId = new Map(staged.map((s) => [s.target.id, s.staged]));
    const quorum = this.#commitEverywhere(
      'PutObject',
      staged.map((s) => s.target),
      counting,
      meta,
      (t) => ({ kind: 'staged', id: byId.get(t.id)!.id }),
      (t) => ctx.leftovers.track(discardAll([{ target: t, staged: byId.get(t.id)! }])),
      false,
    );
    // Replicas that finish staging after the first W are committed when they do, once the write
    // is acknowledged: a write that failed leaves no copy behind. A stage whose commit failed
    // (or timed out) is discarded, or it would hold its disk space until the GC.
    const acked = quorum.then(
      () => true,
      () => false,
    );
    ctx.leftovers.track(
      late.then(async (rest) => {
        if (!(await acked)) return discardAll(rest);
        await Promise.all(
          rest.map(({ target, staged: s }) =>
            target.api.commit(sealed, { kind: 'staged', id: s.id }, undefined, sideWritesOf(target)).catch((err: unknown) => {
              ctx.logger.warn({ peer: target.id, op: 'PutObject', err: describeError(err) }, 'late replica commit failed');
              return discardAll([{ target, staged: s }]);
            }),
          ),
        );
      }),
    );
    await quorum;
    return meta;
  }

  /** Writes a tombstone for a key (under `version`, taken at the request's arrival, or now); resolves after W acks. Deleting a missing key succeeds (S3). */
  async deleteObject(bucket: string, key: string, version?: Version): Promise<void> {
    const { targets, counting } = this.#writeTargets(bucket, key, 'DeleteObject');
    const meta: ObjectMeta = { bucket, key, version: version ?? (await this.#ctx.clock.issue()), tombstone: true, size: 0, etag: '', contentType: '', userMeta: {} };
    await this.#commitEverywhere('DeleteObject', targets, counting, meta, () => ({ kind: 'inline', data: EMPTY }));
  }

  /** Writes a complete record (system records such as buckets, multipart manifests) under `version` (taken at the request's arrival), or a fresh one. */
  async putSmall(meta: Omit<ObjectMeta, 'version'>, data: Uint8Array, version?: Version): Promise<ObjectMeta> {
    const { targets, counting } = this.#writeTargets(meta.bucket, meta.key, 'PutObject');
    const full: ObjectMeta = { ...meta, version: version ?? (await this.#ctx.clock.issue()) };
    return this.#commitEverywhere('PutObject', targets, counting, full, () => ({ kind: 'inline', data }));
  }

  /**
   * The replicas of a write (its owners, then a fallback for each down owner) and what their acks
   * are counted over, after checking that this node may coordinate writes at all.
   */
  #writeTargets(bucket: string, key: string, op: string): { targets: FanoutTarget[]; counting: WriteCounting } {
    const ctx = this.#ctx;
    const refusal = ctx.writeRefusal?.();
    if (refusal) throw refusal;
    const { owners, sets, fallbacks, replicas } = ctx.placement.writeSet(bucket, key, ctx.w);
    if (owners.length < ctx.w) {
      ctx.metrics?.quorumFailures.inc({ op });
      throw new RingstoreError('QuorumNotReached', `${op}: needed ${ctx.w} of ${replicas} replicas, the ring has only ${owners.length}`);
    }
    const standIns = new Map(fallbacks.map((f) => [f.member.id, f.hintFor]));
    const targets = [...targetsOf(ctx, owners), ...fallbacks.map((f) => ({ id: f.member.id, api: ctx.replicaFor(f.member), hintFor: f.hintFor }))];
    return { targets, counting: { sets, standIns, sloppy: ctx.sloppyQuorum } };
  }

  #meta(input: PutObjectInput, version: ObjectMeta['version'], size: number, sealed: { etag: string; checksums?: Record<string, string> }): ObjectMeta {
    return {
      bucket: input.bucket,
      key: input.key,
      version,
      tombstone: false,
      size,
      etag: sealed.etag,
      contentType: input.contentType,
      userMeta: input.userMeta,
      ...(input.headers && Object.keys(input.headers).length > 0 && { headers: input.headers }),
      ...(sealed.checksums && Object.keys(sealed.checksums).length > 0 && { checksums: sealed.checksums }),
    };
  }

  /**
   * Commits on every target; resolves with the committed record at W acks while the others
   * finish in the background. Each answer carries the version the replica holds, which the clock
   * observes, so this node's next versions are above it.
   *
   * A replica that kept a newer version means this write lost to another (last writer wins),
   * and that is an ack when the other request came later. Two exceptions, by the newer version's
   * wall time: further ahead of this clock than the bound allows, it came from a skewed clock and
   * would hide this write although it may be older (a failure: ClockSkew, 503); within clock
   * uncertainty (at most cluster.maxClockOffsetMs above this write's, and not behind this clock
   * when the commit went out, so no clock in step with ours had stamped it before), its request
   * may well have come first from a clock running ahead, and acknowledging would hide a write that
   * arrived later. Then the write is committed again under a fresh version above the one it lost
   * to (at most RECOMMITS times): the request that arrived later wins. A staged body is gone
   * from the replicas that refused it, so such a write fails (ClockSkew, 503) for the client to
   * retry, rather than being acknowledged hidden.
   */
  async #commitEverywhere(
    op: string,
    targets: readonly FanoutTarget[],
    counting: WriteCounting,
    meta: ObjectMeta,
    body: (t: FanoutTarget) => Parameters<ReplicaApi['commit']>[1],
    onFailed?: (t: FanoutTarget) => void,
    bodyReusable = true,
  ): Promise<ObjectMeta> {
    const ctx = this.#ctx;
    for (let round = 0; ; round++) {
      const hiddenBy = await this.#commitRound(op, targets, counting, meta, body, onFailed);
      if (hiddenBy === undefined) return meta;
      if (!bodyReusable || round >= RECOMMITS) {
        ctx.metrics?.quorumFailures.inc({ op });
        throw hiddenError(op, meta, hiddenBy, bodyReusable);
      }
      ctx.logger.debug({ op, bucket: meta.bucket, key: meta.key, lostTo: hiddenBy }, 'a version from a clock ahead within the bound hid this write; committing it again above it');
      meta = { ...meta, version: await ctx.clock.issue() };
    }
  }

  /** One commit round of `meta`; resolves with the newer version within clock uncertainty that hides it, if any replica that acked holds one. */
  async #commitRound(
    op: string,
    targets: readonly FanoutTarget[],
    counting: WriteCounting,
    meta: ObjectMeta,
    body: (t: FanoutTarget) => Parameters<ReplicaApi['commit']>[1],
    onFailed?: (t: FanoutTarget) => void,
  ): Promise<Version | undefined> {
    const ctx = this.#ctx;
    const sentAtMs = ctx.clock.wallNow();
    const boundMs = ctx.clock.uncertaintyMs;
    let skew: RingstoreError | undefined;
    const counted = countedOver(counting, targets);
    let hiddenBy: Version | undefined;
    const commits = quorumCall<FanoutTarget, CommitResult>({
      op,
      targets,
      needed: ctx.w,
      sets: counted.sets,
      standIns: counted.standIns,
      sloppy: counted.sloppy,
      timers: ctx.timers,
      leftovers: ctx.leftovers,
      // This node's own copy is committed last, once W-1 peers have committed theirs: when too few
      // peers are reachable, the write fails without a copy anywhere that a read after the heal
      // would find (a 503 must not turn into a 200 later). Under strict handoff the fallbacks
      // wait too (their acks count for nobody), so a write that fails leaves no hint either.
      holdBack: (t) => t.id === ctx.selfId || (!counted.sloppy && t.hintFor !== undefined),
      call: (t) => t.api.commit(meta, body(t), undefined, sideWritesOf(t)),
      check: (t, result) => {
        const { current } = result;
        if (!ctx.clock.observe(current.hlc)) {
          skew = futureVersionError(op, t.id, meta, current);
          return skew;
        }
        if (compareVersions(current, meta.version) <= 0 || boundMs === undefined) return undefined;
        const wallMs = hlcWallMs(current.hlc);
        const uncertain = wallMs - hlcWallMs(meta.version.hlc) <= boundMs && wallMs >= sentAtMs;
        if (uncertain && (hiddenBy === undefined || compareVersions(current, hiddenBy) > 0)) hiddenBy = current;
        return undefined;
      },
      onFailure: (t, err) => {
        ctx.logger.warn({ peer: t.id, op, err: describeError(err) }, 'replica commit failed');
        onFailed?.(t);
      },
    });
    try {
      await commits.quorum;
    } catch (err) {
      // A held-back copy's staged body, if any, will never be committed now.
      for (const t of commits.unasked()) onFailed?.(t);
      ctx.metrics?.quorumFailures.inc({ op });
      throw skew ?? err;
    }
    return hiddenBy;
  }
}

/** The hint a fallback commits with (none for an owner). */
function sideWritesOf(target: FanoutTarget): SideWrite[] | undefined {
  return target.hintFor === undefined ? undefined : [{ kind: 'hint', owner: target.hintFor }];
}

/**
 * The counting of a commit round over the targets it asks (those that staged the body): an owner
 * missing from them cannot ack, and stays in its set only through a stand-in that is there (and
 * counts, under a sloppy quorum); otherwise the round would wait for an ack never asked for.
 */
function countedOver(counting: WriteCounting, targets: readonly FanoutTarget[]): WriteCounting {
  const ids = new Set(targets.map((t) => t.id));
  const standIns = new Map([...counting.standIns].filter(([fallback]) => ids.has(fallback)));
  const standing = new Set(standIns.values());
  const sets = counting.sets.map((set) => set.filter((id) => ids.has(id) || (counting.sloppy && standing.has(id))));
  return { sets, standIns, sloppy: counting.sloppy };
}

/** How many times a write hidden by a version within clock uncertainty is committed again. */
export const RECOMMITS = 2;

/** Why a write hidden by a version within clock uncertainty is not acknowledged. */
function hiddenError(op: string, meta: ObjectMeta, current: Version, bodyReusable: boolean): RingstoreError {
  const aheadMs = hlcWallMs(current.hlc) - hlcWallMs(meta.version.hlc);
  const why = bodyReusable ? `still after ${RECOMMITS} fresh versions` : 'and its staged body is gone from the replicas that kept that version';
  return new RingstoreError(
    'ClockSkew',
    `${op}: a version of this key written by ${current.node} ${aheadMs} ms ahead of this write's (within cluster.maxClockOffsetMs, from a clock running ahead) hides it, ${why}. The write was not acknowledged; retry it.`,
    { bucket: meta.bucket, key: meta.key, writer: current.node, aheadMs },
  );
}

/** Why a commit hidden by a version from a skewed clock is not acknowledged. */
function futureVersionError(op: string, peer: string, meta: ObjectMeta, current: Version): RingstoreError {
  const aheadMs = hlcWallMs(current.hlc) - hlcWallMs(meta.version.hlc);
  return new RingstoreError(
    'ClockSkew',
    `${op}: replica ${peer} holds a version of this key written by ${current.node} ${aheadMs} ms ahead of this write's, further than cluster.maxClockOffsetMs allows: that node's clock is skewed. The write was not acknowledged; retry it later or fix that clock.`,
    { bucket: meta.bucket, key: meta.key, peer, writer: current.node, aheadMs },
  );
}

/** Reads from `iterator` until more than `limit` bytes or the end, whichever comes first. */
async function readHead(iterator: AsyncIterator<Uint8Array>, limit: number): Promise<{ head: Uint8Array[]; size: number; ended: boolean }> {
  const head: Uint8Array[] = [];
  let size = 0;
  while (size <= limit) {
    const next = await iterator.next();
    if (next.done) return { head, size, ended: true };
    head.push(next.value);
    size += next.value.length;
  }
  return { head, size, ended: false };
}
