/**
 * Blob files: `<root>/<xx>/<id>`, where id is random hex and xx its first two characters
 * (256 fan-out directories keep each directory small). A body is written to `<id>.tmp`,
 * fsynced, renamed and its directory fsynced, so a file under its final name is always complete.
 * Paths are built only from validated hex ids, never from object keys.
 */
import { constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32 } from '../util/crc.js';
import { RingstoreError, describeError } from '../util/errors.js';
import type { Random } from '../util/random.js';
import type { StagedBody } from './types.js';
import { AlignedSlabPool, DIRECT_ALIGN, alignUp } from './aligned-slabs.js';
import { BlockCrcBuilder, type BlockCrcs } from './block-crcs.js';
import { nodeFileSystem, type FileSystem, type StoreFile } from './file-system.js';

/** A blob just written: its id, size, whole CRC and per-block CRCs. */
export interface WrittenBlob extends StagedBody {
  readonly blockCrcs: BlockCrcs;
}

interface Filled {
  readonly size: number;
  readonly crc32: number;
  readonly blockCrcs: BlockCrcs;
}

const ID_BYTES = 16;
const ID_PATTERN = /^[0-9a-f]{32}$/;
const TMP_SUFFIX = '.tmp';
// Writes are batched to about this size; the next batch is hashed while the previous is written.
const WRITE_BATCH_BYTES = 1024 * 1024;
const WRITE_BATCH_CHUNKS = 256;
/** Dirty bytes after which a blob being written is flushed to disk. */
const SYNC_EVERY_BYTES = 4 * 1024 * 1024;
/** O_DIRECT slabs per store: a write holds two, so this many writes at once go direct, the rest buffered. */
const DIRECT_SLABS = 32;
const DIRECT_SLAB_BYTES = 1024 * 1024;
/** Size of the write that tells whether space is back after ENOSPC. */
const SPACE_PROBE_BYTES = 1024 * 1024;
/** Files at the root that only probe the device; names outside the blob-id space, so list() never sees them. */
const DIRECT_PROBE = `direct-probe${TMP_SUFFIX}`;
const SPACE_PROBE = `space-probe${TMP_SUFFIX}`;
const DIRECT_CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_DIRECT ?? 0);

/** One file found under the blob root. */
export interface BlobFile {
  readonly id: string;
  readonly path: string;
  /** A partial body from an interrupted write. */
  readonly temporary: boolean;
  readonly mtimeMs: number;
}

/** True when `id` has the shape of a blob id (anything else never reaches the file system). */
export function isBlobId(id: string): boolean {
  return ID_PATTERN.test(id);
}

async function writeAll(fh: StoreFile, chunks: Uint8Array[], total: number): Promise<void> {
  const { bytesWritten } = await fh.writev(chunks);
  if (bytesWritten === total) return;
  // Regular files rarely write short (disk full is reported as an error); finish the rest plainly.
  let rest = Buffer.concat(chunks).subarray(bytesWritten);
  while (rest.length > 0) {
    const { bytesWritten: n } = await fh.write(rest);
    rest = rest.subarray(n);
  }
}

/**
 * Iterates `source` but stops waiting as soon as `signal` aborts: a stalled upload must not
 * hold a stage (or close()) open until the client gives up.
 */
async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  if (signal === undefined) {
    yield* source;
    return;
  }
  signal.throwIfAborted();
  const iterator = source[Symbol.asyncIterator]();
  // Rejects the pending next() on abort; one settle function per step, so nothing piles up.
  let interrupt: ((reason: unknown) => void) | undefined;
  const onAbort = (): void => interrupt?.(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let done = false;
  try {
    for (;;) {
      signal.throwIfAborted();
      const next = await new Promise<IteratorResult<T>>((resolve, reject) => {
        interrupt = reject;
        iterator.next().then(resolve, reject);
      });
      interrupt = undefined;
      if (next.done === true) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Not awaited: a generator stuck in an await would make return() wait for it too.
    if (!done) iterator.return?.()?.catch(() => {});
  }
}

/**
 * Writes `length` bytes of an aligned slab at an aligned offset. A short direct write is how a
 * full disk shows up first (the kernel writes the blocks that fit), so the rest is written
 * again: that call fails with the real errno (ENOSPC), which the store reports as such.
 */
async function writeAligned(fh: StoreFile, slab: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(slab, done, length - done, position + done);
    if (bytesWritten === 0) throw new Error(`short O_DIRECT write: ${done} of ${length} bytes`);
    done += bytesWritten;
  }
}

/** How a BlobDir writes. */
export interface BlobDirOptions {
  /** fdatasync every blob and fsync its directory before a write resolves. */
  readonly fsync: boolean;
  /** Write with O_DIRECT when the file system allows it (only with fsync: without it the page cache is faster). */
  readonly directIo?: boolean;
  /** Where the files live; the real file system by default. */
  readonly fs?: FileSystem;
}

/** The blob directory of one store. */
export class BlobDir {
  readonly #root: string;
  readonly #fs: FileSystem;
  readonly #fsync: boolean;
  readonly #wantDirect: boolean;
  readonly #random: Random;
  readonly #slabs = new AlignedSlabPool(DIRECT_SLABS, DIRECT_SLAB_BYTES);
  #direct = false;
  #directRefusal: string | undefined;

  constructor(root: string, options: BlobDirOptions, random: Random) {
    this.#root = root;
    this.#fs = options.fs ?? nodeFileSystem;
    this.#fsync = options.fsync;
    this.#wantDirect = options.fsync && (options.directIo ?? true);
    this.#random = random;
  }

  /** Whether blobs are written with O_DIRECT; decided by init(). */
  get directIo(): boolean {
    return this.#direct;
  }

  /** Aligned buffers not held by a write right now (all of them when the directory is idle). */
  get directBuffersFree(): number {
    return this.#slabs.available;
  }

  /** Why O_DIRECT was wanted but is not used (the file system refused it), for the log. */
  get directIoRefusal(): string | undefined {
    return this.#directRefusal;
  }

  /** Creates the root and its fan-out directories, and finds out whether O_DIRECT works here. */
  async init(): Promise<void> {
    const created = await this.#fs.mkdirp(this.#root);
    const dirs: Promise<unknown>[] = [];
    for (let i = 0; i < 256; i++) dirs.push(this.#fs.mkdirp(join(this.#root, i.toString(16).padStart(2, '0'))));
    await Promise.all(dirs);
    // A crash (or a power cut that undid the unlink) can leave a probe behind: a leftover direct
    // probe would make the next O_EXCL open fail and switch O_DIRECT off for good.
    await Promise.all([DIRECT_PROBE, SPACE_PROBE].map((name) => this.#fs.remove(join(this.#root, name))));
    if (this.#fsync) {
      // The fan-out entries live in the root, the root's own entry (and those of any parents just
      // created) in the directory above: unsynced, a power cut can lose every blob at once.
      const chain = [this.#root];
      for (let dir = this.#root; created !== undefined && dir !== created && dirname(dir) !== dir;) chain.push((dir = dirname(dir)));
      for (const dir of chain) await this.#fs.syncDir(dir);
      // Synced on every start (an earlier one may have stopped first), but best effort: this
      // directory is not ours and need not be readable.
      await this.#fs.syncDir(dirname(chain[chain.length - 1]!)).catch(() => {});
    }
    if (this.#wantDirect) {
      this.#directRefusal = await this.#probeDirect();
      this.#direct = this.#directRefusal === undefined;
    }
  }

  /** Writes one aligned block with O_DIRECT; undefined when that works, else the reason it did not. */
  async #probeDirect(): Promise<string | undefined> {
    if (constants.O_DIRECT === undefined) return 'O_DIRECT is not available on this platform';
    const slab = this.#slabs.take();
    if (slab === undefined) return 'no aligned buffer';
    const probe = join(this.#root, DIRECT_PROBE);
    try {
      const fh = await this.#fs.open(probe, DIRECT_CREATE_FLAGS);
      try {
        await writeAligned(fh, slab, DIRECT_ALIGN, 0);
      } finally {
        await fh.close();
      }
      return undefined;
    } catch (err) {
      return describeError(err);
    } finally {
      this.#slabs.give(slab);
      await this.#fs.remove(probe);
    }
  }

  /** The final path of blob `id`; InvalidArgument for anything that is not a blob id. */
  pathOf(id: string): string {
    if (!isBlobId(id)) throw new RingstoreError('InvalidArgument', 'malformed blob id', { id });
    return join(this.#root, id.slice(0, 2), id);
  }

  /** Streams `body` into a new blob file, computing size, CRC32 and block CRCs on the way. */
  async write(body: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<WrittenBlob> {
    const id = this.#random.hex(ID_BYTES);
    const path = this.pathOf(id);
    const tmp = path + TMP_SUFFIX;
    // Every slab busy (many large writes at once): this one goes through the page cache.
    const slab = this.#direct ? this.#slabs.take() : undefined;
    let fh: StoreFile;
    try {
      fh = await this.#fs.open(tmp, slab ? DIRECT_CREATE_FLAGS : 'wx');
    } catch (err) {
      if (slab) this.#slabs.give(slab);
      throw err;
    }
    let written: Filled | undefined;
    try {
      written = slab ? await this.#fillDirect(fh, body, signal, slab) : await this.#fillBuffered(fh, body, signal);
    } finally {
      await fh.close();
      if (written === undefined) await this.#fs.remove(tmp);
    }
    try {
      await this.#fs.rename(tmp, path);
      if (this.#fsync) await this.#fs.syncDir(join(this.#root, id.slice(0, 2)));
    } catch (err) {
      await this.#fs.remove(tmp);
      await this.#fs.remove(path);
      throw err;
    }
    return { id, ...written };
  }

  /**
   * Copies the body into page-aligned slabs and writes them with O_DIRECT: the kernel then
   * moves the bytes straight to the device instead of copying them into the page cache, which
   * on this kind of VM costs 1–2 ms of CPU per MiB. One slab is written while the next fills.
   */
  async #fillDirect(fh: StoreFile, body: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined, first: Buffer): Promise<Filled> {
    const spare = this.#slabs.take();
    const slabs = spare ? [first, spare] : [first];
    let slab = first;
    let fill = 0;
    let offset = 0;
    let size = 0;
    let crc = 0;
    const blocks = new BlockCrcBuilder();
    let inFlight: Promise<void> | undefined;
    try {
      for await (const chunk of abortable(body, signal)) {
        crc = crc32(chunk, crc);
        blocks.update(chunk);
        size += chunk.byteLength;
        for (let from = 0; from < chunk.byteLength;) {
          const n = Math.min(slab.length - fill, chunk.byteLength - from);
          slab.set(chunk.subarray(from, from + n), fill);
          fill += n;
          from += n;
          if (fill < slab.length) continue;
          // The slab written before this one must be done before its turn to fill comes again.
          await inFlight;
          inFlight = writeAligned(fh, slab, slab.length, offset);
          inFlight.catch(() => {});
          offset += slab.length;
          fill = 0;
          if (slabs.length === 1) await inFlight;
          else slab = slab === slabs[0] ? slabs[1]! : slabs[0]!;
        }
      }
      signal?.throwIfAborted();
      await inFlight;
      if (fill > 0) {
        const padded = alignUp(fill);
        slab.fill(0, fill, padded);
        await writeAligned(fh, slab, padded, offset);
        await fh.truncate(size);
      }
      await fh.datasync();
      return { size, crc32: crc, blockCrcs: blocks.finish() };
    } finally {
      // A slab goes back only once no write is reading from it.
      if (inFlight !== undefined) await inFlight.catch(() => {});
      for (const s of slabs) this.#slabs.give(s);
    }
  }

  async #fillBuffered(fh: StoreFile, body: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): Promise<Filled> {
    let size = 0;
    let crc = 0;
    const blocks = new BlockCrcBuilder();
    let pending: Promise<void> | undefined;
    let unsynced = 0;
    let flushing: Promise<void> | undefined;
    try {
      let batch: Uint8Array[] = [];
      let batchBytes = 0;
      for await (const chunk of abortable(body, signal)) {
        if (chunk.byteLength === 0) continue;
        crc = crc32(chunk, crc);
        blocks.update(chunk);
        size += chunk.byteLength;
        batch.push(chunk);
        batchBytes += chunk.byteLength;
        if (batchBytes >= WRITE_BATCH_BYTES || batch.length >= WRITE_BATCH_CHUNKS) {
          await pending;
          pending = writeAll(fh, batch, batchBytes);
          unsynced += batchBytes;
          // Flush in the background as we go: the disk then works while the body arrives, and
          // the final fdatasync has little left to do. Writes go on while a flush runs, and no
          // second flush starts until it is done.
          if (this.#fsync && unsynced >= SYNC_EVERY_BYTES && flushing === undefined) {
            unsynced = 0;
            const written = pending;
            flushing = written
              .then(() => fh.datasync())
              .finally(() => {
                flushing = undefined;
              });
            flushing.catch(() => {});
          }
          // Observed later by `await pending`; this only keeps it from counting as unhandled meanwhile.
          pending.catch(() => {});
          batch = [];
          batchBytes = 0;
        }
      }
      signal?.throwIfAborted();
      await pending;
      pending = undefined;
      if (batch.length > 0) await writeAll(fh, batch, batchBytes);
      await flushing;
      if (this.#fsync) await fh.datasync();
      return { size, crc32: crc, blockCrcs: blocks.finish() };
    } finally {
      if (pending !== undefined) await pending.catch(() => {});
      if (flushing !== undefined) await flushing.catch(() => {});
    }
  }

  /** Writes a body already in memory as a new blob file. */
  async writeBuffer(data: Uint8Array): Promise<WrittenBlob> {
    return this.write(
      (async function* () {
        yield data;
      })(),
    );
  }

  /** Opens blob `id` for reading. */
  async open(id: string): Promise<StoreFile> {
    return this.#fs.open(this.pathOf(id), 'r');
  }

  /** Reads a whole (small) blob into memory. */
  async readAll(id: string): Promise<Buffer> {
    const fh = await this.open(id);
    try {
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  /**
   * Writes and deletes a 1 MiB file at the root: resolves when the device has room for a write
   * again (after ENOSPC), rejects while it does not. Never leaves the file behind.
   */
  async probeWrite(): Promise<void> {
    const probe = join(this.#root, SPACE_PROBE);
    try {
      const fh = await this.#fs.open(probe, 'w');
      try {
        await fh.write(Buffer.alloc(SPACE_PROBE_BYTES));
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } finally {
      await this.#fs.remove(probe);
    }
  }

  /** Deletes blob `id` (and any partial temp file of it); missing files are fine. */
  async remove(id: string): Promise<void> {
    await this.#fs.remove(this.pathOf(id));
  }

  /**
   * Moves blob `id` out of the way into `quarantineDir` (kept as evidence, never deleted here).
   * Resolves false when the file is already gone.
   */
  async quarantine(id: string, quarantineDir: string): Promise<boolean> {
    await this.#fs.mkdirp(quarantineDir);
    try {
      await this.#fs.rename(this.pathOf(id), join(quarantineDir, id));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Deletes a file returned by `list()`. */
  async removeFile(file: BlobFile): Promise<void> {
    await this.#fs.remove(file.path);
  }

  /** Every blob and temp file on disk; names that are not blob ids are skipped, never touched. */
  async *list(): AsyncGenerator<BlobFile> {
    for (let i = 0; i < 256; i++) {
      const dir = join(this.#root, i.toString(16).padStart(2, '0'));
      let names: string[];
      try {
        names = await this.#fs.readdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      for (const name of names) {
        const temporary = name.endsWith(TMP_SUFFIX);
        const id = temporary ? name.slice(0, -TMP_SUFFIX.length) : name;
        if (!isBlobId(id)) continue;
        const path = join(dir, name);
        try {
          const st = await this.#fs.stat(path);
          yield { id, path, temporary, mtimeMs: st.mtimeMs };
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
    }
  }
}
