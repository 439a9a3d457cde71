/**
 * How the per-partition index and the hints are laid out in LevelDB, beside the records of
 * record-codec.ts. Both are written in the same batch as the record they describe.
 *
 * Partition index: `p 0x00 <partition u16be> 0x00 <bucket> 0x00 <key>` → a compact leaf
 * `0x01 | flags u8 | hlc f64be | size f64be | digest u64be | node utf8` (flags: bit 0 tombstone,
 * bits 1-2 storage 0 inline / 1 blob / 2 quarantined). A partition's keys are one range that
 * scans in (bucket, key) byte order; the digest is stored so that open() rebuilds all partition
 * digests with one scan and no hashing.
 *
 * Hints: `h 0x00 <owner> 0x00 <bucket> 0x00 <key>` → `0x01 | hlc f64be | size f64be |
 * createdMs f64be | node utf8`. One hint per (owner, key); an owner's hints are one range.
 *
 * Meta records: `x 0x00 <name>` → small node-local values beside the data. `partition-index` is
 * the index format, written once the index covers every record (a data dir from before the
 * index is migrated at open); `scrub-cursor` is where the scrub pass is (antientropy/scrub.ts).
 *
 * A page cursor is the key's suffix after its fixed prefix as a string (`bucket \0 key`, or
 * `owner \0 bucket \0 key`): names hold no NUL, so it decodes unambiguously and sorts like the keys.
 */
import { RingstoreError } from '../util/errors.js';
import type { HintEntry, ObjectRecord, PartitionEntry } from './types.js';

const PARTITION_TAG = 0x70; // 'p'
const HINT_TAG = 0x68; // 'h'
const LEAF_FORMAT = 1;
const HINT_FORMAT = 1;
const AFTER_ALL = Buffer.from([0xff]);
const STORAGES: readonly ObjectRecord['storage'][] = ['inline', 'blob', 'quarantined'];

/** The DB key of the meta record `name` (`LocalStore.getMeta`/`putMeta`). */
export function metaKey(name: string): Buffer {
  return Buffer.from(`x\0${name}`, 'utf8');
}

/** The DB key of the index marker, and the value meaning "the index is complete, format 1 with 16-bit partitions". */
export const INDEX_MARKER_KEY = metaKey('partition-index');
export const INDEX_MARKER_VALUE = Buffer.from('1:16', 'utf8');

/** The bytes every index key of partition p starts with. */
export function partitionPrefix(p: number): Buffer {
  return Buffer.from([PARTITION_TAG, 0, p >>> 8, p & 0xff, 0]);
}

/** The page cursor (and key suffix) of an object: `bucket \0 key`. */
export function entryCursor(bucket: string, key: string): string {
  return `${bucket}\0${key}`;
}

/** The page cursor (and key suffix) of a hint: `owner \0 bucket \0 key`. */
export function hintCursor(owner: string, bucket: string, key: string): string {
  return `${owner}\0${bucket}\0${key}`;
}

/** The index key of one object in partition p. */
export function partitionIndexKey(p: number, bucket: string, key: string): Buffer {
  return Buffer.concat([partitionPrefix(p), Buffer.from(entryCursor(bucket, key), 'utf8')]);
}

/** Iterator bounds of partition p's index, strictly after `after` (a cursor) when given. */
export function partitionBounds(p: number, after?: string): { gt: Buffer; lt: Buffer } | { gte: Buffer; lt: Buffer } {
  const prefix = partitionPrefix(p);
  const lt = Buffer.concat([prefix, AFTER_ALL]);
  return after === undefined ? { gte: prefix, lt } : { gt: Buffer.concat([prefix, Buffer.from(after, 'utf8')]), lt };
}

/** Iterator bounds of the whole partition index. */
export function allPartitionsBounds(): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.from([PARTITION_TAG, 0]), lt: Buffer.from([PARTITION_TAG, 1]) };
}

/** The partition number in an index key. */
export function partitionOfIndexKey(dbKey: Buffer): number {
  return dbKey.readUInt16BE(2);
}

/** Splits a `bucket \0 key` (or `owner \0 …`) suffix at its first NUL. */
export function splitAtNul(text: string): [string, string] {
  const sep = text.indexOf('\0');
  return sep < 0 ? [text, ''] : [text.slice(0, sep), text.slice(sep + 1)];
}

/** Encodes a leaf as an index value. */
export function encodeLeaf(entry: PartitionEntry): Buffer {
  const node = Buffer.from(entry.version.node, 'utf8');
  const out = Buffer.allocUnsafe(26 + node.length);
  out[0] = LEAF_FORMAT;
  out[1] = (entry.tombstone ? 1 : 0) | (STORAGES.indexOf(entry.storage) << 1);
  out.writeDoubleBE(entry.version.hlc, 2);
  out.writeDoubleBE(entry.size, 10);
  out.writeBigUInt64BE(entry.digest, 18);
  node.copy(out, 26);
  return out;
}

/** The digest stored in an index value, without decoding the rest (for the scan at open). */
export function leafDigestOf(value: Buffer): bigint {
  return value.readBigUInt64BE(18);
}

/** Decodes an index key and value written by `partitionIndexKey` / `encodeLeaf`. */
export function decodeLeaf(dbKey: Buffer, value: Buffer): PartitionEntry {
  if (value.length < 26 || value[0] !== LEAF_FORMAT) throw new RingstoreError('CorruptBody', 'unreadable partition index entry', { key: dbKey.toString('hex') });
  const [bucket, key] = splitAtNul(dbKey.toString('utf8', 5));
  const flags = value[1] ?? 0;
  return {
    bucket,
    key,
    version: { hlc: value.readDoubleBE(2), node: value.toString('utf8', 26) },
    tombstone: (flags & 1) === 1,
    storage: STORAGES[(flags >> 1) & 3] ?? 'inline',
    size: value.readDoubleBE(10),
    digest: value.readBigUInt64BE(18),
  };
}

/** The DB key of a hint. */
export function hintKey(owner: string, bucket: string, key: string): Buffer {
  return Buffer.concat([Buffer.from([HINT_TAG, 0]), Buffer.from(hintCursor(owner, bucket, key), 'utf8')]);
}

/** Iterator bounds of the hints (of one owner when given), strictly after `after` (a cursor) when given. */
export function hintBounds(owner?: string, after?: string): { gt: Buffer; lt: Buffer } | { gte: Buffer; lt: Buffer } {
  const base = Buffer.from([HINT_TAG, 0]);
  const low = owner === undefined ? base : Buffer.concat([base, Buffer.from(`${owner}\0`, 'utf8')]);
  const lt = owner === undefined ? Buffer.from([HINT_TAG, 1]) : Buffer.concat([base, Buffer.from(owner, 'utf8'), Buffer.from([1])]);
  if (after !== undefined) {
    const gt = Buffer.concat([base, Buffer.from(after, 'utf8')]);
    if (Buffer.compare(gt, low) >= 0) return { gt, lt };
  }
  return { gte: low, lt };
}

/** The owner named by a hint key (for finding every owner with one seek each). */
export function hintOwnerPrefix(dbKey: Buffer): { owner: string; next: Buffer } {
  const sep = dbKey.indexOf(0, 2);
  const end = sep < 0 ? dbKey.length : sep;
  return { owner: dbKey.toString('utf8', 2, end), next: Buffer.concat([dbKey.subarray(0, end), Buffer.from([1])]) };
}

/** Encodes a hint's value. */
export function encodeHint(hint: HintEntry): Buffer {
  const node = Buffer.from(hint.version.node, 'utf8');
  const out = Buffer.allocUnsafe(25 + node.length);
  out[0] = HINT_FORMAT;
  out.writeDoubleBE(hint.version.hlc, 1);
  out.writeDoubleBE(hint.size, 9);
  out.writeDoubleBE(hint.createdMs, 17);
  node.copy(out, 25);
  return out;
}

/** Decodes a hint key and value. */
export function decodeHint(dbKey: Buffer, value: Buffer): HintEntry {
  if (value.length < 25 || value[0] !== HINT_FORMAT) throw new RingstoreError('CorruptBody', 'unreadable hint', { key: dbKey.toString('hex') });
  const [owner, rest] = splitAtNul(dbKey.toString('utf8', 2));
  const [bucket, key] = splitAtNul(rest);
  return { owner, bucket, key, version: { hlc: value.readDoubleBE(1), node: value.toString('utf8', 25) }, size: value.readDoubleBE(9), createdMs: value.readDoubleBE(17) };
}
