/**
 * The `parts-gc` worker: deletes (tombstones) multipart part objects that nothing references
 * any more — parts of an object since overwritten or deleted, parts left out of a completion
 * or by an abort that failed half-way. It walks the `.parts` records this node holds; for each
 * upload among them it keeps every part while the upload is in progress (its `.uploads` record
 * is live), and otherwise keeps exactly the part versions the owning object's current record
 * lists. Every lookup is a quorum read, so a live upload or a just-completed object is seen
 * (Complete writes the object before it deletes the upload record). Parts younger than the
 * grace period are never touched, whatever the lookups say. Any lookup that fails skips the
 * upload: a part left for the next pass costs space, a part deleted by mistake costs data.
 */
import type { ObjectRecord, PartRef, ReplicaApi } from '../store/types.js';
import { compareVersions, hlcWallMs, type Clock } from '../util/clock.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Worker } from '../util/worker.js';
import type { Metrics } from '../metrics/definitions.js';
import type { Coordinator } from '../replication/coordinator.js';
import { PARTS_NAMESPACE, PART_OWNER_BUCKET, PART_OWNER_KEY, UPLOADS_NAMESPACE, uploadKey } from './multipart.js';

/** Construction options of a PartsCollector. */
export interface PartsCollectorOptions {
  readonly coordinator: Coordinator;
  /** This node's replica: the `.parts` records it holds are the ones it examines. */
  readonly local: ReplicaApi;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics | null;
  /** Parts written less than this long ago are kept (covers a completion in flight). */
  readonly graceMs: number;
}

const PAGE = 500;

/** Tombstones multipart parts no upload or object references. */
export class PartsCollector implements Worker {
  readonly name = 'parts-gc';
  readonly #o: PartsCollectorOptions;
  #runs = 0;
  #deleted = 0;
  #skipped = 0;

  constructor(options: PartsCollectorOptions) {
    this.#o = options;
  }

  status(): Record<string, unknown> {
    return { runs: this.#runs, deleted: this.#deleted, skippedUploads: this.#skipped };
  }

  /** One pass over the local `.parts` records; resolves with how many parts it deleted. */
  async runOnce(signal: AbortSignal): Promise<void> {
    await this.collect(signal);
  }

  /** Like runOnce, returning the number of parts deleted (for tests). */
  async collect(signal?: AbortSignal): Promise<number> {
    let deleted = 0;
    let startAfter: string | undefined;
    let group: ObjectRecord[] = [];
    let groupId = '';
    for (;;) {
      signal?.throwIfAborted();
      const page = await this.#o.local.list(PARTS_NAMESPACE, { limit: PAGE, ...(startAfter !== undefined && { startAfter }) }, signal);
      for (const record of page) {
        const uploadId = record.key.slice(0, record.key.indexOf('\0'));
        if (uploadId !== groupId && group.length > 0) {
          deleted += await this.#collectUpload(group);
          group = [];
        }
        groupId = uploadId;
        if (!record.tombstone) group.push(record);
      }
      if (page.length < PAGE) break;
      startAfter = page[page.length - 1]!.key;
    }
    if (group.length > 0) deleted += await this.#collectUpload(group);
    this.#runs++;
    this.#deleted += deleted;
    if (deleted > 0) this.#o.logger.info({ deleted }, 'deleted unreferenced multipart parts');
    return deleted;
  }

  /** Deletes the parts of one upload (as held locally) that are garbage; 0 when unsure. */
  async #collectUpload(local: readonly ObjectRecord[]): Promise<number> {
    const { coordinator, clock, graceMs } = this.#o;
    const first = local[0]!;
    const bucket = first.userMeta[PART_OWNER_BUCKET];
    const key = first.userMeta[PART_OWNER_KEY];
    // Parts written before owners were recorded cannot be judged without a full scan.
    if (bucket === undefined || key === undefined) return 0;
    const uploadId = first.key.slice(0, first.key.indexOf('\0'));
    const now = clock.now();
    const old = local.filter((r) => now - hlcWallMs(r.version.hlc) >= graceMs);
    if (old.length === 0) return 0;
    try {
      if (await coordinator.findObject(UPLOADS_NAMESPACE, uploadKey(bucket, key, uploadId), 'ListParts')) return 0;
      const owner = await coordinator.findObject(bucket, key, 'GetObject');
      const referenced: readonly PartRef[] = owner?.record.parts ?? [];
      let deleted = 0;
      for (const part of old) {
        // The newest version in the cluster, not this replica's copy, is what gets judged.
        const current = await coordinator.findObject(PARTS_NAMESPACE, part.key, 'GetObject');
        if (!current) continue;
        const { version } = current.record;
        if (now - hlcWallMs(version.hlc) < graceMs) continue;
        if (referenced.some((p) => p.bucket === PARTS_NAMESPACE && p.key === part.key && compareVersions(p.version, version) === 0)) continue;
        await coordinator.deleteObject(PARTS_NAMESPACE, part.key);
        this.#o.metrics?.gcCollected.inc({ kind: 'part' });
        deleted++;
      }
      return deleted;
    } catch (err) {
      this.#skipped++;
      this.#o.logger.warn({ uploadId, err: describeError(err) }, 'parts of an upload left for the next pass');
      return 0;
    }
  }
}
