/**
 * How object records are laid out in LevelDB.
 *
 * Key: `o 0x00 <bucket utf8> 0x00 <key utf8>`. Bucket names never contain NUL, so a bucket's
 * keys form one contiguous range that scans in UTF-8 byte order. Other record kinds (hints,
 * Merkle leaves) use other leading bytes.
 *
 * Listing index: `m 0x00 <bucket> 0x00 <key>` holds the same value without the inline body,
 * written in the same batch, so that a listing scans metadata only instead of copying every
 * small body it passes.
 *
 * Value: `0x01 | u32be header length | header JSON | inline body bytes`. The header is a
 * positional JSON array (compact and fast to parse); bucket and key are not repeated since
 * they are in the DB key. Trailing fields are optional (older records simply end earlier):
 * headers, parts, the block CRCs of a blob (`[blockBytes, base64 u32be…]`, object record only)
 * and a quarantine mark; a field present forces `0` placeholders for the absent ones before it.
 */
import { RingstoreError } from '../util/errors.js';
import type { ObjectRecord, PartRef } from './types.js';
import { decodeBlockCrcs, encodeBlockCrcs, type BlockCrcs } from './block-crcs.js';

const OBJECT_TAG = 0x6f; // 'o'
const LISTING_TAG = 0x6d; // 'm'
const FORMAT = 1;
const HEADER_AT = 5;
// 0xff never occurs in UTF-8, so `prefix + 0xff` is above every key that starts with prefix.
const AFTER_ALL = Buffer.from([0xff]);

/** A decoded LevelDB value: the record, plus where its body lives. */
export interface StoredValue {
  readonly record: ObjectRecord;
  /** The blob file id when `record.storage === 'blob'`. */
  readonly blobId?: string;
  /** The body when `record.storage === 'inline'`. */
  readonly inline?: Uint8Array;
  /** Per-block CRCs of a blob body; absent for inline bodies and blobs written before they existed. */
  readonly blockCrcs?: BlockCrcs;
}

type Header = [
  hlc: number,
  node: string,
  tombstone: 0 | 1,
  size: number,
  etag: string,
  contentType: string,
  userMeta: Record<string, string>,
  checksums: Record<string, string> | 0,
  crc32: number,
  blobId: string | 0,
  headers?: Record<string, string> | 0,
  parts?: PartRef[] | 0,
  blockCrcs?: [blockBytes: number, crcs: string] | 0,
  quarantined?: 1,
];

/** The bytes every key of `bucket` starts with (records, or with `listing` the listing index). */
export function bucketPrefix(bucket: string, listing = false): Buffer {
  const name = Buffer.from(bucket, 'utf8');
  const out = Buffer.allocUnsafe(name.length + 3);
  out[0] = listing ? LISTING_TAG : OBJECT_TAG;
  out[1] = 0;
  name.copy(out, 2);
  out[name.length + 2] = 0;
  return out;
}

/** Iterator bounds covering the object records of every bucket. */
export function allObjectsBounds(): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.from([OBJECT_TAG, 0]), lt: Buffer.from([OBJECT_TAG, 1]) };
}

/** The DB key of one object. */
export function objectKey(bucket: string, key: string): Buffer {
  return Buffer.concat([bucketPrefix(bucket), Buffer.from(key, 'utf8')]);
}

/** The listing-index key of one object. */
export function listingKey(bucket: string, key: string): Buffer {
  return Buffer.concat([bucketPrefix(bucket, true), Buffer.from(key, 'utf8')]);
}

/** Listing-index bounds for a list call: keys of `bucket` with `prefix`, strictly after `startAfter`. */
export function listBounds(bucket: string, prefix: string, startAfter: string | undefined): { gt: Buffer; lt: Buffer } | { gte: Buffer; lt: Buffer } {
  const base = bucketPrefix(bucket, true);
  const low = Buffer.concat([base, Buffer.from(prefix, 'utf8')]);
  const lt = Buffer.concat([low, AFTER_ALL]);
  if (startAfter !== undefined) {
    const after = Buffer.concat([base, Buffer.from(startAfter, 'utf8')]);
    if (Buffer.compare(after, low) >= 0) return { gt: after, lt };
  }
  return { gte: low, lt };
}

/** Encodes a record and its body location as a DB value (block CRCs only where reads need them, not in the listing copy). */
export function encodeValue(record: ObjectRecord, blobId: string | undefined, inline: Uint8Array | undefined, blockCrcs?: BlockCrcs): Buffer {
  const header: Header = [
    record.version.hlc,
    record.version.node,
    record.tombstone ? 1 : 0,
    record.size,
    record.etag,
    record.contentType,
    record.userMeta as Record<string, string>,
    (record.checksums as Record<string, string> | undefined) ?? 0,
    record.crc32,
    blobId ?? 0,
  ];
  // Optional trailing fields, each with placeholders for the ones before it.
  const quarantined = record.storage === 'quarantined';
  const last = quarantined ? 13 : blockCrcs !== undefined ? 12 : record.parts !== undefined ? 11 : record.headers !== undefined ? 10 : 9;
  if (last >= 10) header.push((record.headers as Record<string, string> | undefined) ?? 0);
  if (last >= 11) header.push((record.parts as PartRef[] | undefined) ?? 0);
  if (last >= 12) header.push(blockCrcs === undefined ? 0 : encodeBlockCrcs(blockCrcs));
  if (quarantined) header.push(1);
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const bodyLength = inline?.byteLength ?? 0;
  const out = Buffer.allocUnsafe(HEADER_AT + json.length + bodyLength);
  out[0] = FORMAT;
  out.writeUInt32BE(json.length, 1);
  json.copy(out, HEADER_AT);
  if (inline !== undefined && bodyLength > 0) out.set(inline, HEADER_AT + json.length);
  return out;
}

/** Decodes a DB value written by `encodeValue`; the inline body is a view into `value`. */
export function decodeValue(bucket: string, key: string, value: Uint8Array): StoredValue {
  const buf = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const unreadable = (): RingstoreError => new RingstoreError('CorruptBody', 'unreadable metadata record', { bucket, key });
  if (buf.length < HEADER_AT || buf[0] !== FORMAT) throw unreadable();
  const headerEnd = HEADER_AT + buf.readUInt32BE(1);
  if (headerEnd > buf.length) throw unreadable();
  let h: Header;
  try {
    h = JSON.parse(buf.toString('utf8', HEADER_AT, headerEnd)) as Header;
  } catch {
    throw unreadable();
  }
  // Garbled bytes can still parse (as another JSON value): only a header array is a record.
  if (!Array.isArray(h) || h.length < 10) throw unreadable();
  const blobId = h[9];
  const base: ObjectRecord = {
    bucket,
    key,
    version: { hlc: h[0], node: h[1] },
    tombstone: h[2] === 1,
    size: h[3],
    etag: h[4],
    contentType: h[5],
    userMeta: h[6],
    crc32: h[8],
    storage: h[13] === 1 ? 'quarantined' : blobId === 0 ? 'inline' : 'blob',
  };
  const withChecksums: ObjectRecord = h[7] === 0 ? base : { ...base, checksums: h[7] };
  const withHeaders: ObjectRecord = h[10] === undefined || h[10] === 0 ? withChecksums : { ...withChecksums, headers: h[10] };
  const record: ObjectRecord = h[11] === undefined || h[11] === 0 ? withHeaders : { ...withHeaders, parts: h[11] };
  if (h[13] === 1) return { record };
  if (blobId !== 0) {
    const blockCrcs = h[12] === undefined || h[12] === 0 ? undefined : decodeBlockCrcs(h[12]);
    return blockCrcs === undefined ? { record, blobId } : { record, blobId, blockCrcs };
  }
  return { record, inline: buf.subarray(headerEnd) };
}
