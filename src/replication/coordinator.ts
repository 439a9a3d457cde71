/**
 * The coordinator: quorum PUT / GET / HEAD / DELETE / LIST of objects over the replicas
 * the ring names for each key. Any node coordinates; its own replica is called in-process,
 * the others over RPC, through the same `ReplicaApi`.
 */
import { Readable } from 'node:stream';
import type { Member } from '../ring/layout.js';
import { coveringMembers } from '../ring/coverage.js';
import type { Membership } from '../cluster/membership.js';
import type { ByteRange, HeadResult, ObjectMeta, ObjectRecord, PartRef, ReplicaApi } from '../store/types.js';
import type { HybridClock, Version } from '../util/clock.js';
import { compareVersions, hlcWallMs } from '../util/clock.js';
import { RingstoreError, describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Random } from '../util/random.js';
import type { Metrics } from '../metrics/definitions.js';
import { QuorumTracker } from './quorum.js';
import { stageOnReplicas, discardAll, type FanoutTarget } from './fanout.js';
import { mergeReplicaPages, type ReplicaPage } from './list-merge.js';
import { ReadRepairer } from './read-repair.js';
import { isRecycling, type RecyclingBody } from '../util/send-body.js';

/** Everything the coordinator needs, injected by the composition root. */
export interface CoordinatorOptions {
  readonly membership: Membership;
  /** The replica API of a member: the local store for this node, an RPC client for the others. */
  readonly replicaFor: (member: Member) => ReplicaApi;
  readonly clock: HybridClock;
  readonly logger: Logger;
  readonly metrics: Metrics | null;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  /** Source of the read-repair coin. */
  readonly random: Random;
  /** Fraction of reads that ask all N replicas instead of R, so that read repair reaches them all. */
  readonly readRepairChance: number;
  /** Bodies up to this size are sent inline with the commit (one round trip per replica). */
  readonly inlineThreshold: number;
  /** Why this node may not coordinate writes right now (its clock), or undefined when it may. */
  readonly writeRefusal?: () => RingstoreError | undefined;
}

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
}

/** A located object version: its record and where its body can be read. */
export interface FoundObject {
  readonly record: ObjectRecord;
  /** The whole body when it came back with the metadata (small objects). */
  readonly inlineBody?: Uint8Array;
  /** Replicas known to hold exactly this version, preferred first. */
  readonly holders: readonly FanoutTarget[];
}

/** One page of live (non-deleted) records of a bucket, in key order. */
export interface ListPage {
  readonly records: ObjectRecord[];
  /** True when the bucket has no keys after the last record. */
  readonly exhausted: boolean;
}

const EMPTY = new Uint8Array(0);

/** How long a read waits for its first R replicas before asking one more. */
const SPECULATIVE_MS = 100;

/** Quorum reads and writes of objects. */
export class Coordinator {
  readonly #o: CoordinatorOptions;
  readonly #repair: ReadRepairer;
  readonly #coverageCache = new Map<string, string[] | null>();

  constructor(options: CoordinatorOptions) {
    this.#o = options;
    this.#repair = new ReadRepairer({ logger: options.logger.child({ component: 'read-repair' }), metrics: options.metrics });
  }

  /** Stores an object version on the key's replicas; resolves after W durable acks. */
  async putObject(input: PutObjectInput): Promise<ObjectMeta> {
    const { bucket, key, signal } = input;
    const targets = await this.#writeTargets(bucket, key, 'PutObject');
    const version = await this.#o.clock.issue();
    const iterator = input.body[Symbol.asyncIterator]();
    const { head, size, ended } = await readHead(iterator, this.#o.inlineThreshold);
    if (ended) {
      const data = head.length === 1 ? head[0]! : Buffer.concat(head, size);
      const sealed = input.seal();
      const meta = this.#meta(input, version, size, sealed);
      await this.#commitEverywhere('PutObject', targets, meta, () => ({ kind: 'inline', data }));
      return meta;
    }
    const { staged, late } = await stageOnReplicas('PutObject', targets, this.#o.w, head, iterator, signal);
    let meta: ObjectMeta;
    try {
      meta = this.#meta(input, version, staged[0]!.staged.size, input.seal());
    } catch (err) {
      await discardAll(staged);
      void late.then(discardAll);
      throw err;
    }
    const sealed = meta;
    // Replicas that finish staging after the first W are committed when they do; a stage whose
    // commit failed (or timed out) is discarded, or it would hold its disk space until the GC.
    void late.then((rest) =>
      Promise.all(
        rest.map(({ target, staged: s }) =>
          target.api.commit(sealed, { kind: 'staged', id: s.id }).catch((err: unknown) => {
            this.#o.logger.warn({ peer: target.id, op: 'PutObject', err: describeError(err) }, 'late replica commit failed');
            return discardAll([{ target, staged: s }]);
          }),
        ),
      ),
    );
    const byId = new Map(staged.map((s) => [s.target.id, s.staged]));
    await this.#commitEverywhere(
      'PutObject',
      staged.map((s) => s.target),
      meta,
      (t) => ({ kind: 'staged', id: byId.get(t.id)!.id }),
      (t) => {
        void discardAll([{ target: t, staged: byId.get(t.id)! }]);
      },
    );
    return meta;
  }

  /** Writes a tombstone for a key; resolves after W acks. Deleting a missing key succeeds (S3). */
  async deleteObject(bucket: string, key: string): Promise<void> {
    const targets = await this.#writeTargets(bucket, key, 'DeleteObject');
    const meta: ObjectMeta = { bucket, key, version: await this.#o.clock.issue(), tombstone: true, size: 0, etag: '', contentType: '', userMeta: {} };
    await this.#commitEverywhere('DeleteObject', targets, meta, () => ({ kind: 'inline', data: EMPTY }));
  }

  /** Writes a complete record (used for small system records such as buckets). */
  async putSmall(meta: Omit<ObjectMeta, 'version'>, data: Uint8Array): Promise<ObjectMeta> {
    const targets = await this.#writeTargets(meta.bucket, meta.key, 'PutObject');
    const full: ObjectMeta = { ...meta, version: await this.#o.clock.issue() };
    await this.#commitEverywhere('PutObject', targets, full, () => ({ kind: 'inline', data }));
    return full;
  }

  /**
   * Finds the newest version of a key among R replica answers (NoSuchKey when it is absent or
   * deleted). Replicas that answer with an older version are repaired in the background.
   */
  async headObject(bucket: string, key: string, op = 'GetObject'): Promise<FoundObject> {
    const found = await this.#quorumHead(bucket, key, op);
    if (!found || found.record.tombstone) throw new RingstoreError('NoSuchKey', 'The specified key does not exist.', { bucket, key });
    return found;
  }

  /** Like headObject, but resolves undefined for absent or deleted keys. */
  async findObject(bucket: string, key: string, op = 'GetObject'): Promise<FoundObject | undefined> {
    const found = await this.#quorumHead(bucket, key, op);
    return found && !found.record.tombstone ? found : undefined;
  }

  /**
   * Streams the body of a found version (or a range of it), trying each holder in turn. The
   * first chunk is read here, so a body that fails at once (a corrupt first block, a missing
   * blob) moves on to the next holder before anything is sent. A holder whose stream fails
   * later with a CorruptBody that vouches for the bytes it already gave (`resumable`: checked
   * block by block) is replaced mid-stream by the next holder, from the first byte not yet
   * delivered; any other failure half-way is rethrown (the response is then cut). A holder
   * found corrupt gets a good copy back in the background.
   */
  async openBody(found: FoundObject, range?: ByteRange): Promise<Readable | Uint8Array> {
    if (found.record.parts) return Readable.from(this.#partsBody(found.record.parts, range ?? { start: 0, end: found.record.size - 1 }), { objectMode: false });
    if (found.inlineBody) return range ? found.inlineBody.subarray(range.start, range.end + 1) : found.inlineBody;
    const reading: HolderReading = { sources: new Set(), stopped: false };
    const chunks = this.#bodyFromHolders(found, range, reading);
    const first = await chunks.next();
    return new HolderBody(first, chunks, reading);
  }

  async *#bodyFromHolders(found: FoundObject, range: ByteRange | undefined, reading: HolderReading): AsyncGenerator<Uint8Array> {
    const { record } = found;
    const end = range?.end ?? record.size - 1;
    let offset = range?.start ?? 0;
    let delivered = false;
    const errors: string[] = [];
    let superseded = found.holders.length > 0;
    for (const holder of found.holders) {
      const startedAt = offset;
      try {
        const sub = offset === 0 && range === undefined ? undefined : { start: offset, end };
        const source = await holder.api.read(record.bucket, record.key, record.version, sub);
        reading.sources.add(source);
        for await (const chunk of source as AsyncIterable<Uint8Array>) {
          offset += chunk.byteLength;
          delivered = true;
          yield chunk;
        }
        return;
      } catch (err) {
        // The reader went away (and destroyed the stream): no other holder is wanted.
        if (reading.stopped) throw err;
        // NoSuchKey here means the replica moved on to a newer version since the lookup.
        if (!(err instanceof RingstoreError && err.code === 'NoSuchKey')) superseded = false;
        errors.push(`${holder.id}: ${describeError(err)}`);
        const corrupt = err instanceof RingstoreError && err.code === 'CorruptBody';
        if (corrupt) {
          this.#o.metrics?.corruptReads.inc();
          this.#o.logger.warn({ peer: holder.id, bucket: record.bucket, key: record.key, err: describeError(err) }, 'corrupt copy; reading from the next holder');
          void this.#repair.replaceCorrupt(
            holder,
            record,
            found.holders.filter((h) => h !== holder),
          );
        }
        const vouched = corrupt && err.details['resumable'] === true;
        if (offset !== startedAt && !(vouched && offset <= end)) throw err;
      }
    }
    throw new RingstoreError('ServiceUnavailable', `no replica could serve the body (${errors.join('; ')})`, {
      bucket: record.bucket,
      key: record.key,
      superseded: superseded && !delivered,
    });
  }

  /** Streams the parts of a multipart object that overlap `range`, one after the other. */
  async *#partsBody(parts: readonly PartRef[], range: ByteRange): AsyncGenerator<Uint8Array> {
    let offset = 0;
    for (const part of parts) {
      const partStart = offset;
      offset += part.size;
      if (offset <= range.start || partStart > range.end || part.size === 0) continue;
      const found = await this.headObject(part.bucket, part.key, 'GetObject');
      if (compareVersions(found.record.version, part.version) !== 0) {
        throw new RingstoreError('ServiceUnavailable', 'a part of this object changed since it was completed', { bucket: part.bucket, key: part.key });
      }
      const sub = { start: Math.max(range.start, partStart) - partStart, end: Math.min(range.end, offset - 1) - partStart };
      const whole = sub.start === 0 && sub.end === part.size - 1;
      const body = await this.openBody(found, whole ? undefined : sub);
      if (body instanceof Uint8Array) yield body;
      else yield* body as AsyncIterable<Uint8Array>;
    }
  }

  /**
   * One page of a bucket's live records in key order after `startAfter`: a coverage query
   * over every usable data member, merged newest-wins, tombstones dropped.
   */
  async listPage(bucket: string, options: { prefix?: string; startAfter?: string; limit: number }): Promise<ListPage> {
    const usable = new Set(this.#o.membership.ring.members.filter((m) => this.#o.membership.isUsable(m.id)).map((m) => m.id));
    const failures = new Map<string, unknown>();
    // A little over the limit, so that a few tombstones do not force a second round.
    const batch = Math.min(1100, Math.max(100, options.limit + 10));
    const records: ObjectRecord[] = [];
    let startAfter = options.startAfter;
    for (;;) {
      const asked = this.#coverage(usable, failures);
      const listOptions = { ...(options.prefix !== undefined && { prefix: options.prefix }), ...(startAfter !== undefined && { startAfter }), limit: batch };
      const answers = await Promise.allSettled(asked.map((m) => this.#o.replicaFor(m).list(bucket, listOptions)));
      const pages: ReplicaPage[] = [];
      answers.forEach((answer, i) => {
        if (answer.status === 'fulfilled') pages.push({ records: answer.value, truncated: answer.value.length >= batch });
        else {
          failures.set(asked[i]!.id, answer.reason);
          usable.delete(asked[i]!.id);
        }
      });
      // A member that failed leaves its ranges short: ask again with a coverage that avoids it.
      if (pages.length < asked.length) continue;
      const merged = mergeReplicaPages(pages);
      for (const record of merged.records) {
        if (record.tombstone) continue;
        records.push(record);
        if (records.length === options.limit) {
          const exhausted = merged.bound === undefined && record === merged.records[merged.records.length - 1];
          return { records, exhausted };
        }
      }
      if (merged.bound === undefined) return { records, exhausted: true };
      startAfter = merged.bound;
    }
  }

  /**
   * The members a listing asks: every ring range covered by R of its usable replicas (all of them
   * when fewer are usable), the local node first. QuorumNotReached when a range has none left.
   */
  #coverage(usable: ReadonlySet<string>, failures: ReadonlyMap<string, unknown>): Member[] {
    const ring = this.#o.membership.ring;
    const self = this.#o.membership.selfId;
    const cover = (members: ReadonlySet<string>): string[] | null => {
      const cacheKey = `${ring.layout.version}|${[...members].sort().join(',')}`;
      let ids = this.#coverageCache.get(cacheKey);
      if (ids === undefined) {
        ids = coveringMembers(ring.ranges(this.#o.n), this.#o.r, members, self) ?? null;
        if (this.#coverageCache.size > 64) this.#coverageCache.clear();
        this.#coverageCache.set(cacheKey, ids);
      }
      return ids;
    };
    // Members marked down are asked too when the others cannot cover the ring: "down" is a
    // guess, and only a failure within this request rules a member out.
    const ids = cover(usable) ?? cover(new Set(ring.members.filter((m) => !failures.has(m.id)).map((m) => m.id)));
    if (ids === null) {
      this.#o.metrics?.quorumFailures.inc({ op: 'ListObjects' });
      const why = [...failures].map(([id, err]) => `${id}: ${describeError(err)}`).join('; ');
      throw new RingstoreError('QuorumNotReached', `ListObjects: some keys have no live replica (failed: ${[...failures.keys()].join(', ')})${why ? ` (${why})` : ''}`);
    }
    return ids.map((id) => ring.member(id)!);
  }

  /** The replicas of a write, after checking that this node may coordinate writes at all. */
  async #writeTargets(bucket: string, key: string, op: string): Promise<FanoutTarget[]> {
    const refusal = this.#o.writeRefusal?.();
    if (refusal) throw refusal;
    const { replicas } = this.#o.membership.ring.preferenceList(bucket, key, this.#o.n);
    const candidates = this.#o.membership.candidates(replicas, this.#o.w);
    if (candidates.length < this.#o.w) {
      this.#o.metrics?.quorumFailures.inc({ op });
      throw new RingstoreError('QuorumNotReached', `${op}: needed ${this.#o.w} of ${replicas.length} replicas, the ring has only ${candidates.length}`);
    }
    const targets = this.#targets(candidates);
    await this.#confirmEnoughLive(op, bucket, key, targets);
    return targets;
  }

  /**
   * With fewer than W targets believed up, a commit sent now would be applied by the live ones
   * and still answered 503: a refused write that a later read returns and read repair spreads.
   * "Down" may be a stale guess, so the down targets are asked first (a head, which writes
   * nothing); unless enough of them answer, the write is refused before anything is written.
   */
  async #confirmEnoughLive(op: string, bucket: string, key: string, targets: readonly FanoutTarget[]): Promise<void> {
    const down = targets.filter((t) => !this.#o.membership.isUsable(t.id));
    const live = targets.length - down.length;
    if (live >= this.#o.w) return;
    const answers = await Promise.allSettled(down.map((t) => t.api.head(bucket, key)));
    const reached = live + answers.filter((a) => a.status === 'fulfilled').length;
    if (reached >= this.#o.w) return;
    this.#o.metrics?.quorumFailures.inc({ op });
    const why = answers.flatMap((a, i) => (a.status === 'rejected' ? [`${down[i]!.id}: ${describeError(a.reason)}`] : [])).join('; ');
    throw new RingstoreError('QuorumNotReached', `${op}: needed ${this.#o.w} live replicas, ${reached} answered (${why}); nothing was written`);
  }

  #targets(members: readonly Member[]): FanoutTarget[] {
    // The local replica first: reading from it saves a network hop.
    const self = this.#o.membership.selfId;
    return [...members].sort((a, b) => Number(b.id === self) - Number(a.id === self)).map((m) => ({ id: m.id, api: this.#o.replicaFor(m) }));
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
   * Commits on every target; resolves at W acks while the others finish in the background.
   * Each answer carries the version the replica holds, which the clock observes, so this node's
   * next versions are above it. A replica that kept a newer version is still an ack (the write
   * lost a race to a concurrent one, last writer wins) unless that version is further ahead of
   * this clock than the bound allows: it came from a skewed clock and would hide this write
   * although it may be older, so that answer counts as a failure (ClockSkew, 503) rather than
   * acknowledging a write nobody will ever read.
   */
  async #commitEverywhere(
    op: string,
    targets: readonly FanoutTarget[],
    meta: ObjectMeta,
    body: (t: FanoutTarget) => Parameters<ReplicaApi['commit']>[1],
    onFailed?: (t: FanoutTarget) => void,
  ): Promise<void> {
    const tracker = new QuorumTracker<true>(op, this.#o.w, targets.length);
    let skew: RingstoreError | undefined;
    await new Promise<void>((resolve, reject) => {
      const failed = (target: FanoutTarget, err: unknown): void => {
        this.#o.logger.warn({ peer: target.id, op, err: describeError(err) }, 'replica commit failed');
        onFailed?.(target);
        if (tracker.fail(target.id, err) === 'failed') reject(skew ?? tracker.error());
      };
      for (const target of targets) {
        target.api.commit(meta, body(target)).then(
          (result) => {
            if (!this.#o.clock.observe(result.current.hlc) && compareVersions(result.current, meta.version) > 0) {
              skew = futureVersionError(op, target.id, meta, result.current);
              failed(target, skew);
            } else if (tracker.succeed(target.id, true) === 'reached') resolve();
          },
          (err: unknown) => failed(target, err),
        );
      }
    }).catch((err: unknown) => {
      this.#o.metrics?.quorumFailures.inc({ op });
      throw err;
    });
  }

  async #quorumHead(bucket: string, key: string, op: string): Promise<FoundObject | undefined> {
    const { replicas } = this.#o.membership.ring.preferenceList(bucket, key, this.#o.n);
    const needed = Math.min(this.#o.r, replicas.length);
    const usable = this.#targets(this.#o.membership.candidates(replicas, needed));
    const tracker = new QuorumTracker<HeadResult | undefined>(op, needed, usable.length);
    // Ask R replicas, the local one first; only the first sends a small body along, the others
    // just vouch for the version. Ask one more when one fails or none answered within
    // SPECULATIVE_MS, and on a fraction of reads ask all N so read repair reaches every replica.
    const calls: Array<Promise<{ target: FanoutTarget; result: HeadResult | undefined }>> = [];
    const initial = this.#o.random.float() < this.#o.readRepairChance ? usable.length : tracker.needed;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: RingstoreError): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const launch = (): void => {
        const target = usable[calls.length];
        if (!target || settled) return;
        const call = target.api.head(bucket, key, calls.length === 0 ? { inlineUpTo: this.#o.inlineThreshold } : {}).then((result) => ({ target, result }));
        calls.push(call);
        call.then(
          ({ result }) => {
            if (tracker.succeed(target.id, result) === 'reached') finish();
          },
          (err: unknown) => {
            if (tracker.fail(target.id, err) === 'failed') finish(tracker.error());
            else launch();
          },
        );
      };
      const speculate = (): void => {
        launch();
        if (calls.length < usable.length) timer = setTimeout(speculate, SPECULATIVE_MS);
      };
      while (calls.length < initial) launch();
      if (calls.length < usable.length) timer = setTimeout(speculate, SPECULATIVE_MS);
    }).catch((err: unknown) => {
      this.#o.metrics?.quorumFailures.inc({ op });
      throw err;
    });

    let newest: HeadResult | undefined;
    for (const result of tracker.successes.values()) {
      if (!result) continue;
      const order = newest === undefined ? 1 : compareVersions(result.record.version, newest.record.version);
      // Of equal versions, prefer a copy with a body: its record is the one a holder has.
      if (order > 0 || (order === 0 && newest?.record.storage === 'quarantined')) newest = result;
    }
    if (newest) this.#o.clock.observe(newest.record.version.hlc);
    // A replica that quarantined its corrupt copy knows the version but cannot serve its body.
    const holders = usable.filter((t) => {
      const r = tracker.successes.get(t.id);
      return r !== undefined && newest !== undefined && r.record.storage !== 'quarantined' && compareVersions(r.record.version, newest.record.version) === 0;
    });
    // Repair runs once every replica asked has answered, so late answers are compared too.
    void this.#repair.afterRead(calls, newest);
    if (!newest) return undefined;
    // A holder that sent the body saves the read round trip.
    const withBody = [...tracker.successes.values()].find((r) => r?.inlineBody && compareVersions(r.record.version, newest.record.version) === 0);
    return { record: newest.record, ...(withBody?.inlineBody && { inlineBody: withBody.inlineBody }), holders };
  }
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

/** The streams a HolderBody has opened, and whether its reader is gone. */
interface HolderReading {
  readonly sources: Set<Readable>;
  stopped: boolean;
}

/**
 * The body of one version as read from its holders, one after another (see openBody). Chunks
 * go back to whichever holder's stream lent them.
 */
class HolderBody extends Readable implements RecyclingBody {
  readonly #rest: AsyncGenerator<Uint8Array>;
  readonly #reading: HolderReading;
  #first: IteratorResult<Uint8Array> | undefined;

  constructor(first: IteratorResult<Uint8Array>, rest: AsyncGenerator<Uint8Array>, reading: HolderReading) {
    super({ objectMode: true, highWaterMark: 1 });
    this.#first = first;
    this.#rest = rest;
    this.#reading = reading;
  }

  override _read(): void {
    const first = this.#first;
    this.#first = undefined;
    (first !== undefined ? Promise.resolve(first) : this.#rest.next()).then(
      (next) => this.push(next.done === true ? null : next.value),
      (err: unknown) => this.destroy(err as Error),
    );
  }

  recycle(chunk: Uint8Array): void {
    for (const source of this.#reading.sources) if (isRecycling(source)) source.recycle(chunk);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#reading.stopped = true;
    // A read waiting on a holder's stream ends with it; return() then finds the generator idle.
    for (const source of this.#reading.sources) source.destroy();
    this.#rest.return(undefined).then(
      () => callback(err),
      () => callback(err),
    );
  }
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
