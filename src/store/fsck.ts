/**
 * The offline check of one stopped node's store (`ringstore fsck`): every object record and its
 * listing copy, every body (inline or blob file) against the record's size and CRC32, and the
 * files under `blobs/` that no record references. It opens the metadata DB itself, so LevelDB's
 * lock keeps it off a store that a running node holds (and a node from starting meanwhile).
 *
 * Leftovers (orphan blobs and temp files from stages a crash or restart interrupted) are
 * collectable garbage, not damage: they are reported apart and never count as problems.
 */
import { stat } from 'node:fs/promises';
import type { StoreFile } from './file-system.js';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ClassicLevel } from 'classic-level';
import { crc32 } from '../util/crc.js';
import { RingstoreError } from '../util/errors.js';
import { cryptoRandom } from '../util/random.js';
import { BlobDir, isBlobId } from './blob-dir.js';
import { allObjectsBounds, bucketPrefix, decodeValue, encodeValue, listingKey } from './record-codec.js';
import { INDEX_MARKER_KEY } from './partition-codec.js';
import type { StoredValue } from './record-codec.js';
import { storedSize } from './record.js';
import type { ObjectRecord } from './types.js';

/** Kinds of damage: each one makes a read fail, return the wrong thing, or list the wrong thing. */
export type FsckProblemKind =
  /** A DB key in the object or listing range that is not `<tag>\0<bucket>\0<key>`. */
  | 'bad-key'
  /** A record value that does not decode or breaks a record invariant. */
  | 'bad-record'
  /** A record without its listing copy (the key is missing from listings). */
  | 'listing-missing'
  /** A listing copy that differs from its record. */
  | 'listing-mismatch'
  /** A listing copy without a record (listings show a key that reads as absent). */
  | 'listing-stray'
  /** A blob record whose file is not there. */
  | 'missing-blob'
  /** A blob file that cannot be opened or read for another reason. */
  | 'unreadable-blob'
  /** A blob file whose length differs from the record's size. */
  | 'blob-size'
  /** A blob file whose CRC32 differs from the record's. */
  | 'blob-crc'
  /** A blob file one of whose 1 MiB blocks differs from its block CRC (ranged reads of it fail). */
  | 'block-crc'
  /** A copy this node found corrupt and set aside (`<dataDir>/quarantine/`): the version is known but its body is gone until a replica's copy is fetched again. */
  | 'quarantined'
  /** A blob file referenced by more than one record (replacing one would delete the other's body). */
  | 'blob-shared'
  /** An inline body whose length differs from the record's. */
  | 'inline-size'
  /** An inline body whose CRC32 differs from the record's. */
  | 'inline-crc';

/** One problem found. */
export interface FsckProblem {
  readonly kind: FsckProblemKind;
  readonly bucket?: string;
  readonly key?: string;
  readonly blobId?: string;
  readonly detail: string;
  /** Set when `repair` fixed it. */
  repaired?: boolean;
}

/** Collectable files: not damage, just space (interrupted stages, replaced bodies a crash kept). */
export type FsckLeftoverKind = 'orphan-blob' | 'temp-file';

/** One collectable file under `blobs/`. */
export interface FsckLeftover {
  readonly kind: FsckLeftoverKind;
  readonly blobId: string;
  readonly path: string;
  readonly size: number;
  /** Set when `repair` deleted it. */
  removed?: boolean;
}

/** What `checkStore` found. */
export interface FsckReport {
  readonly dir: string;
  /** Object records (tombstones and multipart manifests included). */
  records: number;
  tombstones: number;
  multipart: number;
  /** Records whose body lives in a blob file. */
  blobs: number;
  /** Body bytes read and checksummed (inline and blob). */
  bytesChecked: number;
  readonly problems: FsckProblem[];
  readonly leftovers: FsckLeftover[];
}

/** Options of `checkStore`. */
export interface FsckOptions {
  /**
   * Fix what is derivable and safe on a stopped node: rewrite listing copies from their
   * records, drop stray ones, delete leftovers (no stage can resume after a restart, so an
   * unreferenced blob is garbage). Records with a bad body are left alone: a peer holds the
   * good copy, and deleting a record could bring back an older version.
   */
  readonly repair?: boolean;
}

/** Where body bytes come from for `verifyBody`. */
export interface BodySource {
  openBlob(id: string): Promise<StoreFile>;
}

/** The outcome of checking one record's body. */
export interface BodyCheck {
  /** Bytes read. */
  readonly bytes: number;
  readonly problem?: { readonly kind: FsckProblemKind; readonly detail: string };
}

const READ_BYTES = 1024 * 1024;

/**
 * Checks the body of one (already validated) record against everything the record says about
 * it: the one place that knows how a body is verified, so a new per-record checksum is checked
 * by extending this function alone.
 */
export async function verifyBody(stored: StoredValue, source: BodySource): Promise<BodyCheck> {
  const { record } = stored;
  if (record.storage === 'quarantined') return { bytes: 0, problem: { kind: 'quarantined', detail: 'this copy was found corrupt and quarantined; it is re-fetched from a replica when read' } };
  if (stored.blobId === undefined) {
    const inline = stored.inline ?? new Uint8Array(0);
    const want = storedSize(record);
    if (inline.byteLength !== want) return { bytes: 0, problem: { kind: 'inline-size', detail: `inline body is ${inline.byteLength} bytes, record says ${want}` } };
    const crc = crc32(inline);
    if (crc !== record.crc32) return { bytes: inline.byteLength, problem: { kind: 'inline-crc', detail: `inline body CRC32 ${hex(crc)}, record says ${hex(record.crc32)}` } };
    return { bytes: inline.byteLength };
  }
  let fh: StoreFile;
  try {
    fh = await source.openBlob(stored.blobId);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { bytes: 0, problem: { kind: 'missing-blob', detail: 'blob file not found' } };
    return { bytes: 0, problem: { kind: 'unreadable-blob', detail: `cannot open blob file: ${(err as Error).message}` } };
  }
  try {
    const { size } = await fh.stat();
    if (size !== record.size) return { bytes: 0, problem: { kind: 'blob-size', detail: `blob file is ${size} bytes, record says ${record.size}` } };
    // Reads go block by block when the body has block CRCs, so each block is checked on its own.
    const blocks = stored.blockCrcs;
    const buffer = Buffer.allocUnsafe(Math.min(blocks?.blockBytes ?? READ_BYTES, Math.max(1, size)));
    let crc = 0;
    let read = 0;
    let badBlock: number | undefined;
    while (read < size) {
      const { bytesRead } = await fh.read(buffer, 0, Math.min(buffer.length, size - read), read);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      crc = crc32(chunk, crc);
      if (blocks !== undefined && badBlock === undefined) {
        const index = Math.floor(read / blocks.blockBytes);
        // A short read within a block is finished by the next one; check only whole reads of a block.
        if (read % blocks.blockBytes === 0 && (bytesRead === blocks.blockBytes || read + bytesRead === size) && crc32(chunk) !== blocks.crcs[index]) badBlock = index;
      }
      read += bytesRead;
    }
    if (read !== size) return { bytes: read, problem: { kind: 'blob-size', detail: `blob file ended after ${read} of ${size} bytes` } };
    const where = badBlock === undefined ? '' : `; first bad 1 MiB block: ${badBlock}`;
    if (crc !== record.crc32) return { bytes: read, problem: { kind: 'blob-crc', detail: `blob file CRC32 ${hex(crc)}, record says ${hex(record.crc32)}${where}` } };
    if (badBlock !== undefined) return { bytes: read, problem: { kind: 'block-crc', detail: `block ${badBlock} (bytes ${badBlock * blocks!.blockBytes}…) differs from its block CRC` } };
    if (blocks !== undefined && blocks.crcs.length !== Math.ceil(size / blocks.blockBytes))
      return { bytes: read, problem: { kind: 'block-crc', detail: `${blocks.crcs.length} block CRCs for ${Math.ceil(size / blocks.blockBytes)} blocks` } };
    return { bytes: read };
  } catch (err) {
    return { bytes: 0, problem: { kind: 'unreadable-blob', detail: `cannot read blob file: ${(err as Error).message}` } };
  } finally {
    await fh.close();
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isSize = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isStringMap = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(isString);

/** What is wrong with a decoded record's fields, or undefined when they hold together. */
export function recordInvariant(stored: StoredValue): string | undefined {
  const r: ObjectRecord = stored.record;
  if (!isSize(r.version.hlc) || !isString(r.version.node) || r.version.node === '') return 'invalid version';
  if (!isSize(r.size)) return 'invalid size';
  if (!isString(r.etag) || !isString(r.contentType)) return 'invalid etag or content type';
  if (!isStringMap(r.userMeta) || (r.headers !== undefined && !isStringMap(r.headers)) || (r.checksums !== undefined && !isStringMap(r.checksums))) return 'invalid metadata maps';
  if (!Number.isInteger(r.crc32) || r.crc32 < 0 || r.crc32 > 0xffffffff) return 'invalid crc32';
  if (stored.blobId !== undefined && !isBlobId(stored.blobId)) return `malformed blob id ${JSON.stringify(stored.blobId)}`;
  if (r.tombstone && (r.size !== 0 || stored.blobId !== undefined || r.parts !== undefined)) return 'a tombstone with a body';
  if (r.parts !== undefined) {
    if (!Array.isArray(r.parts) || r.parts.length === 0) return 'invalid parts list';
    if (stored.blobId !== undefined) return 'a multipart manifest with a blob';
    let total = 0;
    for (const p of r.parts) {
      if (!isString(p.bucket) || !isString(p.key) || !isSize(p.size) || !isSize(p.version?.hlc) || !isString(p.version?.node)) return 'invalid part reference';
      total += p.size;
    }
    if (total !== r.size) return `parts add up to ${total} bytes, record says ${r.size}`;
  }
  return undefined;
}

/** Bucket and key of a DB key `<tag>\0<bucket>\0<key>`, or undefined when it is malformed. */
function splitKey(dbKey: Buffer): { bucket: string; key: string } | undefined {
  const sep = dbKey.indexOf(0, 2);
  if (sep < 3) return undefined;
  return { bucket: dbKey.toString('utf8', 2, sep), key: dbKey.toString('utf8', sep + 1) };
}

function listingBounds(): { gte: Buffer; lt: Buffer } {
  // The same shape as allObjectsBounds(), under the listing tag.
  const tag = bucketPrefix('', true)[0]!;
  return { gte: Buffer.from([tag, 0]), lt: Buffer.from([tag, 1]) };
}

type Entry = [Buffer, Buffer] | undefined;
type DbOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

async function openLocked(dir: string): Promise<ClassicLevel<Buffer, Buffer>> {
  const meta = join(dir, 'meta');
  const found = await stat(join(meta, 'CURRENT')).catch(() => undefined);
  if (found === undefined) throw new RingstoreError('InvalidArgument', `no ringstore store at ${dir} (no ${meta}/CURRENT)`, { dir });
  const db = new ClassicLevel<Buffer, Buffer>(meta, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  try {
    await db.open({ createIfMissing: false });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') throw new RingstoreError('InvalidArgument', `store ${dir} is locked: a node is running on it (stop it first)`, { dir });
    throw new RingstoreError('InvalidArgument', `cannot open ${meta}: ${cause?.message ?? (err as Error).message}`, { dir }, { cause: err });
  }
  return db;
}

/** Checks the store in `dir` (a node's dataDir); throws InvalidArgument when there is none or it is in use. */
export async function checkStore(dir: string, options: FsckOptions = {}): Promise<FsckReport> {
  const db = await openLocked(dir);
  // Only reads (list, open) are used; the random source would name new blobs, which fsck never writes.
  const blobs = new BlobDir(join(dir, 'blobs'), { fsync: true, directIo: false }, cryptoRandom);
  const report: FsckReport = { dir, records: 0, tombstones: 0, multipart: 0, blobs: 0, bytesChecked: 0, problems: [], leftovers: [] };
  const fixes: { op: DbOp; problem: FsckProblem }[] = [];
  try {
    const referenced = new Map<string, string>();
    const objects = db.iterator(allObjectsBounds());
    const listing = db.iterator(listingBounds());
    try {
      let o: Entry = await objects.next();
      let m: Entry = await listing.next();
      while (o !== undefined || m !== undefined) {
        // Both ranges hold the same `\0<bucket>\0<key>` suffixes, so they are walked in step.
        const order = o === undefined ? 1 : m === undefined ? -1 : Buffer.compare(o[0].subarray(1), m[0].subarray(1));
        if (order > 0) {
          const stray = m!;
          const name = splitKey(stray[0]);
          const problem: FsckProblem = { kind: 'listing-stray', ...name, detail: 'listing copy without a record' };
          report.problems.push(problem);
          fixes.push({ op: { type: 'del', key: stray[0] }, problem });
          m = await listing.next();
          continue;
        }
        await checkRecord(o!, order === 0 ? m![1] : undefined, report, referenced, blobs, fixes);
        o = await objects.next();
        if (order === 0) m = await listing.next();
      }
    } finally {
      await objects.close();
      await listing.close();
    }
    for await (const file of blobs.list()) {
      if (!file.temporary && referenced.has(file.id)) continue;
      const size = (await stat(file.path).catch(() => undefined))?.size;
      if (size === undefined) continue;
      report.leftovers.push({ kind: file.temporary ? 'temp-file' : 'orphan-blob', blobId: file.id, path: file.path, size });
    }
    if (options.repair === true) await repair(db, blobs, report, fixes);
  } finally {
    await db.close();
  }
  return report;
}

async function checkRecord(
  [dbKey, value]: [Buffer, Buffer],
  listed: Buffer | undefined,
  report: FsckReport,
  referenced: Map<string, string>,
  blobs: BlobDir,
  fixes: { op: DbOp; problem: FsckProblem }[],
): Promise<void> {
  report.records++;
  const name = splitKey(dbKey);
  if (name === undefined) {
    report.problems.push({ kind: 'bad-key', detail: `malformed record key ${dbKey.toString('hex')}` });
    return;
  }
  let stored: StoredValue;
  try {
    stored = decodeValue(name.bucket, name.key, value);
  } catch (err) {
    report.problems.push({ kind: 'bad-record', ...name, detail: `record does not decode: ${(err as Error).message}` });
    return;
  }
  const broken = recordInvariant(stored);
  if (broken !== undefined) {
    report.problems.push({ kind: 'bad-record', ...name, detail: broken });
    return;
  }
  const { record, blobId } = stored;
  if (record.tombstone) report.tombstones++;
  if (record.parts !== undefined) report.multipart++;

  const copy = encodeValue(record, blobId, undefined);
  if (listed === undefined) {
    const problem: FsckProblem = { kind: 'listing-missing', ...name, detail: 'record without its listing copy' };
    report.problems.push(problem);
    fixes.push({ op: { type: 'put', key: listingKey(name.bucket, name.key), value: copy }, problem });
  } else if (!listingAgrees(stored, name, listed)) {
    const problem: FsckProblem = { kind: 'listing-mismatch', ...name, detail: 'listing copy differs from the record' };
    report.problems.push(problem);
    fixes.push({ op: { type: 'put', key: listingKey(name.bucket, name.key), value: copy }, problem });
  }

  if (blobId !== undefined) {
    report.blobs++;
    const owner = referenced.get(blobId);
    if (owner !== undefined) {
      report.problems.push({ kind: 'blob-shared', ...name, blobId, detail: `blob file also referenced by ${owner}` });
      return;
    }
    referenced.set(blobId, `${name.bucket}/${name.key}`);
  }
  const check = await verifyBody(stored, { openBlob: (id) => blobs.open(id) });
  report.bytesChecked += check.bytes;
  if (check.problem !== undefined) report.problems.push({ ...check.problem, ...name, ...(blobId !== undefined && { blobId }) });
}

function listingAgrees(stored: StoredValue, name: { bucket: string; key: string }, listed: Buffer): boolean {
  try {
    const copy = decodeValue(name.bucket, name.key, listed);
    return copy.blobId === stored.blobId && (copy.inline?.byteLength ?? 0) === 0 && isDeepStrictEqual(copy.record, stored.record);
  } catch {
    return false;
  }
}

async function repair(db: ClassicLevel<Buffer, Buffer>, blobs: BlobDir, report: FsckReport, fixes: { op: DbOp; problem: FsckProblem }[]): Promise<void> {
  if (fixes.length > 0) {
    // Fixes change records behind the partition index: dropping its marker rebuilds it at the next open.
    await db.batch([...fixes.map((f) => f.op), { type: 'del', key: INDEX_MARKER_KEY }], { sync: true });
    for (const f of fixes) f.problem.repaired = true;
  }
  for (const leftover of report.leftovers) {
    await blobs.removeFile({ id: leftover.blobId, path: leftover.path, temporary: leftover.kind === 'temp-file', mtimeMs: 0 });
    leftover.removed = true;
  }
}
