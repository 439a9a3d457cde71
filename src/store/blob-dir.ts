/**
 * Blob files: `<root>/<xx>/<id>`, where id is random hex and xx its first two characters
 * (256 fan-out directories keep each directory small). A body is written to `<id>.tmp`,
 * fsynced, renamed and its directory fsynced, so a file under its final name is always complete.
 * Paths are built only from validated hex ids, never from object keys.
 */
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { RingstoreError } from '../util/errors.js';
import type { Random } from '../util/random.js';
import type { StagedBody } from './types.js';

const ID_BYTES = 16;
const ID_PATTERN = /^[0-9a-f]{32}$/;
const TMP_SUFFIX = '.tmp';
// Writes are batched to about this size; the next batch is hashed while the previous is written.
const WRITE_BATCH_BYTES = 1024 * 1024;
const WRITE_BATCH_CHUNKS = 256;
/** Dirty bytes after which a blob being written is flushed to disk. */
const SYNC_EVERY_BYTES = 4 * 1024 * 1024;

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

async function writeAll(fh: FileHandle, chunks: Uint8Array[], total: number): Promise<void> {
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

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The blob directory of one store. */
export class BlobDir {
  readonly #root: string;
  readonly #fsync: boolean;
  readonly #random: Random;

  constructor(root: string, fsync: boolean, random: Random) {
    this.#root = root;
    this.#fsync = fsync;
    this.#random = random;
  }

  /** Creates the root and its fan-out directories. */
  async init(): Promise<void> {
    await mkdir(this.#root, { recursive: true });
    const dirs: Promise<unknown>[] = [];
    for (let i = 0; i < 256; i++) dirs.push(mkdir(join(this.#root, i.toString(16).padStart(2, '0')), { recursive: true }));
    await Promise.all(dirs);
    if (this.#fsync) await syncDir(this.#root);
  }

  /** The final path of blob `id`; InvalidArgument for anything that is not a blob id. */
  pathOf(id: string): string {
    if (!isBlobId(id)) throw new RingstoreError('InvalidArgument', 'malformed blob id', { id });
    return join(this.#root, id.slice(0, 2), id);
  }

  /** Streams `body` into a new blob file, computing size and CRC32 on the way. */
  async write(body: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<StagedBody> {
    const id = this.#random.hex(ID_BYTES);
    const path = this.pathOf(id);
    const tmp = path + TMP_SUFFIX;
    const fh = await open(tmp, 'wx');
    let size = 0;
    let crc = 0;
    let complete = false;
    let pending: Promise<void> | undefined;
    let unsynced = 0;
    let flushing: Promise<void> | undefined;
    try {
      let batch: Uint8Array[] = [];
      let batchBytes = 0;
      for await (const chunk of abortable(body, signal)) {
        if (chunk.byteLength === 0) continue;
        crc = crc32(chunk, crc);
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
            flushing = written.then(() => fh.datasync()).finally(() => {
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
      complete = true;
    } finally {
      if (pending !== undefined) await pending.catch(() => {});
      if (flushing !== undefined) await flushing.catch(() => {});
      await fh.close();
      if (!complete) await rm(tmp, { force: true });
    }
    try {
      await rename(tmp, path);
      if (this.#fsync) await syncDir(join(this.#root, id.slice(0, 2)));
    } catch (err) {
      await rm(tmp, { force: true });
      await rm(path, { force: true });
      throw err;
    }
    return { id, size, crc32: crc };
  }

  /** Writes a body already in memory as a new blob file. */
  async writeBuffer(data: Uint8Array): Promise<StagedBody> {
    return this.write(
      (async function* () {
        yield data;
      })(),
    );
  }

  /** Opens blob `id` for reading. */
  async open(id: string): Promise<FileHandle> {
    return open(this.pathOf(id), 'r');
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

  /** Deletes blob `id` (and any partial temp file of it); missing files are fine. */
  async remove(id: string): Promise<void> {
    const path = this.pathOf(id);
    await rm(path, { force: true });
  }

  /** Deletes a file returned by `list()`. */
  async removeFile(file: BlobFile): Promise<void> {
    await rm(file.path, { force: true });
  }

  /** Every blob and temp file on disk; names that are not blob ids are skipped, never touched. */
  async *list(): AsyncGenerator<BlobFile> {
    for (let i = 0; i < 256; i++) {
      const dir = join(this.#root, i.toString(16).padStart(2, '0'));
      let names: string[];
      try {
        names = await readdir(dir);
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
          const st = await stat(path);
          yield { id, path, temporary, mtimeMs: st.mtimeMs };
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
    }
  }
}
