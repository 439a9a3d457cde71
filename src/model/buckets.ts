/**
 * Buckets are records in a reserved namespace (`.buckets`, which is not a valid S3 bucket
 * name), replicated and read with the same quorum paths as objects: one mechanism for both.
 */
import { RingstoreError } from '../util/errors.js';
import type { Clock } from '../util/clock.js';
import { hlcWallMs } from '../util/clock.js';
import type { Coordinator } from '../replication/coordinator.js';

/** The reserved namespace holding one record per bucket. */
export const BUCKETS_NAMESPACE = '.buckets';

/** A bucket as listed. */
export interface BucketInfo {
  readonly name: string;
  readonly createdMs: number;
  /** The access key id that created it; `ROOT_OWNER` for the root key (and buckets from before owners). */
  readonly owner: string;
}

/** The owner of buckets created by the root key from config (whatever its id is now). */
export const ROOT_OWNER = '';

function infoOf(record: { key: string; version: { hlc: number }; userMeta: Readonly<Record<string, string>> }): BucketInfo {
  return { name: record.key, createdMs: hlcWallMs(record.version.hlc), owner: record.userMeta['owner'] ?? ROOT_OWNER };
}

/** How long a gateway trusts that a bucket it has seen still exists. */
const EXISTS_TTL_MS = 2000;

/** Create, check, list and delete buckets. */
export class Buckets {
  readonly #coordinator: Coordinator;
  readonly #clock: Clock;
  // Positive answers only: a bucket just created elsewhere must become visible at once.
  readonly #seen = new Map<string, { at: number; info: BucketInfo }>();

  constructor(coordinator: Coordinator, clock: Clock) {
    this.#coordinator = coordinator;
    this.#clock = clock;
  }

  /**
   * Creates a bucket owned by `owner`. Bucket names are global: BucketAlreadyOwnedByYou when
   * `owner` has it already, BucketAlreadyExists when another key does.
   */
  async create(name: string, owner: string = ROOT_OWNER): Promise<void> {
    const found = await this.#coordinator.findObject(BUCKETS_NAMESPACE, name, 'CreateBucket');
    if (found) {
      if (infoOf(found.record).owner === owner)
        throw new RingstoreError('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { bucket: name });
      throw new RingstoreError(
        'BucketAlreadyExists',
        'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
        {
          bucket: name,
        },
      );
    }
    const userMeta: Record<string, string> = owner === ROOT_OWNER ? {} : { owner };
    const meta = await this.#coordinator.putSmall({ bucket: BUCKETS_NAMESPACE, key: name, tombstone: false, size: 0, etag: '', contentType: '', userMeta }, new Uint8Array(0));
    this.#seen.set(name, { at: this.#clock.now(), info: { name, createdMs: hlcWallMs(meta.version.hlc), owner } });
  }

  /** The bucket, or undefined when there is none. Cached briefly when found: it runs before every request. */
  async find(name: string): Promise<BucketInfo | undefined> {
    const seen = this.#seen.get(name);
    if (seen !== undefined && this.#clock.now() - seen.at < EXISTS_TTL_MS) return seen.info;
    const found = await this.#coordinator.findObject(BUCKETS_NAMESPACE, name, 'HeadBucket');
    if (!found) {
      this.#seen.delete(name);
      return undefined;
    }
    const info = infoOf(found.record);
    this.#seen.set(name, { at: this.#clock.now(), info });
    return info;
  }

  /** Throws NoSuchBucket unless the bucket exists (cached as `find`). */
  async assertExists(name: string): Promise<BucketInfo> {
    const info = await this.find(name);
    if (info === undefined) throw new RingstoreError('NoSuchBucket', 'The specified bucket does not exist.', { bucket: name });
    return info;
  }

  /** Deletes an empty bucket; BucketNotEmpty when any key is left. */
  async remove(name: string): Promise<void> {
    this.#seen.delete(name);
    await this.assertExists(name);
    const page = await this.#coordinator.listPage(name, { limit: 1 });
    if (page.records.length > 0) throw new RingstoreError('BucketNotEmpty', 'The bucket you tried to delete is not empty.', { bucket: name });
    await this.#coordinator.deleteObject(BUCKETS_NAMESPACE, name);
    this.#seen.delete(name);
  }

  /** Every bucket, by name. */
  async list(): Promise<BucketInfo[]> {
    const out: BucketInfo[] = [];
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.#coordinator.listPage(BUCKETS_NAMESPACE, { limit: 1000, ...(startAfter !== undefined && { startAfter }) });
      for (const r of page.records) out.push(infoOf(r));
      if (page.exhausted || page.records.length === 0) return out;
      startAfter = page.records[page.records.length - 1]!.key;
    }
  }
}
