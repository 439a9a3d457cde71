/**
 * The coordinator: quorum PUT / GET / HEAD / DELETE / LIST of objects over the replicas the ring
 * names for each key. Any node coordinates; its own replica is called in-process, the others over
 * RPC, through the same `ReplicaApi`. A thin facade over the three paths (`write-path.ts`,
 * `read-path.ts`, `list-path.ts`), which share one context; `drain` waits for the work they leave
 * running after an answer (late commits, discards, read repair), so a node stops only once it is done.
 */
import type { Readable } from 'node:stream';
import type { Member } from '../ring/layout.js';
import type { Membership } from '../cluster/membership.js';
import type { ByteRange, ObjectMeta, ReplicaApi } from '../store/types.js';
import type { HybridClock, Timers, Version } from '../util/clock.js';
import { systemTimers } from '../util/clock.js';
import type { RingstoreError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Random } from '../util/random.js';
import type { Metrics } from '../metrics/definitions.js';
import { Placement } from './placement.js';
import { Leftovers } from './quorum-call.js';
import { WritePath, type PutObjectInput } from './write-path.js';
import { ReadPath, type FoundObject } from './read-path.js';
import { ListPath, type ListPage } from './list-path.js';

export type { PutObjectInput } from './write-path.js';
export type { FoundObject } from './read-path.js';
export type { ListPage } from './list-path.js';

/** Everything the coordinator needs, injected by the composition root. */
export interface CoordinatorOptions {
  readonly membership: Membership;
  /** The replica API of a member: the local store for this node, an RPC client for the others. */
  readonly replicaFor: (member: Member) => ReplicaApi;
  readonly clock: HybridClock;
  /** Timers of read speculation and quorum deadlines (virtual in the simulator). */
  readonly timers?: Timers;
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
  /** Let a fallback's ack (a hint for a down owner) count toward W; strict (false) by default. */
  readonly sloppyQuorum?: boolean;
  /** Why this node may not coordinate writes right now (its clock), or undefined when it may. */
  readonly writeRefusal?: () => RingstoreError | undefined;
}

/** Quorum reads and writes of objects. */
export class Coordinator {
  readonly #leftovers = new Leftovers();
  readonly #write: WritePath;
  readonly #read: ReadPath;
  readonly #list: ListPath;
  readonly #clock: HybridClock;

  constructor(options: CoordinatorOptions) {
    const ctx = {
      selfId: options.membership.selfId,
      placement: new Placement(options.membership, { n: options.n, r: options.r }),
      replicaFor: options.replicaFor,
      clock: options.clock,
      timers: options.timers ?? systemTimers,
      logger: options.logger,
      metrics: options.metrics,
      r: options.r,
      w: options.w,
      random: options.random,
      readRepairChance: options.readRepairChance,
      inlineThreshold: options.inlineThreshold,
      sloppyQuorum: options.sloppyQuorum ?? false,
      ...(options.writeRefusal && { writeRefusal: options.writeRefusal }),
      leftovers: this.#leftovers,
    };
    this.#clock = options.clock;
    this.#write = new WritePath(ctx);
    this.#read = new ReadPath(ctx);
    this.#list = new ListPath(ctx);
  }

  /** Stores an object version on the key's replicas; resolves after W durable acks. */
  putObject(input: PutObjectInput): Promise<ObjectMeta> {
    return this.#write.putObject(input);
  }

  /**
   * A version for a write request, taken when it arrives: S3's "the request with the latest
   * timestamp wins" (docs/consistency.md). Pass it as `PutObjectInput.version`, or to
   * deleteObject / putSmall, so that of two overlapping writes of one key the one that
   * started later wins however long the other's body takes.
   */
  arrivalVersion(): Promise<Version> {
    return this.#clock.issue();
  }

  /** Writes a tombstone for a key (under `version` when given); resolves after W acks. Deleting a missing key succeeds (S3). */
  deleteObject(bucket: string, key: string, version?: Version): Promise<void> {
    return this.#write.deleteObject(bucket, key, version);
  }

  /** Writes a complete record (small system records such as buckets, multipart manifests), under `version` when given. */
  putSmall(meta: Omit<ObjectMeta, 'version'>, data: Uint8Array, version?: Version): Promise<ObjectMeta> {
    return this.#write.putSmall(meta, data, version);
  }

  /** The newest version of a key among R replica answers; NoSuchKey when it is absent or deleted. */
  headObject(bucket: string, key: string, op = 'GetObject'): Promise<FoundObject> {
    return this.#read.headObject(bucket, key, op);
  }

  /** Like headObject, but resolves undefined for absent or deleted keys. */
  findObject(bucket: string, key: string, op = 'GetObject'): Promise<FoundObject | undefined> {
    return this.#read.findObject(bucket, key, op);
  }

  /** Heads every replica of a key and repairs the stale or quarantined ones from a good copy; resolves when done. */
  repairKey(bucket: string, key: string): Promise<void> {
    return this.#read.repairKey(bucket, key);
  }

  /** Streams the body of a found version (or a range of it) from its holders. */
  openBody(found: FoundObject, range?: ByteRange): Promise<Readable | Uint8Array> {
    return this.#read.openBody(found, range);
  }

  /** One page of a bucket's live records in key order after `startAfter`. */
  listPage(bucket: string, options: { prefix?: string; startAfter?: string; limit: number }): Promise<ListPage> {
    return this.#list.listPage(bucket, options);
  }

  /** Tracks work a caller leaves running after its answer (best-effort cleanups), so that `drain` waits for it too. */
  background(work: Promise<unknown>): void {
    this.#leftovers.track(work);
  }

  /** Resolves once the work left running after answers (late commits, discards, repairs) is done. */
  drain(): Promise<void> {
    return this.#leftovers.drain();
  }
}
