/**
 * The read path: GET and HEAD of objects. A lookup asks R replicas (local first, one more when
 * one fails or after SPECULATIVE_MS) in one quorum call, takes the newest version, and leaves
 * read repair of stale replicas running in the background; a body then streams from a holder of
 * that version, moving on to the next holder when one fails before (or, vouched, during) it.
 */
import { Readable } from 'node:stream';
import type { ByteRange, HeadResult, ObjectRecord, PartRef } from '../store/types.js';
import { compareVersions } from '../util/clock.js';
import { RingstoreError, describeError } from '../util/errors.js';
import { isRecycling, type RecyclingBody } from '../util/send-body.js';
import type { FanoutTarget } from './fanout.js';
import { quorumCall } from './quorum-call.js';
import { ReadRepairer } from './read-repair.js';
import { targetsOf, type PathContext } from './context.js';

/** A located object version: its record and where its body can be read. */
export interface FoundObject {
  readonly record: ObjectRecord;
  /** The whole body when it came back with the metadata (small objects). */
  readonly inlineBody?: Uint8Array;
  /** Replicas known to hold exactly this version, preferred first. */
  readonly holders: readonly FanoutTarget[];
}

/** How long a read waits for its first R replicas before asking one more. */
export const SPECULATIVE_MS = 100;

/** Quorum lookups and body reads of objects. */
export class ReadPath {
  readonly #ctx: PathContext;
  readonly #repair: ReadRepairer;

  constructor(ctx: PathContext) {
    this.#ctx = ctx;
    this.#repair = new ReadRepairer({ logger: ctx.logger.child({ component: 'read-repair' }), metrics: ctx.metrics });
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
   * Asks every replica of a key (all N owners that are usable) for its copy and waits until the
   * stale ones are repaired: an older version, none, or a quarantined copy gets the newest good
   * one. For scrub, which finds a corrupt copy and wants it replaced without waiting for a read.
   */
  async repairKey(bucket: string, key: string): Promise<void> {
    const ctx = this.#ctx;
    const { targets } = ctx.placement.readTargets(bucket, key);
    const answers = targetsOf(ctx, targets).map(async (target) => ({ target, result: await target.api.head(bucket, key, {}) }));
    // A repair of a copy found corrupt needs a replica that has a good one; afterRead picks it.
    await this.#repair.afterRead(answers, undefined);
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
          this.#ctx.metrics?.corruptReads.inc();
          this.#ctx.logger.warn({ peer: holder.id, bucket: record.bucket, key: record.key, err: describeError(err) }, 'corrupt copy; reading from the next holder');
          this.#ctx.leftovers.track(
            this.#repair.replaceCorrupt(
              holder,
              record,
              found.holders.filter((h) => h !== holder),
            ),
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

  async #quorumHead(bucket: string, key: string, op: string): Promise<FoundObject | undefined> {
    const ctx = this.#ctx;
    const { targets: members, needed } = ctx.placement.readTargets(bucket, key);
    const usable = targetsOf(ctx, members);
    // Ask R replicas, the local one first; only the first sends a small body along, the others
    // just vouch for the version. Ask one more when one fails or none answered within
    // SPECULATIVE_MS, and on a fraction of reads ask all N so read repair reaches every replica.
    const heads = quorumCall<FanoutTarget, HeadResult | undefined>({
      op,
      targets: usable,
      needed,
      initial: ctx.random.float() < ctx.readRepairChance ? usable.length : needed,
      speculateMs: SPECULATIVE_MS,
      timers: ctx.timers,
      leftovers: ctx.leftovers,
      call: (target, index) => target.api.head(bucket, key, index === 0 ? { inlineUpTo: ctx.inlineThreshold } : {}),
    });
    const successes = await heads.quorum.catch((err: unknown) => {
      ctx.metrics?.quorumFailures.inc({ op });
      throw err;
    });

    let newest: HeadResult | undefined;
    for (const result of successes.values()) {
      if (!result) continue;
      const order = newest === undefined ? 1 : compareVersions(result.record.version, newest.record.version);
      // Of equal versions, prefer a copy with a body: its record is the one a holder has.
      if (order > 0 || (order === 0 && newest?.record.storage === 'quarantined')) newest = result;
    }
    if (newest) ctx.clock.observe(newest.record.version.hlc);
    // A replica that quarantined its corrupt copy knows the version but cannot serve its body.
    const holders = usable.filter((t) => {
      const r = successes.get(t.id);
      return r !== undefined && newest !== undefined && r.record.storage !== 'quarantined' && compareVersions(r.record.version, newest.record.version) === 0;
    });
    // Repair runs once every replica asked has answered, so late answers are compared too.
    ctx.leftovers.track(this.#repair.afterRead(heads.calls, newest));
    if (!newest) return undefined;
    // A holder that sent the body saves the read round trip.
    const withBody = [...successes.values()].find((r) => r?.inlineBody && compareVersions(r.record.version, newest.record.version) === 0);
    return { record: newest.record, ...(withBody?.inlineBody && { inlineBody: withBody.inlineBody }), holders };
  }
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
