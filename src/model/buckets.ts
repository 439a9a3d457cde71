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
}

/** How long a gateway trusts that a bucket it has seen still exists. */
const EXISTS_TTL_MS = 2000;

/** Create, check, list and delete buckets. */
export class Buckets {
  readonly #coordinator: Coordinator;
  readonly #clock: Clock;
  // Positive answers only: a bucket just created elsewhere must become visible at once.
  readonly #seen = new Map<string, number>();

  constructor(coordinator: Coordinator, clock: Clock) {
    this.#coordinator = coordinator;
    this.#clock = clock;
  }

  /** Creates a bucket; BucketAlreadyOwnedByYou when it exists (there is one owner: the root key). */
  async create(name: string): Promise<void> {
    if (await this.#coordinator.findObject(BUCKETS_NAMESPACE, name, 'CreateBucket')) {
      throw new RingstoreError('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { bucket: name });
    }
    await this.#coordinator.putSmall({ bucket: BUCKETS_NAMESPACE, key: name, tombstone: false, size: 0, etag: '', contentType: '', userMeta: {} }, new Uint8Array(0));
    this.#seen.set(name, this.#clock.now());
  }

  /** Throws NoSuchBucket unless the bucket exists. Cached briefly: it runs before every object operation. */
  async assertExists(name: string): Promise<void> {
    const seen = this.#seen.get(name);
    if (seen !== undefined && this.#clock.now() - seen < EXISTS_TTL_MS) return;
    if (!(await this.#coordinator.findObject(BUCKETS_NAMESPACE, name, 'HeadBucket'))) {
      this.#seen.delete(name);
      throw new RingstoreError('NoSuchBucket', 'The specified bucket does not exist.', { bucket: name });
    }
    this.#seen.set(name, this.#clock.now());
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
      for (const r of page.records) out.push({ name: r.key, createdMs: hlcWallMs(r.version.hlc) });
      if (page.exhausted || page.records.length === 0) return out;
      startAfter = page.records[page.records.length - 1]!.key;
    }
  }
}
