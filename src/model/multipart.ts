/**
 * Multipart uploads. An upload is a record in the reserved `.uploads` namespace; each part is
 * an object of its own in `.parts`, placed on the ring by its own key, so a large object
 * spreads across the cluster. Completing writes the object's record with the list of its
 * parts (a manifest); a GET streams the parts in order. Same quorum paths as everything else.
 */
import { createHash } from 'node:crypto';
import { RingstoreError, isErrorCode } from '../util/errors.js';
import type { Random } from '../util/random.js';
import { compareVersions, hlcWallMs, type Version } from '../util/clock.js';
import type { ObjectMeta, ObjectRecord, PartRef } from '../store/types.js';
import type { Coordinator, PutObjectInput } from '../replication/coordinator.js';

/** Namespace of in-progress uploads: key `<bucket>\0<key>\0<uploadId>`. */
export const UPLOADS_NAMESPACE = '.uploads';
/**
 * Namespace of part objects: key `<uploadId>\0<part number, 5 digits>\0<attempt>`, one key per
 * UploadPart call (`<attempt>` is random), so a part uploaded again never overwrites the version a
 * completed object references; the newest attempt of a number is the part. Keys without the
 * attempt suffix were written before and read the same.
 */
export const PARTS_NAMESPACE = '.parts';

/** S3's smallest part, except the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** An in-progress upload. */
export interface UploadInfo {
  readonly bucket: string;
  readonly key: string;
  readonly uploadId: string;
  readonly initiatedMs: number;
}

/** One uploaded part. */
export interface PartInfo {
  readonly partNumber: number;
  readonly etag: string;
  readonly size: number;
  readonly lastModifiedMs: number;
}

/** The metadata given at CreateMultipartUpload, applied to the completed object. */
export type UploadMeta = Pick<ObjectMeta, 'contentType' | 'userMeta'> & { readonly headers?: Readonly<Record<string, string>> };

/**
 * User-metadata names on a part object naming the object its upload completes into, so the
 * parts collector can tell a part still referenced from garbage without a scan of every bucket.
 */
export const PART_OWNER_BUCKET = 'ringstore-upload-bucket';
export const PART_OWNER_KEY = 'ringstore-upload-key';

/** The `.uploads` key of an upload. */
export function uploadKey(bucket: string, key: string, uploadId: string): string {
  return `${bucket}\0${key}\0${uploadId}`;
}

function partKey(uploadId: string, partNumber: number): string {
  return `${uploadId}\0${String(partNumber).padStart(5, '0')}`;
}

/** The part number of a part object's key. */
function partNumberOf(uploadId: string, key: string): number {
  return Number(key.slice(uploadId.length + 1, uploadId.length + 6));
}

/** Above every key of part `partNumber` (and of those before it) in the upload's listing. */
function afterPart(uploadId: string, partNumber: number): string {
  return `${partKey(uploadId, partNumber)}\0\u{10FFFF}`;
}

function noSuchUpload(uploadId: string): RingstoreError {
  return new RingstoreError('NoSuchUpload', 'The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.', {
    uploadId,
  });
}

/** Create, fill, complete, abort and list multipart uploads. */
export class Multipart {
  readonly #coordinator: Coordinator;
  readonly #random: Random;

  constructor(coordinator: Coordinator, random: Random) {
    this.#coordinator = coordinator;
    this.#random = random;
  }

  /** Starts an upload; returns its id. */
  async create(bucket: string, key: string, meta: UploadMeta): Promise<string> {
    const uploadId = this.#random.hex(16);
    await this.#coordinator.putSmall(
      {
        bucket: UPLOADS_NAMESPACE,
        key: uploadKey(bucket, key, uploadId),
        tombstone: false,
        size: 0,
        etag: '',
        contentType: meta.contentType,
        userMeta: meta.userMeta,
        ...(meta.headers && { headers: meta.headers }),
      },
      new Uint8Array(0),
    );
    return uploadId;
  }

  /** The upload's record; NoSuchUpload when it was never created, or was completed or aborted. */
  async get(bucket: string, key: string, uploadId: string): Promise<ObjectRecord> {
    if (!/^[0-9a-f]{32}$/.test(uploadId)) throw noSuchUpload(uploadId);
    const found = await this.#coordinator.findObject(UPLOADS_NAMESPACE, uploadKey(bucket, key, uploadId), 'ListParts');
    if (!found) throw noSuchUpload(uploadId);
    return found.record;
  }

  /**
   * Stores one part (replacing an earlier upload of the same number); returns its ETag. The
   * newest version among a number's uploads is the part, so pass `body.version` taken when the
   * UploadPart request arrived (`Coordinator.arrivalVersion`): the upload that started later
   * wins even when the other finishes last.
   */
  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Pick<PutObjectInput, 'body' | 'seal' | 'signal' | 'version'>): Promise<ObjectMeta> {
    await this.get(bucket, key, uploadId);
    return this.#coordinator.putObject({
      bucket: PARTS_NAMESPACE,
      key: `${partKey(uploadId, partNumber)}\0${this.#random.hex(8)}`,
      contentType: 'application/octet-stream',
      userMeta: { [PART_OWNER_BUCKET]: bucket, [PART_OWNER_KEY]: key },
      ...body,
    });
  }

  /** Parts uploaded so far, by number, after `marker`. */
  async listParts(uploadId: string, options: { marker: number; max: number }): Promise<{ parts: PartInfo[]; truncated: boolean }> {
    const current = await this.#currentParts(uploadId, options.marker, options.max + 1);
    const parts = [...current].map(([partNumber, r]) => ({ partNumber, etag: r.etag, size: r.size, lastModifiedMs: hlcWallMs(r.version.hlc) }));
    return { parts: parts.slice(0, options.max), truncated: parts.length > options.max };
  }

  /**
   * The newest attempt of each part number after `marker`, up to `wanted` numbers, in number order.
   * A number's attempts are adjacent in key order, so a number is complete once a later one shows.
   */
  async #currentParts(uploadId: string, marker: number, wanted: number): Promise<Map<number, ObjectRecord>> {
    const out = new Map<number, ObjectRecord>();
    let startAfter = afterPart(uploadId, marker);
    for (;;) {
      const page = await this.#coordinator.listPage(PARTS_NAMESPACE, { prefix: `${uploadId}\0`, startAfter, limit: 1000 });
      for (const record of page.records) {
        const n = partNumberOf(uploadId, record.key);
        const held = out.get(n);
        if (held === undefined && out.size === wanted) return out;
        if (held === undefined || compareVersions(record.version, held.version) > 0) out.set(n, record);
      }
      const last = page.records[page.records.length - 1];
      if (page.exhausted || last === undefined) return out;
      startAfter = last.key;
    }
  }

  /**
   * Completes an upload from the parts the client names: each must exist with that ETag
   * (InvalidPart), and all but the last must be at least 5 MiB (EntityTooSmall). Writes the
   * object as a manifest of those parts; its ETag is the MD5 of the parts' MD5s, dash, count,
   * under `version` (taken when the Complete request arrived) when given.
   *
   * Completing again an upload that this completion already finished answers the object it
   * created, as AWS does, as long as the key still holds that object (its manifest's parts are
   * this upload's); once it was overwritten or deleted, NoSuchUpload.
   */
  async complete(bucket: string, key: string, uploadId: string, requested: ReadonlyArray<{ partNumber: number; etag: string }>, version?: Version): Promise<ObjectMeta> {
    const upload = await this.get(bucket, key, uploadId).catch(async (err: unknown) => {
      if (!isErrorCode(err, 'NoSuchUpload')) throw err;
      const done = await this.#completedInto(bucket, key, uploadId);
      if (done) return done;
      throw err;
    });
    // The upload record is gone: this answers a repeated Complete with the object it created.
    if (upload.parts) return upload;
    const current = await this.#currentParts(uploadId, 0, Infinity);
    const parts: PartRef[] = requested.map((p) => {
      const record = current.get(p.partNumber);
      if (!record || record.etag !== p.etag) {
        throw new RingstoreError('InvalidPart', `part ${p.partNumber} was not uploaded, or its ETag is not "${p.etag}"`, { partNumber: p.partNumber });
      }
      return { bucket: PARTS_NAMESPACE, key: record.key, version: record.version, size: record.size, etag: record.etag };
    });
    parts.forEach((p, i) => {
      if (i < parts.length - 1 && p.size < MIN_PART_SIZE) {
        throw new RingstoreError('EntityTooSmall', `part ${requested[i]!.partNumber} is ${p.size} bytes; every part but the last must be at least ${MIN_PART_SIZE} bytes`, {
          partNumber: requested[i]!.partNumber,
        });
      }
    });
    const md5 = createHash('md5');
    for (const p of parts) md5.update(Buffer.from(p.etag, 'hex'));
    const meta = await this.#coordinator.putSmall(
      {
        bucket,
        key,
        tombstone: false,
        size: parts.reduce((sum, p) => sum + p.size, 0),
        etag: `${md5.digest('hex')}-${parts.length}`,
        contentType: upload.contentType,
        userMeta: upload.userMeta,
        ...(upload.headers && { headers: upload.headers }),
        parts,
      },
      new Uint8Array(0),
      version,
    );
    await this.#coordinator.deleteObject(UPLOADS_NAMESPACE, uploadKey(bucket, key, uploadId));
    const kept = new Set(parts.map((p) => p.key));
    this.#coordinator.background(this.#dropParts(uploadId, (k) => !kept.has(k)));
    return meta;
  }

  /** The object at the key when an earlier completion of `uploadId` created it (and nothing replaced it since). */
  async #completedInto(bucket: string, key: string, uploadId: string): Promise<ObjectRecord | undefined> {
    if (!/^[0-9a-f]{32}$/.test(uploadId)) return undefined;
    const found = await this.#coordinator.findObject(bucket, key, 'CompleteMultipartUpload');
    const first = found?.record.parts?.[0];
    return first && first.bucket === PARTS_NAMESPACE && first.key.startsWith(`${uploadId}\0`) ? found.record : undefined;
  }

  /** Aborts an upload and deletes its parts. */
  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.get(bucket, key, uploadId);
    await this.#coordinator.deleteObject(UPLOADS_NAMESPACE, uploadKey(bucket, key, uploadId));
    await this.#dropParts(uploadId, () => true);
  }

  /** In-progress uploads of a bucket, in key order. */
  async listUploads(bucket: string, options: { prefix: string; keyMarker: string; uploadIdMarker?: string; max: number }): Promise<{ uploads: UploadInfo[]; truncated: boolean }> {
    const base = `${bucket}\0`;
    // Records are `bucket NUL key NUL uploadId`: after the marker id of the marker key, or after all that key's uploads.
    const after = options.uploadIdMarker === undefined ? '\u{10FFFF}' : options.uploadIdMarker;
    const page = await this.#coordinator.listPage(UPLOADS_NAMESPACE, {
      prefix: base + options.prefix,
      ...(options.keyMarker !== '' && { startAfter: `${base}${options.keyMarker}\0${after}` }),
      limit: options.max + 1,
    });
    const uploads = page.records.map((r) => {
      // An object key may itself hold NUL: the upload id is what follows the last one.
      const idAt = r.key.lastIndexOf('\0');
      return { bucket, key: r.key.slice(base.length, idAt), uploadId: r.key.slice(idAt + 1), initiatedMs: hlcWallMs(r.version.hlc) };
    });
    return { uploads: uploads.slice(0, options.max), truncated: uploads.length > options.max };
  }

  /** Tombstones part objects of an upload (best effort: failures leave orphans for later collection). */
  async #dropParts(uploadId: string, which: (partKey: string) => boolean): Promise<void> {
    try {
      const { records } = await this.#coordinator.listPage(PARTS_NAMESPACE, { prefix: `${uploadId}\0`, limit: 10_000 });
      await Promise.allSettled(records.filter((r) => which(r.key)).map((r) => this.#coordinator.deleteObject(PARTS_NAMESPACE, r.key)));
    } catch {
      // Orphaned parts cost space, not correctness.
    }
  }
}
