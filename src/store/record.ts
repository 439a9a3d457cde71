/**
 * Pieces both stores share: argument checks, building a record from a commit, key order and
 * range checks. Keeping them here is what makes LevelStore and MemoryStore agree on edge cases.
 */
import { RingstoreError } from '../util/errors.js';
import type { ByteRange, CommitBody, ObjectMeta, ObjectRecord } from './types.js';

/** Bodies up to this many bytes are kept inline in the metadata when no threshold is configured. */
export const DEFAULT_INLINE_THRESHOLD = 16 * 1024;

// In `u` mode a surrogate pair is one code point, so this matches only lone surrogates,
// which UTF-8 cannot encode (they would silently turn into U+FFFD and collide).
const LONE_SURROGATE = /\p{Cs}/u;

/** Throws InvalidArgument unless `bucket`/`key` can be stored and scanned in byte order. */
export function checkBucketKey(bucket: string, key: string): void {
  if (typeof bucket !== 'string' || bucket.length === 0 || bucket.includes('\0')) {
    throw new RingstoreError('InvalidArgument', 'bucket name must be a non-empty string without NUL', { bucket });
  }
  if (typeof key !== 'string' || LONE_SURROGATE.test(key) || LONE_SURROGATE.test(bucket)) {
    throw new RingstoreError('InvalidArgument', 'bucket and key must be well-formed Unicode strings', { bucket });
  }
}

/** A meta record's name (`LocalStore.getMeta`): lowercase letters, digits and dashes (it becomes part of a DB key). */
export function checkMetaName(name: string): string {
  if (!/^[a-z][a-z0-9-]{0,63}$/.test(name)) throw new RingstoreError('InvalidArgument', `invalid meta record name ${JSON.stringify(name)}`, { name });
  return name;
}

/**
 * The error for reading the body of a multipart manifest: it has none of its own (its parts are
 * objects of their own), and treating its empty body as a corrupt one would quarantine a good record.
 */
export function manifestHasNoBody(bucket: string, key: string): RingstoreError {
  return new RingstoreError('InvalidArgument', 'a multipart object has no body of its own; read its parts', { bucket, key });
}

/** Bytes a record keeps under its own key: none for a multipart manifest, whose body is its parts. */
export function storedSize(meta: ObjectMeta): number {
  return meta.parts === undefined ? meta.size : 0;
}

/** Throws InvalidArgument when a commit's metadata or body is inconsistent. */
export function checkCommit(meta: ObjectMeta, body: CommitBody): void {
  checkBucketKey(meta.bucket, meta.key);
  const { version } = meta;
  if (!Number.isSafeInteger(version.hlc) || version.hlc < 0 || typeof version.node !== 'string') {
    throw new RingstoreError('InvalidArgument', 'invalid version', { version });
  }
  if (!Number.isSafeInteger(meta.size) || meta.size < 0) {
    throw new RingstoreError('InvalidArgument', 'invalid size', { size: meta.size });
  }
  if (meta.tombstone && (meta.size !== 0 || body.kind !== 'inline')) {
    throw new RingstoreError('InvalidArgument', 'a tombstone carries no body', { key: meta.key });
  }
  if (body.kind === 'inline' && body.data.byteLength !== storedSize(meta)) {
    throw new RingstoreError('InvalidArgument', 'inline body length differs from meta.size', {
      size: meta.size,
      length: body.data.byteLength,
    });
  }
}

/** A record holding exactly the metadata fields of `meta` (extra properties are dropped). */
export function toRecord(meta: ObjectMeta, crc32: number, storage: ObjectRecord['storage']): ObjectRecord {
  const record: ObjectRecord = {
    bucket: meta.bucket,
    key: meta.key,
    version: { hlc: meta.version.hlc, node: meta.version.node },
    tombstone: meta.tombstone,
    size: meta.size,
    etag: meta.etag,
    contentType: meta.contentType,
    userMeta: { ...meta.userMeta },
    crc32,
    storage,
  };
  const withChecksums = meta.checksums === undefined ? record : { ...record, checksums: { ...meta.checksums } };
  const withHeaders = meta.headers === undefined ? withChecksums : { ...withChecksums, headers: { ...meta.headers } };
  return meta.parts === undefined ? withHeaders : { ...withHeaders, parts: meta.parts.map((p) => ({ ...p, version: { ...p.version } })) };
}

/** Throws InvalidArgument unless `range` lies inside a body of `size` bytes. */
export function checkRange(range: ByteRange, size: number): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= size) {
    throw new RingstoreError('InvalidArgument', 'range outside the body', { start, end, size });
  }
}

/** Throws InvalidArgument unless `limit` is a non-negative integer. */
export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RingstoreError('InvalidArgument', 'list limit must be a non-negative integer', { limit });
  }
}
