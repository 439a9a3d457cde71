/**
 * A LocalStore in memory with the same semantics as LevelStore (last-writer-wins, byte-order
 * listing, CRC32 checked on full reads, the same inline/blob split), for the simulator and unit
 * tests. Records, the partition index and hints survive close() + open(), as on disk (the
 * partition digests are recomputed from the index at open, as LevelStore does); staged bodies do
 * not, like a restart.
 */
import type { Readable } from 'node:stream';
import { crc32 } from '../util/crc.js';
import { blockCrcsOf, coveringSpan, firstBadBlock, type BlockCrcs } from './block-crcs.js';
import { compareVersions } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import type { Clock, Version } from '../util/clock.js';
import { RingstoreError } from '../util/errors.js';
import { cryptoRandom } from '../util/random.js';
import type { Random } from '../util/random.js';
import { bufferReadable, errorReadable } from './body-stream.js';
import { DEFAULT_INLINE_THRESHOLD, checkBucketKey, checkCommit, checkLimit, checkMetaName, checkRange, manifestHasNoBody, toRecord } from './record.js';
import { compareUtf8 } from '../util/utf8-order.js';
import { leafDigest, toggleLeaf } from './leaf-digest.js';
import { entryCursor, hintCursor } from './partition-codec.js';
import { checkHintOwner, checkPage, checkPartitionNumber, checkSideWrites } from './partition-checks.js';
import { loadHash64, type Hash64 } from '../util/hash64.js';
import { PARTITION_COUNT, loadKeyPartitioner } from '../util/partition-space.js';
import type {
  ByteRange,
  CommitBody,
  CommitResult,
  HeadOptions,
  HeadResult,
  HintEntry,
  HintsOptions,
  ListOptions,
  LocalStore,
  ObjectMeta,
  ObjectRecord,
  OrphanCounts,
  PartitionEntry,
  PartitionOf,
  ScanPage,
  ScanPartitionOptions,
  SideWrite,
  StagedBody,
  StoreOptions,
} from './types.js';

/** Construction options of a MemoryStore. */
export interface MemoryStoreOptions extends StoreOptions {
  /** Bodies up to this many bytes are reported as `inline`, larger ones as `blob`. */
  readonly inlineThreshold?: number;
  /** Source of staged body ids (inject a seeded one for deterministic simulations). */
  readonly random?: Random;
  /** Clock for the age of staged bodies; the system clock by default. */
  readonly clock?: Clock;
}

interface Entry {
  record: ObjectRecord;
  body: Uint8Array;
  /** Block CRCs of a body that LevelStore would keep as a blob. */
  blockCrcs?: BlockCrcs;
}

interface Bucket {
  /** Keys in UTF-8 byte order. */
  readonly keys: string[];
  readonly entries: Map<string, Entry>;
}

interface Staged {
  readonly data: Uint8Array;
  readonly crc32: number;
  readonly stagedAtMs: number;
}

/** First index in sorted `keys` whose key is above `bound` (or equal, when `inclusive`). */
function lowerBound(keys: readonly string[], bound: string, inclusive: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareUtf8(keys[mid] as string, bound);
    if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One page of `entries` (by cursor) in cursor byte order, strictly after `after`. */
function page<T>(entries: ReadonlyMap<string, T>, after: string | undefined, limit: number, copy: (e: T) => T): ScanPage<T> {
  const cursors = [...entries.keys()].filter((c) => after === undefined || compareUtf8(c, after) > 0).sort(compareUtf8);
  const out = cursors.slice(0, limit).map((c) => copy(entries.get(c) as T));
  const last = cursors[limit - 1];
  return cursors.length > limit && last !== undefined ? { entries: out, next: last } : { entries: out };
}

/** The in-memory LocalStore. */
export class MemoryStore implements LocalStore {
  readonly #threshold: number;
  readonly #random: Random;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, Bucket>();
  readonly #staged = new Map<string, Staged>();
  readonly #injectedPartitionOf: PartitionOf | undefined;
  #partitionOf: PartitionOf = () => 0;
  #hash: Hash64 | undefined;
  /** Per partition: its entries by cursor (`bucket \0 key`). */
  readonly #index = new Map<number, Map<string, PartitionEntry>>();
  #digests = new BigUint64Array(PARTITION_COUNT);
  /** Hints by cursor (`owner \0 bucket \0 key`). */
  readonly #hints = new Map<string, HintEntry>();
  readonly #meta = new Map<string, Buffer>();
  #open = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.#threshold = options.inlineThreshold ?? DEFAULT_INLINE_THRESHOLD;
    this.#random = options.random ?? cryptoRandom;
    this.#clock = options.clock ?? systemClock;
    this.#injectedPartitionOf = options.partitionOf;
  }

  async open(): Promise<void> {
    this.#hash = await loadHash64();
    this.#partitionOf = this.#injectedPartitionOf ?? (await loadKeyPartitioner());
    const digests = new BigUint64Array(PARTITION_COUNT);
    for (const [p, entries] of this.#index) for (const e of entries.values()) toggleLeaf(digests, p, e.digest);
    this.#digests = digests;
    this.#open = true;
  }

  /** Closes; records are kept for a later open(), staged bodies are dropped. */
  async close(): Promise<void> {
    this.#open = false;
    this.#staged.clear();
  }

  async stage(body: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<StagedBody> {
    this.#check(signal);
    const chunks: Uint8Array[] = [];
    let crc = 0;
    let size = 0;
    for await (const chunk of body) {
      signal?.throwIfAborted();
      crc = crc32(chunk, crc);
      size += chunk.byteLength;
      chunks.push(chunk);
    }
    this.#check(signal);
    const id = this.#random.hex(16);
    this.#staged.set(id, { data: Buffer.concat(chunks, size), crc32: crc, stagedAtMs: this.#clock.now() });
    return { id, size, crc32: crc };
  }

  /** Drops staged bodies older than `olderThanMs` (default 1 h) that were never committed nor discarded. */
  async collectOrphans(options: { readonly olderThanMs?: number } = {}): Promise<OrphanCounts> {
    this.#check(undefined);
    const cutoff = this.#clock.now() - (options.olderThanMs ?? 60 * 60 * 1000);
    let staged = 0;
    for (const [id, entry] of [...this.#staged]) {
      if (entry.stagedAtMs > cutoff) continue;
      this.#staged.delete(id);
      staged++;
    }
    return { temp: 0, staged, unreferenced: 0 };
  }

  async discard(id: string, signal?: AbortSignal): Promise<void> {
    this.#check(signal);
    this.#staged.delete(id);
  }

  async commit(meta: ObjectMeta, body: CommitBody, signal?: AbortSignal, sideWrites?: readonly SideWrite[]): Promise<CommitResult> {
    this.#check(signal);
    checkCommit(meta, body);
    if (sideWrites !== undefined) checkSideWrites(sideWrites);
    const staged = body.kind === 'staged' ? this.#staged.get(body.id) : undefined;
    if (staged !== undefined && staged.data.byteLength !== meta.size) {
      throw new RingstoreError('InvalidArgument', 'staged body size differs from meta.size', {
        size: meta.size,
        staged: staged.data.byteLength,
      });
    }
    // Everything below is synchronous, so the read-compare-write cannot interleave.
    const bucket = this.#buckets.get(meta.bucket);
    const previous = bucket?.entries.get(meta.key);
    const order = previous === undefined ? 1 : compareVersions(meta.version, previous.record.version);
    if (previous !== undefined && (order < 0 || (order === 0 && previous.record.storage !== 'quarantined'))) {
      if (body.kind === 'staged') this.#staged.delete(body.id);
      return { applied: false, current: previous.record.version };
    }
    let data: Uint8Array;
    let crc: number;
    if (body.kind === 'inline') {
      data = Uint8Array.from(body.data);
      crc = crc32(data);
    } else {
      if (staged === undefined) throw new RingstoreError('InvalidArgument', 'unknown staged body', { id: body.id });
      this.#staged.delete(body.id);
      data = staged.data;
      crc = staged.crc32;
    }
    const record = toRecord(meta, crc, data.byteLength <= this.#threshold ? 'inline' : 'blob');
    const blockCrcs = record.storage === 'blob' ? blockCrcsOf(data) : undefined;
    const target = bucket ?? this.#createBucket(meta.bucket);
    if (previous === undefined) {
      target.keys.splice(lowerBound(target.keys, meta.key, true), 0, meta.key);
      target.entries.set(meta.key, { record, body: data, ...(blockCrcs && { blockCrcs }) });
    } else {
      previous.record = record;
      previous.body = data;
      if (blockCrcs) previous.blockCrcs = blockCrcs;
      else delete previous.blockCrcs;
    }
    this.#indexRecord(record);
    if (sideWrites !== undefined) {
      const createdMs = this.#clock.now();
      for (const w of sideWrites) {
        this.#hints.set(hintCursor(w.owner, meta.bucket, meta.key), { owner: w.owner, bucket: meta.bucket, key: meta.key, version: { ...record.version }, size: meta.size, createdMs });
      }
    }
    return { applied: true, current: meta.version };
  }

  /** Puts a record's leaf into its partition's index and digest (replacing the key's old leaf). */
  #indexRecord(record: ObjectRecord): void {
    const p = this.#partitionOf(record.bucket, record.key);
    let entries = this.#index.get(p);
    if (entries === undefined) this.#index.set(p, (entries = new Map()));
    const cursor = entryCursor(record.bucket, record.key);
    const { bucket, key, version, tombstone, storage, size } = record;
    const entry: PartitionEntry = { bucket, key, version: { ...version }, tombstone, storage, size, digest: leafDigest(this.#hash as Hash64, record) };
    toggleLeaf(this.#digests, p, entry.digest ^ (entries.get(cursor)?.digest ?? 0n));
    entries.set(cursor, entry);
  }

  partitionDigest(p: number): bigint {
    checkPartitionNumber(p);
    return this.#digests[p] ?? 0n;
  }

  partitionDigests(): BigUint64Array {
    return this.#digests;
  }

  async scanPartition(p: number, options: ScanPartitionOptions): Promise<ScanPage<PartitionEntry>> {
    this.#check(undefined);
    checkPartitionNumber(p);
    checkPage(options);
    const { after } = options;
    const entries = this.#index.get(p) ?? new Map<string, PartitionEntry>();
    return page(entries, after, options.limit, (e) => ({ ...e, version: { ...e.version } }));
  }

  async hints(options: HintsOptions): Promise<ScanPage<HintEntry>> {
    this.#check(undefined);
    checkPage(options);
    const { owner } = options;
    if (owner !== undefined) checkHintOwner(owner);
    const mine = owner === undefined ? this.#hints : new Map([...this.#hints].filter(([, h]) => h.owner === owner));
    return page(mine, options.after, options.limit, (h) => ({ ...h, version: { ...h.version } }));
  }

  async dropHint(owner: string, bucket: string, key: string, version: Version): Promise<void> {
    this.#check(undefined);
    checkHintOwner(owner);
    checkBucketKey(bucket, key);
    const cursor = hintCursor(owner, bucket, key);
    const held = this.#hints.get(cursor);
    if (held !== undefined && compareVersions(held.version, version) === 0) this.#hints.delete(cursor);
  }

  async getMeta(name: string): Promise<Buffer | undefined> {
    this.#check(undefined);
    const value = this.#meta.get(checkMetaName(name));
    return value === undefined ? undefined : Buffer.from(value);
  }

  async putMeta(name: string, value: Buffer): Promise<void> {
    this.#check(undefined);
    this.#meta.set(checkMetaName(name), Buffer.from(value));
  }

  async forget(bucket: string, key: string, version: Version): Promise<boolean> {
    this.#check(undefined);
    checkBucketKey(bucket, key);
    const b = this.#buckets.get(bucket);
    const entry = b?.entries.get(key);
    if (b === undefined || entry === undefined || compareVersions(entry.record.version, version) !== 0) return false;
    b.entries.delete(key);
    b.keys.splice(lowerBound(b.keys, key, true), 1);
    const p = this.#partitionOf(bucket, key);
    const cursor = entryCursor(bucket, key);
    const indexed = this.#index.get(p);
    toggleLeaf(this.#digests, p, indexed?.get(cursor)?.digest ?? 0n);
    indexed?.delete(cursor);
    for (const [c, h] of this.#hints) if (h.bucket === bucket && h.key === key) this.#hints.delete(c);
    return true;
  }

  async head(bucket: string, key: string, options?: HeadOptions, signal?: AbortSignal): Promise<HeadResult | undefined> {
    this.#check(signal);
    checkBucketKey(bucket, key);
    const entry = this.#buckets.get(bucket)?.entries.get(key);
    if (entry === undefined) return undefined;
    const { record, body } = entry;
    const upTo = options?.inlineUpTo;
    if (upTo === undefined || record.storage !== 'inline' || record.tombstone || record.parts !== undefined || record.size > upTo) return { record };
    if (crc32(body) !== record.crc32) return { record };
    return { record, inlineBody: Uint8Array.from(body) };
  }

  async read(bucket: string, key: string, version: Version, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    this.#check(signal);
    checkBucketKey(bucket, key);
    const entry = this.#buckets.get(bucket)?.entries.get(key);
    if (entry === undefined || entry.record.tombstone || compareVersions(entry.record.version, version) !== 0) {
      throw new RingstoreError('NoSuchKey', 'this replica does not hold that version', { bucket, key, version });
    }
    const { record, body, blockCrcs } = entry;
    if (record.parts !== undefined) throw manifestHasNoBody(bucket, key);
    if (range !== undefined) checkRange(range, record.size);
    const details = { bucket, key, version };
    if (record.storage === 'quarantined') throw new RingstoreError('CorruptBody', 'this replica quarantined its corrupt copy', details);
    // As LevelStore: a range of a blob is checked by its covering blocks, anything else whole.
    const want = range ?? { start: 0, end: record.size - 1 };
    const span = blockCrcs === undefined || record.size === 0 ? { start: 0, end: record.size - 1 } : coveringSpan(want, record.size, blockCrcs.blockBytes);
    const checked = body.subarray(span.start, span.end + 1);
    const whole = span.start === 0 && span.end === record.size - 1;
    const bad = blockCrcs !== undefined ? firstBadBlock(checked, blockCrcs, span.start / blockCrcs.blockBytes) !== -1 || (whole && crc32(body) !== record.crc32) : crc32(body) !== record.crc32;
    if (bad || body.byteLength !== record.size) {
      this.#quarantine(bucket, key, entry);
      return errorReadable(new RingstoreError('CorruptBody', 'stored body does not match its checksum', { ...details, ...(blockCrcs && { resumable: true }) }));
    }
    // Stored bodies are never changed in place (corruptForTest swaps in a copy), so no copy here.
    return bufferReadable(range === undefined ? body : body.subarray(range.start, range.end + 1));
  }

  /** Marks a corrupt copy quarantined (no body, same version), as LevelStore does, so that read repair can restore it. */
  #quarantine(bucket: string, key: string, entry: Entry): void {
    if (this.#buckets.get(bucket)?.entries.get(key) !== entry) return;
    entry.record = { ...entry.record, storage: 'quarantined' };
    entry.body = new Uint8Array(0);
    delete entry.blockCrcs;
    this.#indexRecord(entry.record);
    this.quarantined++;
  }

  /** Copies found corrupt and dropped so far. */
  quarantined = 0;

  async list(bucket: string, options: ListOptions, signal?: AbortSignal): Promise<ObjectRecord[]> {
    this.#check(signal);
    const prefix = options.prefix ?? '';
    checkBucketKey(bucket, prefix);
    if (options.startAfter !== undefined) checkBucketKey(bucket, options.startAfter);
    checkLimit(options.limit);
    const b = this.#buckets.get(bucket);
    if (b === undefined) return [];
    const { startAfter } = options;
    let i = startAfter !== undefined && compareUtf8(startAfter, prefix) >= 0 ? lowerBound(b.keys, startAfter, false) : lowerBound(b.keys, prefix, true);
    const out: ObjectRecord[] = [];
    for (; i < b.keys.length && out.length < options.limit; i++) {
      const key = b.keys[i] as string;
      if (!key.startsWith(prefix)) break;
      const entry = b.entries.get(key);
      if (entry !== undefined) out.push(entry.record);
    }
    return out;
  }

  /** Flips one stored byte of a key's body without updating its checksum (tests of corruption handling). */
  corruptForTest(bucket: string, key: string, offset = 0): void {
    const entry = this.#buckets.get(bucket)?.entries.get(key);
    if (entry === undefined || offset < 0 || offset >= entry.body.byteLength) {
      throw new RingstoreError('InvalidArgument', 'nothing to corrupt at that offset', { bucket, key, offset });
    }
    const copy = Uint8Array.from(entry.body);
    copy[offset] = (copy[offset] as number) ^ 0xff;
    entry.body = copy;
    this.#corrupted.add(copy);
  }

  /** Bodies corruptForTest damaged (a repair, overwrite or quarantine replaces them). */
  readonly #corrupted = new WeakSet<Uint8Array>();

  /** Whether this replica's copy of a key is still damaged: the body corruptForTest flipped, or quarantined and not yet restored (for the simulator's fault bound). */
  isDamagedForTest(bucket: string, key: string): boolean {
    const entry = this.#buckets.get(bucket)?.entries.get(key);
    return entry !== undefined && (this.#corrupted.has(entry.body) || entry.record.storage === 'quarantined');
  }

  /** Counts of records (tombstones included) and staged bodies, for tests and the simulator. */
  stats(): { records: number; staged: number } {
    let records = 0;
    for (const b of this.#buckets.values()) records += b.entries.size;
    return { records, staged: this.#staged.size };
  }

  #createBucket(name: string): Bucket {
    const bucket: Bucket = { keys: [], entries: new Map() };
    this.#buckets.set(name, bucket);
    return bucket;
  }

  #check(signal: AbortSignal | undefined): void {
    if (!this.#open) throw new RingstoreError('StoreClosed', 'store is not open');
    signal?.throwIfAborted();
  }
}
