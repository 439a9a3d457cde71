/**
 * The file operations the store's blob files need, behind one seam: the real ones over
 * node:fs/promises by default, a simulated disk in tests (test/helpers/sim-disk.ts) that can lose
 * whatever was not made durable, as a power cut does. `kill -9` keeps the page cache, so only a
 * disk that forgets unsynced data can show that a write was acknowledged before it was durable.
 */
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';

/** What the store reads of a file's status. */
export interface FileStat {
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * An open file. A subset of node's FileHandle (which satisfies it as is), so the real file
 * system hands out its handles unwrapped and the hot path pays nothing for the seam.
 */
export interface StoreFile {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  /** Writes at `position`, or at the file position (advancing it) when omitted. */
  write(buffer: Uint8Array, offset?: number, length?: number, position?: number): Promise<{ bytesWritten: number }>;
  /** Writes the chunks in order at the file position (advancing it). */
  writev(buffers: readonly Uint8Array[]): Promise<{ bytesWritten: number }>;
  truncate(length: number): Promise<void>;
  /** fdatasync: the file's data (and the size needed to read it back) is durable. */
  datasync(): Promise<void>;
  /** fsync: data and all of the file's metadata are durable. */
  sync(): Promise<void>;
  stat(): Promise<FileStat>;
  readFile(): Promise<Buffer>;
  close(): Promise<void>;
}

/** The file system under a store's blob directory. Paths are absolute. */
export interface FileSystem {
  /** Opens a file; `flags` as for node's `open` ('r', 'w', 'wx' or an `O_*` bit mask). */
  open(path: string, flags: string | number): Promise<StoreFile>;
  rename(from: string, to: string): Promise<void>;
  /** Deletes a file; one that is missing already is fine. */
  remove(path: string): Promise<void>;
  /** Creates a directory and any missing parents; resolves the first directory created, if any. */
  mkdirp(path: string): Promise<string | undefined>;
  readdir(path: string): Promise<string[]>;
  stat(path: string): Promise<FileStat>;
  /** Creates or replaces a small file (not synced). */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /** fsyncs a directory: the entries created, renamed or removed in it so far are durable. */
  syncDir(path: string): Promise<void>;
}

/** The real file system (node:fs/promises). */
export const nodeFileSystem: FileSystem = {
  open: (path, flags) => open(path, flags),
  rename: (from, to) => rename(from, to),
  remove: (path) => rm(path, { force: true }),
  mkdirp: (path) => mkdir(path, { recursive: true }),
  readdir: (path) => readdir(path),
  stat: (path) => stat(path),
  writeFile: (path, data) => writeFile(path, data),
  async syncDir(path) {
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
};
