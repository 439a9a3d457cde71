/**
 * A simulated disk for the store's FileSystem seam that keeps what was written apart from what is
 * durable, and forgets the difference at a power cut. Modelled conservatively on ext4
 * data=ordered, i.e. on what POSIX promises rather than on what ext4 usually does:
 *
 * - File data written since the file's last fsync/fdatasync can be lost: all of it, or the
 *   writes after some point (the last one torn), or the data while the size survives (zeros).
 * - A directory entry created, renamed or removed since the last fsync of *that* directory can
 *   be lost. Such changes reach the disk in the order they were made (the journal commits in
 *   order) and a rename is atomic, so a cut keeps some prefix of them.
 * - An fsync of a file does not make its directory entry durable, nor does fsync of a directory
 *   make the data of the files in it durable.
 *
 * `failAfter(n)` makes the disk die after n more operations (everything after fails with EIO),
 * which lands the cut in the middle of a write; `powerCut()` returns the disk as the next boot
 * finds it. Operations complete after one microtask, in call order, so concurrent writers
 * interleave deterministically.
 */
import { constants } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { FileStat, FileSystem, StoreFile } from '../../src/store/file-system.js';

/** Logical block size: O_DIRECT offsets and lengths must be multiples of it. */
export const SIM_DIRECT_ALIGN = 512;

type PendingWrite = { readonly kind: 'write'; readonly position: number; readonly bytes: Buffer } | { readonly kind: 'truncate'; readonly length: number };

/** A file or directory; exported as a type only, for SimDisk's constructor. */
export class Inode {
  readonly ino: number;
  readonly kind: 'file' | 'dir';
  /** Contents as written (files). */
  data: Buffer = Buffer.alloc(0);
  /** Contents as of the last fsync/fdatasync (files). */
  durable: Buffer = Buffer.alloc(0);
  /** Data changes since then, in order. */
  pending: PendingWrite[] = [];
  /** Entries as they are now (directories). */
  entries = new Map<string, Inode>();
  /** Entries as of the last fsync of this directory. */
  durableEntries = new Map<string, Inode>();
  mtimeMs: number;

  constructor(ino: number, kind: 'file' | 'dir', mtimeMs: number) {
    this.ino = ino;
    this.kind = kind;
    this.mtimeMs = mtimeMs;
  }
}

/** One directory-entry change not yet durable in `dir`. */
interface EntryChange {
  readonly dir: Inode;
  readonly name: string;
  /** undefined: the entry is removed. */
  readonly target: Inode | undefined;
}

/** A metadata operation (create, rename, unlink, mkdir): its changes reach the disk together. */
interface MetaOp {
  changes: EntryChange[];
}

/** How a power cut treats what was not durable. */
export type CutMode =
  /** Everything not durable is lost. */
  | 'strict'
  /** Each file keeps a random prefix of its unsynced writes (or just its new size), the namespace a random prefix of its unsynced changes. */
  | 'random';

/** Options of a SimDisk. */
export interface SimDiskOptions {
  /** Whether O_DIRECT opens are accepted (false: EINVAL, as on tmpfs). Default true. */
  readonly directIo?: boolean;
  /** Clock for mtimes; Date.now by default. */
  readonly now?: () => number;
}

function fsError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: simulated disk, ${syscall} '${path}'`);
  err.code = code;
  err.syscall = syscall;
  err.path = path;
  return err;
}

function decodeFlags(flags: string | number): { read: boolean; write: boolean; create: boolean; exclusive: boolean; truncate: boolean; direct: boolean } {
  if (typeof flags === 'number') {
    const access = flags & 3;
    return {
      read: access === constants.O_RDONLY || access === constants.O_RDWR,
      write: access === constants.O_WRONLY || access === constants.O_RDWR,
      create: (flags & constants.O_CREAT) !== 0,
      exclusive: (flags & constants.O_EXCL) !== 0,
      truncate: (flags & constants.O_TRUNC) !== 0,
      direct: constants.O_DIRECT !== undefined && (flags & constants.O_DIRECT) !== 0,
    };
  }
  switch (flags) {
    case 'r':
      return { read: true, write: false, create: false, exclusive: false, truncate: false, direct: false };
    case 'w':
      return { read: false, write: true, create: true, exclusive: false, truncate: true, direct: false };
    case 'wx':
      return { read: false, write: true, create: true, exclusive: true, truncate: true, direct: false };
    default:
      throw new Error(`sim disk: open flags ${flags} not modelled`);
  }
}

function applyWrite(data: Buffer, w: PendingWrite): Buffer {
  if (w.kind === 'truncate') {
    if (w.length <= data.length) return Buffer.from(data.subarray(0, w.length));
    return Buffer.concat([data, Buffer.alloc(w.length - data.length)]);
  }
  const end = w.position + w.bytes.length;
  const out = end > data.length ? Buffer.concat([data, Buffer.alloc(end - data.length)]) : Buffer.from(data);
  w.bytes.copy(out, w.position);
  return out;
}

/** An in-memory disk implementing the store's FileSystem, with durable and volatile state kept apart. */
export class SimDisk implements FileSystem {
  readonly #root: Inode;
  readonly #now: () => number;
  readonly #directIo: boolean;
  #nextIno: number;
  /** Metadata operations with changes not yet durable, oldest first. */
  #journal: MetaOp[] = [];
  readonly #options: SimDiskOptions;
  #opsLeft = Infinity;
  #dead = false;
  #ops = 0;

  /** An empty disk (`boot` is how powerCut hands the surviving state to the next boot). */
  constructor(options: SimDiskOptions = {}, boot?: { readonly root: Inode; readonly nextIno: number }) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#directIo = options.directIo ?? true;
    this.#root = boot?.root ?? new Inode(1, 'dir', this.#now());
    this.#nextIno = boot?.nextIno ?? 2;
  }

  /** Operations performed so far (successful or failed). */
  get operations(): number {
    return this.#ops;
  }

  /** True once the disk lost power (or died after `failAfter`): every operation fails with EIO. */
  get dead(): boolean {
    return this.#dead;
  }

  /** Lets `n` more operations succeed, then the disk dies: that is the moment of the power cut. */
  failAfter(n: number): void {
    this.#opsLeft = n;
    if (n <= 0) this.#dead = true;
  }

  /**
   * Cuts the power (if the disk did not die already) and returns the disk as the next boot
   * finds it. This disk stays dead: handles opened on it fail forever.
   */
  powerCut(mode: CutMode = 'strict', random: () => number = Math.random): SimDisk {
    this.#dead = true;
    const pick = (n: number): number => Math.min(n, Math.floor(random() * (n + 1)));
    // Directory entries: the durable ones, plus the unsynced changes of a prefix of the journal.
    const entries = new Map<Inode, Map<string, Inode>>();
    const entriesOf = (dir: Inode): Map<string, Inode> => {
      let e = entries.get(dir);
      if (e === undefined) entries.set(dir, (e = new Map(dir.durableEntries)));
      return e;
    };
    const keep = mode === 'strict' ? 0 : pick(this.#journal.length);
    for (const op of this.#journal.slice(0, keep)) {
      for (const c of op.changes) {
        if (c.target === undefined) entriesOf(c.dir).delete(c.name);
        else entriesOf(c.dir).set(c.name, c.target);
      }
    }
    const copies = new Map<Inode, Inode>();
    let maxIno = 1;
    const survive = (node: Inode): Inode => {
      const known = copies.get(node);
      if (known !== undefined) return known;
      const copy = new Inode(node.ino, node.kind, node.mtimeMs);
      maxIno = Math.max(maxIno, node.ino);
      copies.set(node, copy);
      if (node.kind === 'file') {
        copy.data = this.#survivingData(node, mode, random, pick);
        copy.durable = Buffer.from(copy.data);
      } else {
        for (const [name, child] of entriesOf(node)) copy.entries.set(name, survive(child));
        copy.durableEntries = new Map(copy.entries);
      }
      return copy;
    };
    const root = survive(this.#root);
    return new SimDisk(this.#options, { root, nextIno: Math.max(this.#nextIno, maxIno + 1) });
  }

  #survivingData(node: Inode, mode: CutMode, random: () => number, pick: (n: number) => number): Buffer {
    if (mode === 'strict' || node.pending.length === 0) return Buffer.from(node.durable);
    const choice = random();
    if (choice < 0.2) {
      // The new size reached the disk, the data did not (delayed allocation).
      const size = node.data.length;
      return size <= node.durable.length ? Buffer.from(node.durable.subarray(0, size)) : Buffer.concat([node.durable, Buffer.alloc(size - node.durable.length)]);
    }
    let data: Buffer = Buffer.from(node.durable);
    const n = pick(node.pending.length);
    for (const w of node.pending.slice(0, n)) data = applyWrite(data, w);
    const torn = node.pending[n];
    if (torn !== undefined && torn.kind === 'write' && random() < 0.5) {
      data = applyWrite(data, { kind: 'write', position: torn.position, bytes: torn.bytes.subarray(0, pick(torn.bytes.length)) });
    }
    return data;
  }

  /** The contents of a file as written (not necessarily durable), or undefined when there is none; for tests. */
  contents(path: string): Buffer | undefined {
    const node = this.#lookup(path);
    return node?.kind === 'file' ? Buffer.from(node.data) : undefined;
  }

  /** Paths of every file under `dir` (as written), sorted; for tests. */
  files(dir = '/'): string[] {
    const out: string[] = [];
    const walk = (node: Inode, path: string): void => {
      for (const [name, child] of node.entries) {
        const p = path === '/' ? `/${name}` : `${path}/${name}`;
        if (child.kind === 'dir') walk(child, p);
        else out.push(p);
      }
    };
    const start = this.#lookup(dir);
    if (start?.kind === 'dir') walk(start, dir);
    return out.sort();
  }

  /** Files whose data, or whose directory entry somewhere, is not durable yet; for tests. */
  get unsyncedChanges(): number {
    let files = 0;
    const walk = (node: Inode): void => {
      for (const child of node.entries.values()) {
        if (child.kind === 'dir') walk(child);
        else if (child.pending.length > 0) files++;
      }
    };
    walk(this.#root);
    return files + this.#journal.length;
  }

  // ---- FileSystem ----

  async open(path: string, flags: string | number): Promise<StoreFile> {
    await this.#step('open', path);
    const f = decodeFlags(flags);
    if (f.direct && !this.#directIo) throw fsError('EINVAL', 'open', path);
    const { parent, name } = this.#parentOf(path, 'open');
    let node = parent.entries.get(name);
    if (node !== undefined && f.create && f.exclusive) throw fsError('EEXIST', 'open', path);
    if (node === undefined) {
      if (!f.create) throw fsError('ENOENT', 'open', path);
      node = new Inode(this.#nextIno++, 'file', this.#now());
      this.#change([{ dir: parent, name, target: node }]);
    } else if (node.kind === 'dir' && f.write) {
      throw fsError('EISDIR', 'open', path);
    } else if (f.truncate && node.data.length > 0) {
      this.#writeData(node, { kind: 'truncate', length: 0 });
    }
    return new SimFile(this, node, path, f.read, f.write, f.direct);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.#step('rename', from);
    const src = this.#parentOf(from, 'rename');
    const node = src.parent.entries.get(src.name);
    if (node === undefined) throw fsError('ENOENT', 'rename', from);
    const dst = this.#parentOf(to, 'rename');
    if (dst.parent === src.parent && dst.name === src.name) return;
    const replaced = dst.parent.entries.get(dst.name);
    if (replaced?.kind === 'dir' || (replaced !== undefined && node.kind === 'dir')) throw fsError('EISDIR', 'rename', to);
    this.#change([
      { dir: src.parent, name: src.name, target: undefined },
      { dir: dst.parent, name: dst.name, target: node },
    ]);
  }

  async remove(path: string): Promise<void> {
    await this.#step('rm', path);
    const found = this.#parentOrUndefined(path);
    if (found === undefined) return;
    const node = found.parent.entries.get(found.name);
    if (node === undefined) return;
    if (node.kind === 'dir') throw fsError('EISDIR', 'rm', path);
    this.#change([{ dir: found.parent, name: found.name, target: undefined }]);
  }

  async mkdirp(path: string): Promise<string | undefined> {
    await this.#step('mkdir', path);
    let first: string | undefined;
    let node = this.#root;
    let at = '';
    for (const name of path.split('/').filter((s) => s !== '')) {
      at += `/${name}`;
      let child = node.entries.get(name);
      if (child === undefined) {
        child = new Inode(this.#nextIno++, 'dir', this.#now());
        this.#change([{ dir: node, name, target: child }]);
        first ??= at;
      } else if (child.kind !== 'dir') {
        throw fsError('ENOTDIR', 'mkdir', path);
      }
      node = child;
    }
    return first;
  }

  async readdir(path: string): Promise<string[]> {
    await this.#step('scandir', path);
    const node = this.#lookup(path);
    if (node === undefined) throw fsError('ENOENT', 'scandir', path);
    if (node.kind !== 'dir') throw fsError('ENOTDIR', 'scandir', path);
    return [...node.entries.keys()];
  }

  async stat(path: string): Promise<FileStat> {
    await this.#step('stat', path);
    const node = this.#lookup(path);
    if (node === undefined) throw fsError('ENOENT', 'stat', path);
    return { size: node.data.length, mtimeMs: node.mtimeMs };
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const fh = await this.open(path, 'w');
    try {
      await fh.write(data);
    } finally {
      await fh.close();
    }
  }

  async syncDir(path: string): Promise<void> {
    await this.#step('fsync', path);
    const dir = this.#lookup(path);
    if (dir === undefined) throw fsError('ENOENT', 'open', path);
    if (dir.kind !== 'dir') throw fsError('ENOTDIR', 'fsync', path);
    dir.durableEntries = new Map(dir.entries);
    for (const op of this.#journal) op.changes = op.changes.filter((c) => c.dir !== dir);
    this.#journal = this.#journal.filter((op) => op.changes.length > 0);
  }

  // ---- internals shared with SimFile ----

  /** Counts an operation; fails it (and every later one) once the disk is dead. */
  async step(syscall: string, path: string): Promise<void> {
    await this.#step(syscall, path);
  }

  async #step(syscall: string, path: string): Promise<void> {
    this.#ops++;
    if (!this.#dead && this.#opsLeft-- <= 0) this.#dead = true;
    await null;
    if (this.#dead) throw fsError('EIO', syscall, path);
  }

  /** Records a data change of `node` (not durable until it is synced). */
  writeData(node: Inode, w: PendingWrite): void {
    this.#writeData(node, w);
  }

  #writeData(node: Inode, w: PendingWrite): void {
    node.data = applyWrite(node.data, w);
    node.pending.push(w);
    node.mtimeMs = this.#now();
  }

  syncData(node: Inode): void {
    node.durable = Buffer.from(node.data);
    node.pending = [];
  }

  #change(changes: EntryChange[]): void {
    for (const c of changes) {
      if (c.target === undefined) c.dir.entries.delete(c.name);
      else c.dir.entries.set(c.name, c.target);
      c.dir.mtimeMs = this.#now();
    }
    this.#journal.push({ changes });
  }

  #lookup(path: string): Inode | undefined {
    let node: Inode | undefined = this.#root;
    for (const name of path.split('/').filter((s) => s !== '')) {
      if (node?.kind !== 'dir') return undefined;
      node = node.entries.get(name);
    }
    return node;
  }

  #parentOrUndefined(path: string): { parent: Inode; name: string } | undefined {
    const parent = this.#lookup(dirname(path));
    if (parent?.kind !== 'dir') return undefined;
    return { parent, name: basename(path) };
  }

  #parentOf(path: string, syscall: string): { parent: Inode; name: string } {
    const found = this.#parentOrUndefined(path);
    if (found === undefined) throw fsError('ENOENT', syscall, path);
    return found;
  }
}

/** An open file of a SimDisk. */
class SimFile implements StoreFile {
  readonly #disk: SimDisk;
  readonly #node: Inode;
  readonly #path: string;
  readonly #readable: boolean;
  readonly #writable: boolean;
  readonly #direct: boolean;
  #position = 0;
  #closed = false;

  constructor(disk: SimDisk, node: Inode, path: string, readable: boolean, writable: boolean, direct: boolean) {
    this.#disk = disk;
    this.#node = node;
    this.#path = path;
    this.#readable = readable;
    this.#writable = writable;
    this.#direct = direct;
  }

  async #step(syscall: string): Promise<void> {
    if (this.#closed) throw fsError('EBADF', syscall, this.#path);
    await this.#disk.step(syscall, this.#path);
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    await this.#step('read');
    if (!this.#readable) throw fsError('EBADF', 'read', this.#path);
    const data = this.#node.data;
    const n = Math.max(0, Math.min(length, data.length - position));
    if (n > 0) data.copy(buffer, offset, position, position + n);
    return { bytesRead: n };
  }

  async write(buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset, position?: number): Promise<{ bytesWritten: number }> {
    await this.#step('write');
    if (!this.#writable) throw fsError('EBADF', 'write', this.#path);
    const at = position ?? this.#position;
    if (this.#direct && (at % SIM_DIRECT_ALIGN !== 0 || length % SIM_DIRECT_ALIGN !== 0)) throw fsError('EINVAL', 'write', this.#path);
    this.#disk.writeData(this.#node, { kind: 'write', position: at, bytes: Buffer.from(buffer.subarray(offset, offset + length)) });
    if (position === undefined) this.#position += length;
    return { bytesWritten: length };
  }

  async writev(buffers: readonly Uint8Array[]): Promise<{ bytesWritten: number }> {
    await this.#step('writev');
    if (!this.#writable) throw fsError('EBADF', 'writev', this.#path);
    const bytes = Buffer.concat(buffers);
    if (this.#direct && (this.#position % SIM_DIRECT_ALIGN !== 0 || bytes.length % SIM_DIRECT_ALIGN !== 0)) throw fsError('EINVAL', 'writev', this.#path);
    this.#disk.writeData(this.#node, { kind: 'write', position: this.#position, bytes });
    this.#position += bytes.length;
    return { bytesWritten: bytes.length };
  }

  async truncate(length: number): Promise<void> {
    await this.#step('ftruncate');
    if (!this.#writable) throw fsError('EINVAL', 'ftruncate', this.#path);
    this.#disk.writeData(this.#node, { kind: 'truncate', length });
  }

  async datasync(): Promise<void> {
    await this.#step('fdatasync');
    this.#disk.syncData(this.#node);
  }

  async sync(): Promise<void> {
    await this.#step('fsync');
    this.#disk.syncData(this.#node);
  }

  async stat(): Promise<FileStat> {
    await this.#step('fstat');
    return { size: this.#node.data.length, mtimeMs: this.#node.mtimeMs };
  }

  async readFile(): Promise<Buffer> {
    await this.#step('read');
    if (!this.#readable) throw fsError('EBADF', 'read', this.#path);
    const out = Buffer.from(this.#node.data.subarray(this.#position));
    this.#position = this.#node.data.length;
    return out;
  }

  async close(): Promise<void> {
    if (this.#closed) throw fsError('EBADF', 'close', this.#path);
    this.#closed = true;
    // A close on a dead disk fails too (and counts), but the handle is gone either way.
    await this.#disk.step('close', this.#path);
  }
}
