/**
 * The object model and the replica contract. `ReplicaApi` is what a coordinator can ask of
 * one replica; the local disk (`LocalStore`) implements it directly, and `rpc/` carries the
 * same calls over HTTP to a peer, so a coordinator treats local and remote replicas alike.
 */
import type { Readable } from 'node:stream';
import type { Version } from '../util/clock.js';

/** Everything a coordinator decides about one object version (replicated as is). */
export interface ObjectMeta {
  readonly bucket: string;
  readonly key: string;
  readonly version: Version;
  /** A delete marker: the key reads as absent. Size 0, no body. */
  readonly tombstone: boolean;
  readonly size: number;
  /** S3 ETag without quotes: hex MD5 of the body, or `md5-N` for multipart. */
  readonly etag: string;
  readonly contentType: string;
  /** `x-amz-meta-*` headers, names lower-cased without the prefix. */
  readonly userMeta: Readonly<Record<string, string>>;
  /** Standard headers kept with the object (cache-control, content-disposition, content-encoding, content-language, expires). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Set on a multipart object: its body is these part objects, in order, and nothing is
   * stored under the record itself (`size` is still the whole object's size).
   */
  readonly parts?: readonly PartRef[];
  /** `x-amz-checksum-<alg>` values (base64) the client sent, returned on GET/HEAD when asked. */
  readonly checksums?: Readonly<Record<string, string>>;
}

/** One part of a multipart object: a hidden object of its own, placed on the ring by its key. */
export interface PartRef {
  /** Bucket (namespace) and key of the part object. */
  readonly bucket: string;
  readonly key: string;
  /** The part version the object was completed with; another version is not this object's part. */
  readonly version: Version;
  readonly size: number;
  readonly etag: string;
}

/** What a replica holds for a key: the metadata plus facts about its stored body. */
export interface ObjectRecord extends ObjectMeta {
  /** CRC32 of the whole body as stored; checked on every full read. */
  readonly crc32: number;
  /**
   * Where the body lives: inline in the metadata DB or in a blob file; `quarantined` when this
   * replica found its copy corrupt and moved it aside: it still knows the version (so that
   * newest-wins is unchanged) but holds no body until read repair brings one back.
   */
  readonly storage: 'inline' | 'blob' | 'quarantined';
}

/** A body written durably but not yet referenced by any metadata. */
export interface StagedBody {
  /** Opaque id, unique on this replica; never derived from the object key. */
  readonly id: string;
  readonly size: number;
  readonly crc32: number;
}

/** The body half of a commit: a staged blob, or a small body carried inline. */
export type CommitBody = { readonly kind: 'staged'; readonly id: string } | { readonly kind: 'inline'; readonly data: Uint8Array };

/** Outcome of a commit under last-writer-wins. */
export interface CommitResult {
  /** False when the replica already held a newer (or the same) version; nothing changed. */
  readonly applied: boolean;
  /** The version the replica holds after the call. */
  readonly current: Version;
}

/** An inclusive byte range, already resolved against the object's size. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** Options for a head lookup. */
export interface HeadOptions {
  /** Return the body too when it is stored inline and at most this many bytes (saves a round trip on small GETs). */
  readonly inlineUpTo?: number;
}

/** A head answer: the record, and the body when it was small enough to come along. */
export interface HeadResult {
  readonly record: ObjectRecord;
  readonly inlineBody?: Uint8Array;
}

/** Options for scanning one bucket in key order. */
export interface ListOptions {
  readonly prefix?: string;
  /** Only keys strictly greater than this. */
  readonly startAfter?: string;
  /** At most this many records (tombstones included). */
  readonly limit: number;
}

/** What a coordinator may ask of one replica. Every call takes an AbortSignal for per-replica timeouts. */
export interface ReplicaApi {
  /** Streams a body to durable storage; referenced only once committed. */
  stage(body: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<StagedBody>;
  /**
   * Records a version (object or tombstone) if it is newer than what the replica holds; a
   * fallback written for a down owner gets `sideWrites` (its hint), stored in the same batch.
   */
  commit(meta: ObjectMeta, body: CommitBody, signal?: AbortSignal, sideWrites?: readonly SideWrite[]): Promise<CommitResult>;
  /** Drops a staged body that will never be committed. Unknown ids are ignored. */
  discard(id: string, signal?: AbortSignal): Promise<void>;
  /** The newest record held for a key (tombstones included), or undefined. */
  head(bucket: string, key: string, options?: HeadOptions, signal?: AbortSignal): Promise<HeadResult | undefined>;
  /**
   * Streams the body of exactly `version` (the whole body, or a range). Fails with NoSuchKey
   * when the replica no longer holds that version, and the stream errors with CorruptBody when
   * a full read does not match its checksum.
   */
  read(bucket: string, key: string, version: Version, range?: ByteRange, signal?: AbortSignal): Promise<Readable>;
  /** Records of one bucket in key order (UTF-8 byte order), tombstones included. */
  list(bucket: string, options: ListOptions, signal?: AbortSignal): Promise<ObjectRecord[]>;
}

/** What one orphan collection deleted, by kind. */
export interface OrphanCounts {
  /** Partial `.tmp` files of interrupted writes. */
  readonly temp: number;
  /** Bodies staged in this process but never committed nor discarded (their map entries too). */
  readonly staged: number;
  /** Complete blob files no record references (staged before a restart, deletes pending at a crash). */
  readonly unreferenced: number;
}

/** The partition (0 … 65,535) of an object key; a node passes its ring's `partitionOf`. */
export type PartitionOf = (bucket: string, key: string) => number;

/** Options both stores take. */
export interface StoreOptions {
  /**
   * The partition of a key, for the per-partition index and digests; by default the ring's
   * function computed from the same hash (`util/partition-space.ts`), loaded at open().
   */
  readonly partitionOf?: PartitionOf;
}

/** One key as a replica holds it, for Merkle leaves, repair and data movement. */
export interface PartitionEntry {
  readonly bucket: string;
  readonly key: string;
  readonly version: Version;
  readonly tombstone: boolean;
  readonly storage: ObjectRecord['storage'];
  readonly size: number;
  /** 64-bit leaf digest (store/leaf-digest.ts): of bucket, key, version, tombstone and quarantine. */
  readonly digest: bigint;
}

/** Something written in the same atomic batch as a record, only when the commit is applied. */
export type SideWrite = { readonly kind: 'hint'; readonly owner: string };

/** A hint: this replica holds a write meant for `owner` (a down replica), to deliver later. */
export interface HintEntry {
  /** Member id of the replica the write was meant for. */
  readonly owner: string;
  readonly bucket: string;
  readonly key: string;
  /** The version committed with the hint (the record may be newer since). */
  readonly version: Version;
  readonly size: number;
  /** Store clock time when the hint was written. */
  readonly createdMs: number;
}

/** A page of a scan: `next` is the cursor to pass as `after` for the following page, absent on the last one. */
export interface ScanPage<T> {
  readonly entries: T[];
  readonly next?: string;
}

/** Options of `scanPartition`. */
export interface ScanPartitionOptions {
  /** Cursor from a previous page's `next`: only entries after it. */
  readonly after?: string;
  /** At most this many entries (an integer ≥ 1). */
  readonly limit: number;
}

/** Options of `hints`. */
export interface HintsOptions {
  /** Only hints for this owner. */
  readonly owner?: string;
  /** Cursor from a previous page's `next`: only hints after it. */
  readonly after?: string;
  /** At most this many entries (an integer ≥ 1). */
  readonly limit: number;
}

/** One node's disk: the replica contract plus lifecycle, the per-partition index and hints. */
export interface LocalStore extends ReplicaApi {
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * As ReplicaApi.commit; `sideWrites` (hints) are written in the same atomic batch as the
   * record, and only when the commit is applied.
   */
  commit(meta: ObjectMeta, body: CommitBody, signal?: AbortSignal, sideWrites?: readonly SideWrite[]): Promise<CommitResult>;
  /** XOR of the leaf digests of every key held in partition p (0n when empty). Synchronous, from memory. */
  partitionDigest(p: number): bigint;
  /** The digests of all 65,536 partitions: a live read-only view (do not mutate), replaced by the next open(). */
  partitionDigests(): BigUint64Array;
  /** The keys held in partition p, in (bucket, key) UTF-8 byte order, tombstones and quarantined copies included. */
  scanPartition(p: number, options: ScanPartitionOptions): Promise<ScanPage<PartitionEntry>>;
  /** Hints held, in (owner, bucket, key) byte order; one per (owner, bucket, key), the newest written. */
  hints(options: HintsOptions): Promise<ScanPage<HintEntry>>;
  /** Drops the hint of (owner, bucket, key) if it still names exactly `version` (a newer hint stays). */
  dropHint(owner: string, bucket: string, key: string, version: Version): Promise<void>;
  /**
   * Removes the record, its listing copy, its index entry, its hints and its body, in one batch,
   * if this replica holds exactly `version` of the key; false (and nothing changes) otherwise.
   * For hint delivery (a fallback drops its copy) and tombstone GC.
   */
  forget(bucket: string, key: string, version: Version): Promise<boolean>;
  /**
   * Deletes bodies nothing will reference: stages older than `olderThanMs` that were never
   * committed nor discarded, and (on disk) leftovers of interrupted writes and of a crash.
   */
  collectOrphans?(options?: { readonly olderThanMs?: number }): Promise<OrphanCounts>;
  /** Why the store cannot take writes right now (e.g. a full disk), for `/ready`. */
  writeProblem?(): string | undefined;
  /** A small node-local record beside the data (a background worker's position, say); undefined when never written. */
  getMeta(name: string): Promise<Buffer | undefined>;
  /** Writes the meta record `name` (not synced: losing the last one to a power cut only repeats some work). */
  putMeta(name: string, value: Buffer): Promise<void>;
}
