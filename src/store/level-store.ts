/**
 * One node's disk: object records in classic-level (LevelDB) at `<dir>/meta`, large bodies as
 * files under `<dir>/blobs` (see blob-dir.ts). Each (bucket, key) holds only its newest version
 * (object or tombstone); commits are last-writer-wins and serialized per key. Every record has
 * an entry in the per-partition index and a leaf in its partition's in-memory digest (see
 * partition-codec.ts, leaf-digest.ts), written and updated with it; hints ride in the same batch.
 */
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { crc32 } from '../util/crc.js';
import { ClassicLevel } from 'classic-level';
import { systemClock, systemTimers, compareVersions } from '../util/clock.js';
import type { Clock, Timer, Timers, Version } from '../util/clock.js';
import { RingstoreError } from '../util/errors.js';
import { silentLogger } from '../util/logger.js';
import type { Logger } from '../util/logger.js';
import type { Random } from '../util/random.js';
import { BlobDir, isBlobId } from './blob-dir.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';
import { FileRangeReadable, READ_CHUNK, bufferReadable, errorReadable } from './body-stream.js';
import { ReadBufferPool } from './read-buffers.js';
import { coveringSpan, fitsSize, type BlockCrcs } from './block-crcs.js';
import { GroupWriter, type WriteEntry } from './group-writer.js';
import { leafDigest, toggleLeaf } from './leaf-digest.js';
import {
  INDEX_MARKER_KEY,
  INDEX_MARKER_VALUE,
  metaKey,
  allPartitionsBounds,
  decodeHint,
  decodeLeaf,
  encodeHint,
  encodeLeaf,
  entryCursor,
  hintBounds,
  hintCursor,
  hintKey,
  hintOwnerPrefix,
  leafDigestOf,
  partitionBounds,
  partitionIndexKey,
  partitionOfIndexKey,
} from './partition-codec.js';
import { checkHintOwner, checkPage, checkPartitionNumber, checkSideWrites } from './partition-checks.js';
import { PARTITION_COUNT, loadKeyPartitioner } from '../util/partition-space.js';
import { loadHash64, type Hash64 } from '../util/hash64.js';
import { KeyedMutex } from './keyed-mutex.js';
import { allObjectsBounds, bucketPrefix, decodeValue, encodeValue, listBounds, listingKey, objectKey } from './record-codec.js';
import type { StoredValue } from './record-codec.js';
import { DEFAULT_INLINE_THRESHOLD, checkBucketKey, checkCommit, checkLimit, checkMetaName, checkRange, manifestHasNoBody, toRecord } from './record.js';
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

/** Construction options of a LevelStore. */
export interface LevelStoreOptions extends StoreOptions {
  /** Data directory; `meta/` and `blobs/` are created inside it. */
  readonly dir: string;
  /** fsync metadata writes and blob files before acknowledging. */
  readonly fsync: boolean;
  /** Write blob files with O_DIRECT where the file system allows it (default true; needs fsync). */
  readonly directIo?: boolean;
  /** Bodies up to this many bytes are kept in the metadata record, larger ones in blob files. */
  readonly inlineThreshold?: number;
  /** Source of blob ids. */
  readonly random: Random;
  readonly logger?: Logger;
  /** Wall clock for orphan ages; the system clock by default. */
  readonly clock?: Clock;
  /** Timers of the delayed blob deletes and the disk-space probe; the system's by default. */
  readonly timers?: Timers;
  /** How long a replaced blob file is kept for reads still streaming it (default 30 s). */
  readonly blobDeleteDelayMs?: number;
  /** Told of every copy found corrupt and quarantined (for a metric). */
  readonly onQuarantine?: (info: QuarantineInfo) => void;
  /** How often a store that hit ENOSPC tries a probe write to find out whether space is back (default 5 s). */
  readonly spaceProbeIntervalMs?: number;
  /** Where blob files and quarantined copies live; the real file system by default (LevelDB always uses it). */
  readonly fs?: FileSystem;
}

/** A stored copy found corrupt: its record is dropped and its bytes moved to `<dir>/quarantine`. */
export interface QuarantineInfo {
  readonly bucket: string;
  readonly key: string;
  readonly storage: ObjectRecord['storage'];
  readonly reason: string;
}

/** Options of `collectOrphans`. */
export interface CollectOrphansOptions {
  /**
   * Only files last modified, and staged bodies staged, at least this long ago are deleted
   * (default 1 h). 0 is safe only while nothing is being staged (before the node serves).
   */
  readonly olderThanMs?: number;
}

interface StagedEntry {
  readonly size: number;
  readonly crc32: number;
  readonly blockCrcs: BlockCrcs;
  /** Clock time of staging: a stage nobody commits or discards within the orphan age is dropped. */
  readonly stagedAtMs: number;
  /** A commit is using it right now; a second commit of the same id is refused. */
  claimed: boolean;
}

type State = 'new' | 'open' | 'closing' | 'closed';

const DEFAULT_DELETE_DELAY_MS = 30_000;
const DEFAULT_ORPHAN_AGE_MS = 60 * 60 * 1000;
const DEFAULT_SPACE_PROBE_MS = 5000;
const WRITE_BUFFER_BYTES = 32 * 1024 * 1024;
/** Read buffers kept for reuse (of READ_CHUNK bytes each: 16 MiB). */
const READ_BUFFERS_KEPT = 32;
/** Records per batch while building the partition index of an old data dir. */
const MIGRATION_BATCH = 1024;

/** True for a failure caused by a full disk (or quota), from fs calls or from LevelDB. */
function isNoSpace(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message, cause } = err as { code?: unknown; message?: unknown; cause?: unknown };
  if (code === 'ENOSPC' || code === 'EDQUOT') return true;
  if (typeof message === 'string' && /no space left on device|disk quota exceeded/i.test(message)) return true;
  return cause !== undefined && cause !== err && isNoSpace(cause);
}

/** The LocalStore of a real node: LevelDB metadata plus blob files. */
export class LevelStore implements LocalStore {
  readonly #db: ClassicLevel<Buffer, Buffer>;
  readonly #blobs: BlobDir;
  readonly #fs: FileSystem;
  readonly #writer: GroupWriter;
  readonly #threshold: number;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #deleteDelayMs: number;
  readonly #fsync: boolean;
  readonly #quarantineDir: string;
  readonly #onQuarantine: ((info: QuarantineInfo) => void) | undefined;
  readonly #locks = new KeyedMutex();
  readonly #readBuffers = new ReadBufferPool(READ_CHUNK, READ_BUFFERS_KEPT);
  readonly #staged = new Map<string, StagedEntry>();
  readonly #pendingDeletes = new Map<string, Timer>();
  readonly #runningDeletes = new Set<Promise<void>>();
  #state: State = 'new';
  #inflight = 0;
  #idle: (() => void) | undefined;
  #closing = new AbortController();
  /** When a write last failed for lack of disk space; cleared by a write that succeeds. */
  #noSpaceAtMs: number | undefined;
  #spaceProbe: Timer | undefined;
  readonly #spaceProbeMs: number;
  readonly #injectedPartitionOf: PartitionOf | undefined;
  #partitionOf: PartitionOf = () => 0;
  #hash: Hash64 | undefined;
  /** XOR of the leaf digests per partition, rebuilt from the index at open. */
  #digests = new BigUint64Array(PARTITION_COUNT);
  /** Every owner that has (or had, since open) a hint: forget() drops the key's hint under each. */
  readonly #hintOwners = new Set<string>();

  constructor(options: LevelStoreOptions) {
    this.#db = new ClassicLevel<Buffer, Buffer>(join(options.dir, 'meta'), {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      // A larger memtable means fewer level-0 flushes and compaction stalls under a stream of
      // inline bodies (about 2x the put rate for 4 KiB values on a small VM).
      writeBufferSize: WRITE_BUFFER_BYTES,
    });
    this.#fs = options.fs ?? nodeFileSystem;
    this.#blobs = new BlobDir(join(options.dir, 'blobs'), { fsync: options.fsync, fs: this.#fs, ...(options.directIo !== undefined && { directIo: options.directIo }) }, options.random);
    this.#writer = new GroupWriter(this.#db, options.fsync);
    this.#threshold = options.inlineThreshold ?? DEFAULT_INLINE_THRESHOLD;
    this.#logger = (options.logger ?? silentLogger).child({ component: 'store' });
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
    this.#deleteDelayMs = options.blobDeleteDelayMs ?? DEFAULT_DELETE_DELAY_MS;
    this.#fsync = options.fsync;
    this.#quarantineDir = join(options.dir, 'quarantine');
    this.#onQuarantine = options.onQuarantine;
    this.#spaceProbeMs = options.spaceProbeIntervalMs ?? DEFAULT_SPACE_PROBE_MS;
    this.#injectedPartitionOf = options.partitionOf;
  }

  /** Why this store cannot take writes right now (for `/ready`), or undefined when it can. */
  writeProblem(): string | undefined {
    if (this.#noSpaceAtMs === undefined) return undefined;
    return `cannot write (ENOSPC at ${new Date(this.#noSpaceAtMs).toISOString()})`;
  }

  /** Opens (or reopens after close) the metadata DB and creates the blob directories. */
  async open(): Promise<void> {
    if (this.#state === 'open') return;
    if (this.#state === 'closing') throw new RingstoreError('StoreClosed', 'store is closing');
    await this.#blobs.init();
    const refusal = this.#blobs.directIoRefusal;
    if (refusal !== undefined) this.#logger.info({ reason: refusal }, 'blob files are written through the page cache: O_DIRECT is not available');
    await this.#db.open({ createIfMissing: true });
    this.#hash = await loadHash64();
    this.#partitionOf = this.#injectedPartitionOf ?? (await loadKeyPartitioner());
    try {
      await this.#buildIndexIfMissing();
      await this.#loadDigests();
      await this.#loadHintOwners();
    } catch (err) {
      await this.#db.close();
      throw err;
    }
    this.#closing = new AbortController();
    this.#state = 'open';
  }

  /**
   * A data dir written before the partition index existed (no marker) gets its index built
   * from the records, once: stale index entries are cleared first, so an interrupted build
   * simply starts over at the next open; the marker is written last.
   */
  async #buildIndexIfMissing(): Promise<void> {
    const marker = await this.#db.get(INDEX_MARKER_KEY);
    if (marker !== undefined && marker.equals(INDEX_MARKER_VALUE)) return;
    const stale = await this.#db.keys({ ...allPartitionsBounds(), limit: 1 }).all();
    if (stale.length > 0) await this.#db.clear(allPartitionsBounds());
    let records = 0;
    let batch: { type: 'put'; key: Buffer; value: Buffer }[] = [];
    for await (const [dbKey, value] of this.#db.iterator(allObjectsBounds())) {
      const sep = dbKey.indexOf(0, 2);
      const bucket = dbKey.toString('utf8', 2, sep);
      const key = dbKey.toString('utf8', sep + 1);
      const { record } = decodeValue(bucket, key, value);
      batch.push({ type: 'put', key: partitionIndexKey(this.#partitionOf(bucket, key), bucket, key), value: encodeLeaf(this.#entryOf(record)) });
      records++;
      if (batch.length >= MIGRATION_BATCH) {
        await this.#db.batch(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await this.#db.batch(batch);
    // Unsynced: a marker lost to a power cut only means the (idempotent) build runs again.
    await this.#db.put(INDEX_MARKER_KEY, INDEX_MARKER_VALUE);
    if (records > 0) this.#logger.info({ records }, 'built the partition index of a data dir written before it existed');
  }

  /** One scan of the index: every partition's digest, from the leaves stored in it. */
  async #loadDigests(): Promise<void> {
    const digests = new BigUint64Array(PARTITION_COUNT);
    const it = this.#db.iterator(allPartitionsBounds());
    try {
      for (;;) {
        const entries = await it.nextv(1024);
        if (entries.length === 0) break;
        for (const [dbKey, value] of entries) toggleLeaf(digests, partitionOfIndexKey(dbKey), leafDigestOf(value));
      }
    } finally {
      await it.close();
    }
    this.#digests = digests;
  }

  /** The owners that have hints, one seek per owner. */
  async #loadHintOwners(): Promise<void> {
    this.#hintOwners.clear();
    const it = this.#db.keys(hintBounds());
    try {
      for (;;) {
        const dbKey = await it.next();
        if (dbKey === undefined) break;
        const { owner, next } = hintOwnerPrefix(dbKey);
        this.#hintOwners.add(owner);
        it.seek(next);
      }
    } finally {
      await it.close();
    }
  }

  #leaf(record: ObjectRecord): bigint {
    return leafDigest(this.#hash as Hash64, record);
  }

  #entryOf(record: ObjectRecord): PartitionEntry {
    const { bucket, key, version, tombstone, storage, size } = record;
    return { bucket, key, version, tombstone, storage, size, digest: this.#leaf(record) };
  }

  /** XOR of the leaf digests of every key held in partition p (0n when empty). */
  partitionDigest(p: number): bigint {
    checkPartitionNumber(p);
    return this.#digests[p] ?? 0n;
  }

  /** All partition digests (a read-only view: do not mutate). */
  partitionDigests(): BigUint64Array {
    return this.#digests;
  }

  async scanPartition(p: number, options: ScanPartitionOptions): Promise<ScanPage<PartitionEntry>> {
    return this.#track(async () => {
      checkPartitionNumber(p);
      checkPage(options);
      const rows = await this.#db.iterator({ ...partitionBounds(p, options.after), limit: options.limit + 1 }).all();
      const entries = rows.slice(0, options.limit).map(([k, v]) => decodeLeaf(k, v));
      const last = entries[entries.length - 1];
      return rows.length > options.limit && last !== undefined ? { entries, next: entryCursor(last.bucket, last.key) } : { entries };
    });
  }

  async hints(options: HintsOptions): Promise<ScanPage<HintEntry>> {
    return this.#track(async () => {
      checkPage(options);
      if (options.owner !== undefined) checkHintOwner(options.owner);
      const rows = await this.#db.iterator({ ...hintBounds(options.owner, options.after), limit: options.limit + 1 }).all();
      const entries = rows.slice(0, options.limit).map(([k, v]) => decodeHint(k, v));
      const last = entries[entries.length - 1];
      return rows.length > options.limit && last !== undefined ? { entries, next: hintCursor(last.owner, last.bucket, last.key) } : { entries };
    });
  }

  async dropHint(owner: string, bucket: string, key: string, version: Version): Promise<void> {
    return this.#track(async () => {
      checkHintOwner(owner);
      checkBucketKey(bucket, key);
      await this.#writing(() =>
        this.#locks.run(`${bucket}\0${key}`, async () => {
          const dbKey = hintKey(owner, bucket, key);
          const held = this.#db.getSync(dbKey);
          if (held === undefined || compareVersions(decodeHint(dbKey, held).version, version) !== 0) return;
          await this.#writer.put([[dbKey, undefined]]);
        }),
      );
    });
  }

  async getMeta(name: string): Promise<Buffer | undefined> {
    return this.#track(() => this.#db.get(metaKey(checkMetaName(name))));
  }

  async putMeta(name: string, value: Buffer): Promise<void> {
    return this.#track(() => this.#writing(() => this.#db.put(metaKey(checkMetaName(name)), value)));
  }

  async forget(bucket: string, key: string, version: Version): Promise<boolean> {
    return this.#track(async () => {
      checkBucketKey(bucket, key);
      return this.#writing(() =>
        this.#locks.run(`${bucket}\0${key}`, async () => {
          const held = this.#db.getSync(objectKey(bucket, key));
          if (held === undefined) return false;
          const previous = decodeValue(bucket, key, held);
          if (compareVersions(previous.record.version, version) !== 0) return false;
          const p = this.#partitionOf(bucket, key);
          const entries: WriteEntry[] = [
            [objectKey(bucket, key), undefined],
            [listingKey(bucket, key), undefined],
            [partitionIndexKey(p, bucket, key), undefined],
          ];
          for (const owner of this.#hintOwners) entries.push([hintKey(owner, bucket, key), undefined]);
          await this.#writer.put(entries);
          toggleLeaf(this.#digests, p, this.#leaf(previous.record));
          if (previous.blobId !== undefined) this.#scheduleDelete(previous.blobId);
          return true;
        }),
      );
    });
  }

  /** Stops new calls, aborts running stages, waits for the rest, deletes replaced blobs, closes the DB. */
  async close(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    if (this.#spaceProbe !== undefined) this.#timers.clearTimeout(this.#spaceProbe);
    this.#spaceProbe = undefined;
    this.#closing.abort(new RingstoreError('StoreClosed', 'store closed'));
    if (this.#inflight > 0) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
    }
    const ids = [...this.#pendingDeletes.keys()];
    for (const timer of this.#pendingDeletes.values()) this.#timers.clearTimeout(timer);
    this.#pendingDeletes.clear();
    await Promise.all([...this.#runningDeletes, ...ids.map((id) => this.#removeBlob(id))]);
    await this.#db.close();
    this.#state = 'closed';
  }

  async stage(body: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<StagedBody> {
    return this.#track(async () => {
      signal?.throwIfAborted();
      const stop = signal === undefined ? this.#closing.signal : AbortSignal.any([signal, this.#closing.signal]);
      const staged = await this.#writing(() => this.#blobs.write(body, stop));
      this.#staged.set(staged.id, { size: staged.size, crc32: staged.crc32, blockCrcs: staged.blockCrcs, stagedAtMs: this.#clock.now(), claimed: false });
      return { id: staged.id, size: staged.size, crc32: staged.crc32 };
    });
  }

  async discard(id: string, signal?: AbortSignal): Promise<void> {
    return this.#track(async () => {
      signal?.throwIfAborted();
      const entry = this.#staged.get(id);
      if (entry === undefined || entry.claimed) return;
      this.#staged.delete(id);
      await this.#blobs.remove(id);
    });
  }

  async commit(meta: ObjectMeta, body: CommitBody, signal?: AbortSignal, sideWrites?: readonly SideWrite[]): Promise<CommitResult> {
    return this.#track(async () => {
      signal?.throwIfAborted();
      checkCommit(meta, body);
      if (sideWrites !== undefined) checkSideWrites(sideWrites);
      let staged: StagedEntry | undefined;
      if (body.kind === 'staged') {
        staged = this.#staged.get(body.id);
        if (staged?.claimed === true) {
          throw new RingstoreError('InvalidArgument', 'staged body is already being committed', { id: body.id });
        }
        if (staged !== undefined && staged.size !== meta.size) {
          throw new RingstoreError('InvalidArgument', 'staged body size differs from meta.size', {
            id: body.id,
            size: meta.size,
            staged: staged.size,
          });
        }
        if (staged !== undefined) staged.claimed = true;
      }
      try {
        return await this.#writing(() => this.#locks.run(`${meta.bucket}\0${meta.key}`, () => this.#commitLocked(meta, body, staged, sideWrites)));
      } finally {
        if (staged !== undefined) staged.claimed = false;
      }
    });
  }

  async #commitLocked(meta: ObjectMeta, body: CommitBody, staged: StagedEntry | undefined, sideWrites: readonly SideWrite[] | undefined): Promise<CommitResult> {
    const dbKey = objectKey(meta.bucket, meta.key);
    const held = this.#db.getSync(dbKey);
    const previous = held === undefined ? undefined : decodeValue(meta.bucket, meta.key, held);
    // A quarantined copy of the same version takes its body back (read repair of a corrupt copy).
    const order = previous === undefined ? 1 : compareVersions(meta.version, previous.record.version);
    if (previous !== undefined && (order < 0 || (order === 0 && previous.record.storage !== 'quarantined'))) {
      if (body.kind === 'staged' && staged !== undefined) await this.#dropStaged(body.id);
      return { applied: false, current: previous.record.version };
    }
    let record: ObjectRecord;
    let blobId: string | undefined;
    let inline: Uint8Array | undefined;
    let blockCrcs: BlockCrcs | undefined;
    // A blob this commit created or adopts, and one that becomes garbage once the record is written.
    let newBlob: string | undefined;
    let spentStaged: string | undefined;
    if (body.kind === 'inline') {
      const crc = crc32(body.data);
      if (body.data.byteLength <= this.#threshold) {
        record = toRecord(meta, crc, 'inline');
        inline = body.data;
      } else {
        const written = await this.#blobs.writeBuffer(body.data);
        newBlob = written.id;
        blockCrcs = written.blockCrcs;
        record = toRecord(meta, crc, 'blob');
        blobId = newBlob;
      }
    } else {
      if (staged === undefined) {
        throw new RingstoreError('InvalidArgument', 'unknown staged body', { id: body.id });
      }
      if (staged.size <= this.#threshold) {
        const data = await this.#blobs.readAll(body.id);
        if (data.length !== staged.size || crc32(data) !== staged.crc32) {
          throw new RingstoreError('CorruptBody', 'staged body changed on disk', { id: body.id });
        }
        record = toRecord(meta, staged.crc32, 'inline');
        inline = data;
        spentStaged = body.id;
      } else {
        record = toRecord(meta, staged.crc32, 'blob');
        blobId = body.id;
        blockCrcs = staged.blockCrcs;
      }
    }
    const p = this.#partitionOf(meta.bucket, meta.key);
    const entry = this.#entryOf(record);
    // The record (with its small body), its listing-index copy (without), its partition-index
    // leaf and any hints, in one atomic batch.
    const entries: WriteEntry[] = [
      [dbKey, encodeValue(record, blobId, inline, blockCrcs)],
      [listingKey(meta.bucket, meta.key), encodeValue(record, blobId, undefined)],
      [partitionIndexKey(p, meta.bucket, meta.key), encodeLeaf(entry)],
    ];
    if (sideWrites !== undefined) {
      const createdMs = this.#clock.now();
      for (const w of sideWrites) {
        entries.push([hintKey(w.owner, meta.bucket, meta.key), encodeHint({ owner: w.owner, bucket: meta.bucket, key: meta.key, version: record.version, size: meta.size, createdMs })]);
      }
    }
    try {
      await this.#writer.put(entries);
    } catch (err) {
      if (newBlob !== undefined) await this.#blobs.remove(newBlob);
      throw err;
    }
    toggleLeaf(this.#digests, p, entry.digest ^ (previous === undefined ? 0n : this.#leaf(previous.record)));
    if (sideWrites !== undefined) for (const w of sideWrites) this.#hintOwners.add(w.owner);
    if (body.kind === 'staged') this.#staged.delete(body.id);
    if (spentStaged !== undefined) await this.#blobs.remove(spentStaged);
    if (previous?.blobId !== undefined) this.#scheduleDelete(previous.blobId);
    return { applied: true, current: meta.version };
  }

  async head(bucket: string, key: string, options?: HeadOptions, signal?: AbortSignal): Promise<HeadResult | undefined> {
    return this.#track(async () => {
      signal?.throwIfAborted();
      const stored = await this.#get(bucket, key);
      if (stored === undefined) return undefined;
      const { record, inline } = stored;
      const upTo = options?.inlineUpTo;
      if (upTo === undefined || inline === undefined || record.tombstone || record.parts !== undefined || record.size > upTo) return { record };
      // A corrupt inline copy is left out here, so the caller falls back to read(), which reports it.
      if (crc32(inline) !== record.crc32 || inline.byteLength !== record.size) return { record };
      return { record, inlineBody: inline };
    });
  }

  async read(bucket: string, key: string, version: Version, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    return this.#track(async () => {
      signal?.throwIfAborted();
      const stored = await this.#get(bucket, key);
      const record = stored?.record;
      if (stored === undefined || record === undefined || record.tombstone || compareVersions(record.version, version) !== 0) {
        throw new RingstoreError('NoSuchKey', 'this replica does not hold that version', { bucket, key, version });
      }
      if (record.parts !== undefined) throw manifestHasNoBody(bucket, key);
      if (range !== undefined) checkRange(range, record.size);
      const details = { bucket, key, version: record.version };
      if (record.storage === 'quarantined') throw new RingstoreError('CorruptBody', 'this replica quarantined its corrupt copy', details);
      if (stored.inline !== undefined) {
        // An inline body is small: check all of it, ranged reads included.
        if (stored.inline.byteLength !== record.size || crc32(stored.inline) !== record.crc32) {
          const err = new RingstoreError('CorruptBody', 'stored body does not match its checksum', details);
          await this.#quarantine(stored, err.message);
          return errorReadable(err);
        }
        // Checked just above, so the stream need not check it again.
        return bufferReadable(range === undefined ? stored.inline : stored.inline.subarray(range.start, range.end + 1));
      }
      return this.#readBlob(stored, range, details);
    });
  }

  async #readBlob(stored: StoredValue, range: ByteRange | undefined, details: Record<string, unknown>): Promise<Readable> {
    const { record } = stored;
    const blobId = stored.blobId ?? '';
    let fh;
    try {
      fh = await this.#blobs.open(blobId);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const now = await this.#get(record.bucket, record.key);
      if (now === undefined || compareVersions(now.record.version, record.version) !== 0) {
        throw new RingstoreError('NoSuchKey', 'this replica no longer holds that version', details);
      }
      await this.#quarantine(stored, 'blob file missing');
      return errorReadable(new RingstoreError('CorruptBody', 'blob file missing', { ...details, blobId }));
    }
    const onCorrupt = (err: RingstoreError): Promise<void> => this.#quarantine(stored, err.message);
    const { size } = await fh.stat().catch(async (err: unknown) => {
      await fh.close();
      throw err;
    });
    if (size !== record.size) {
      await fh.close();
      await this.#quarantine(stored, 'blob file length differs from record');
      return errorReadable(new RingstoreError('CorruptBody', 'blob file length differs from record', { ...details, blobId }));
    }
    const blocks = stored.blockCrcs;
    if (blocks !== undefined && fitsSize(blocks, record.size) && record.size > 0) {
      // Whole covering blocks are read and checked; only the asked-for bytes are handed out.
      const want = range ?? { start: 0, end: record.size - 1 };
      const span = coveringSpan(want, record.size, blocks.blockBytes);
      return new FileRangeReadable(fh, {
        start: span.start,
        length: span.end - span.start + 1,
        blocks: { crcs: blocks, firstBlock: span.start / blocks.blockBytes },
        emit: { start: want.start, end: want.end + 1 },
        // No whole-body CRC on top: the block CRCs, taken from the same bytes at staging, cover every byte.
        details: { ...details, blobId },
        buffers: this.#readBuffers,
        onCorrupt,
      });
    }
    if (range === undefined) {
      return new FileRangeReadable(fh, {
        start: 0,
        length: record.size,
        verify: { crc32: record.crc32, details: { ...details, blobId } },
        details: { ...details, blobId },
        buffers: this.#readBuffers,
        onCorrupt,
      });
    }
    // A blob from before block CRCs: a range cannot be checked, and is served as stored.
    return new FileRangeReadable(fh, { start: range.start, length: range.end - range.start + 1, details: { ...details, blobId }, buffers: this.#readBuffers });
  }

  /**
   * Takes a corrupt copy out of service: the record is marked `quarantined` (it keeps the
   * version, so newest-wins is unchanged, but heads no longer offer a body and read repair
   * brings a good copy back under the same version) and the bytes are moved to
   * `<dir>/quarantine` as evidence. Nothing happens when the key has moved on meanwhile
   * (another version, another blob, or an inline body that is whole again).
   */
  async #quarantine(stored: StoredValue, reason: string): Promise<void> {
    const { bucket, key, version } = stored.record;
    if (this.#state !== 'open') return;
    try {
      await this.#locks.run(`${bucket}\0${key}`, async () => {
        const now = await this.#get(bucket, key);
        if (now === undefined || now.record.storage === 'quarantined' || compareVersions(now.record.version, version) !== 0 || now.blobId !== stored.blobId) return;
        if (now.inline !== undefined && now.inline.byteLength === now.record.size && crc32(now.inline) === now.record.crc32) return;
        const quarantined: ObjectRecord = { ...now.record, storage: 'quarantined' };
        const marked = encodeValue(quarantined, undefined, undefined);
        const p = this.#partitionOf(bucket, key);
        const entry = this.#entryOf(quarantined);
        await this.#writer.put([
          [objectKey(bucket, key), marked],
          [listingKey(bucket, key), marked],
          [partitionIndexKey(p, bucket, key), encodeLeaf(entry)],
        ]);
        toggleLeaf(this.#digests, p, entry.digest ^ this.#leaf(now.record));
        let evidence: string | undefined;
        if (now.blobId !== undefined) {
          if (await this.#blobs.quarantine(now.blobId, this.#quarantineDir)) evidence = join(this.#quarantineDir, now.blobId);
        } else if (now.inline !== undefined) {
          await this.#fs.mkdirp(this.#quarantineDir);
          evidence = join(this.#quarantineDir, `inline-${this.#clock.now()}-${crc32(Buffer.from(`${bucket}\0${key}`)).toString(16)}`);
          await this.#fs.writeFile(evidence, now.inline);
        }
        this.#logger.error({ bucket, key, version, blobId: now.blobId, reason, evidence }, 'corrupt copy quarantined until read repair restores it');
        this.#onQuarantine?.({ bucket, key, storage: now.record.storage, reason });
      });
    } catch (err) {
      this.#logger.warn({ bucket, key, err }, 'could not quarantine a corrupt copy');
    }
  }

  async list(bucket: string, options: ListOptions, signal?: AbortSignal): Promise<ObjectRecord[]> {
    return this.#track(async () => {
      signal?.throwIfAborted();
      checkBucketKey(bucket, options.prefix ?? '');
      if (options.startAfter !== undefined) checkBucketKey(bucket, options.startAfter);
      checkLimit(options.limit);
      if (options.limit === 0) return [];
      const bounds = listBounds(bucket, options.prefix ?? '', options.startAfter);
      const skip = bucketPrefix(bucket).length;
      const entries = await this.#db.iterator({ ...bounds, limit: options.limit }).all();
      return entries.map(([k, v]) => decodeValue(bucket, k.toString('utf8', skip), v).record);
    });
  }

  /**
   * Deletes what no record will ever reference: partial temp files and unreferenced blob files
   * last modified at least `olderThanMs` ago (interrupted writes, bodies staged before a crash
   * or restart, replaced blobs whose delete was pending at a crash), and bodies staged in this
   * process that long ago and never committed nor discarded (a coordinator that died or timed
   * out between stage and commit), map entries included. A stage being committed is never
   * touched, nor is a replaced blob still kept for running reads.
   */
  async collectOrphans(options: CollectOrphansOptions = {}): Promise<OrphanCounts> {
    return this.#track(async () => {
      const cutoff = this.#clock.now() - (options.olderThanMs ?? DEFAULT_ORPHAN_AGE_MS);
      let staged = 0;
      for (const [id, entry] of [...this.#staged]) {
        if (entry.claimed || entry.stagedAtMs > cutoff) continue;
        this.#staged.delete(id);
        await this.#blobs.remove(id);
        staged++;
      }
      const candidates = [];
      for await (const file of this.#blobs.list()) {
        if (file.mtimeMs <= cutoff) candidates.push(file);
      }
      let temp = 0;
      let unreferenced = 0;
      if (candidates.length > 0) {
        // Ids staged before the scan may be committed during it, after the iterator's snapshot.
        const keep = new Set<string>(this.#staged.keys());
        for (const id of this.#pendingDeletes.keys()) keep.add(id);
        for await (const value of this.#db.values(allObjectsBounds())) {
          const blobId = decodeValue('', '', value).blobId;
          if (blobId !== undefined) keep.add(blobId);
        }
        for (const id of this.#staged.keys()) keep.add(id);
        for (const file of candidates) {
          if (!file.temporary && keep.has(file.id)) continue;
          // A temp file of a running stage is not old; an old one is an interrupted write.
          await this.#blobs.removeFile(file);
          if (file.temporary) temp++;
          else unreferenced++;
        }
      }
      if (staged + temp + unreferenced > 0) this.#logger.info({ staged, temp, unreferenced }, 'collected orphaned blob files');
      return { temp, staged, unreferenced };
    });
  }

  /**
   * Runs a write; a failure for lack of space becomes InsufficientStorage and marks the store
   * unable to write (for `/ready`) until a write succeeds or a probe write finds space again.
   */
  async #writing<T>(write: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await write();
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      this.#noteNoSpace();
      throw new RingstoreError('InsufficientStorage', 'no space left on the device of this replica', {}, { cause: err });
    }
    this.#spaceBack();
    return result;
  }

  #noteNoSpace(): void {
    this.#noSpaceAtMs = this.#clock.now();
    if (this.#spaceProbe !== undefined || this.#state !== 'open') return;
    this.#logger.error({}, 'disk full (ENOSPC): writes fail until space is freed');
    this.#probeSpaceLater();
  }

  /** Tries a small write every spaceProbeIntervalMs while the disk is full (Timers has no setInterval: each probe schedules the next). */
  #probeSpaceLater(): void {
    this.#spaceProbe = this.#timers.setTimeout(() => {
      this.#blobs.probeWrite().then(
        () => this.#spaceBack(),
        () => {
          if (this.#spaceProbe !== undefined && this.#state === 'open') this.#probeSpaceLater();
        },
      );
    }, this.#spaceProbeMs);
    this.#spaceProbe.unref?.();
  }

  #spaceBack(): void {
    if (this.#noSpaceAtMs === undefined) return;
    this.#noSpaceAtMs = undefined;
    if (this.#spaceProbe !== undefined) this.#timers.clearTimeout(this.#spaceProbe);
    this.#spaceProbe = undefined;
    this.#logger.info({}, 'disk space is back: writes succeed again');
  }

  async #get(bucket: string, key: string): Promise<StoredValue | undefined> {
    checkBucketKey(bucket, key);
    // A synchronous get is a few µs from LevelDB's cache and the page cache; the async one waits
    // in libuv's small thread pool behind fsyncs, which made it the slowest step of a small GET.
    const value = this.#db.getSync(objectKey(bucket, key));
    return value === undefined ? undefined : decodeValue(bucket, key, value);
  }

  async #dropStaged(id: string): Promise<void> {
    this.#staged.delete(id);
    await this.#blobs.remove(id);
  }

  #scheduleDelete(id: string): void {
    if (!isBlobId(id) || this.#pendingDeletes.has(id)) return;
    const timer = this.#timers.setTimeout(() => {
      this.#pendingDeletes.delete(id);
      const running = this.#removeBlob(id);
      this.#runningDeletes.add(running);
      void running.finally(() => this.#runningDeletes.delete(running));
    }, this.#deleteDelayMs);
    timer.unref?.();
    this.#pendingDeletes.set(id, timer);
  }

  async #removeBlob(id: string): Promise<void> {
    try {
      await this.#blobs.remove(id);
    } catch (err) {
      this.#logger.warn({ err, blobId: id }, 'could not delete replaced blob');
    }
  }

  async #track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#state !== 'open') {
      throw new RingstoreError('StoreClosed', this.#state === 'new' ? 'store is not open' : 'store is closed');
    }
    this.#inflight++;
    try {
      return await fn();
    } finally {
      this.#inflight--;
      if (this.#inflight === 0 && this.#idle !== undefined) {
        this.#idle();
        this.#idle = undefined;
      }
    }
  }
}
