/**
 * Replica faults for in-process tests of the replication core: a `ReplicaApi` wrapper that a test
 * can make fail, pause or hold at each call (and that logs what it was asked and what it answered),
 * and a coordinator over three such replicas (n1..n3, memory stores, N=3 so every key lives on all
 * three) built without a node, transport or timers of its own.
 */
import { Readable } from 'node:stream';
import { Membership } from '../../src/cluster/membership.js';
import { Coordinator } from '../../src/replication/coordinator.js';
import { Multipart } from '../../src/model/multipart.js';
import { createHasher } from '../../src/ring/hasher.js';
import type { Metrics } from '../../src/metrics/definitions.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { ByteRange, CommitBody, CommitResult, HeadOptions, HeadResult, ListOptions, LocalStore, ObjectMeta, ObjectRecord, ReplicaApi, StagedBody } from '../../src/store/types.js';
import { HybridClock, type Version } from '../../src/util/clock.js';
import { RingstoreError } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/logger.js';
import type { Random } from '../../src/util/random.js';
import { xorshift32 } from './data.js';

/** A promise with its resolve and reject at hand. */
export interface Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** How a replica's stage misbehaves. */
export type StageFault =
  /** Throws once more than `bytes` bytes of the body have arrived (the replica died mid-stream). */
  | { readonly kind: 'fail-after'; readonly bytes: number }
  /** Reads the whole body, then fails (e.g. its fsync failed). */
  | { readonly kind: 'fail-at-end' }
  /** Stages only the first chunk and answers at once, without reading the rest (a replica that acks too early). */
  | { readonly kind: 'early' }
  /** Does not read its body until `until` settles (a replica that does not drain); rejects then if `reject` is set. */
  | { readonly kind: 'pause'; readonly until: Promise<void>; readonly reject?: boolean };

/** An injected replica failure. */
export function injected(what: string): RingstoreError {
  return new RingstoreError('PeerUnavailable', `injected: ${what}`);
}

/** A replica whose calls a test can fail, hold or pause; every outcome is logged in order. */
export class FaultyReplica implements ReplicaApi {
  readonly id: string;
  readonly inner: ReplicaApi;
  /** Every call fails at once, as for a replica that is down or cut off. */
  down = false;
  stageFault: StageFault | undefined;
  /** Commits wait for this before reaching the store. */
  commitGate: Promise<void> | undefined;
  /** Commits of the metas for which this returns a promise wait for it (holds one key's commits, say). */
  commitHook: ((meta: ObjectMeta) => Promise<void> | undefined) | undefined;
  /** Commits fail (after the gate) when this returns an error. */
  commitFault: ((meta: ObjectMeta) => Error | undefined) | undefined;
  /** Heads wait for this before reaching the store. */
  headGate: Promise<void> | undefined;
  headFault: Error | undefined;
  /** Body reads fail at once (`afterBytes` undefined) or after that many bytes of the stream. */
  readFault: { readonly error: Error; readonly afterBytes?: number } | undefined;
  /** List calls fail when this returns an error for the call's index (0 = first). */
  listFault: ((call: number) => Error | undefined) | undefined;
  /** What happened, in order: `stage:ok`, `stage:failed`, `commit:applied <key> <hlc>`, `commit:failed`, `discard`, `head <key>`, `list`… */
  readonly log: string[] = [];
  /** Metas whose commit the store answered `applied` (pushed the instant it answered). */
  readonly applied: ObjectMeta[] = [];
  #lists = 0;

  constructor(id: string, inner: ReplicaApi) {
    this.id = id;
    this.inner = inner;
  }

  /** Clears every fault (the log stays). */
  heal(): void {
    this.down = false;
    this.stageFault = undefined;
    this.commitGate = undefined;
    this.commitHook = undefined;
    this.commitFault = undefined;
    this.headGate = undefined;
    this.headFault = undefined;
    this.readFault = undefined;
    this.listFault = undefined;
  }

  /** Log entries starting with `prefix`. */
  count(prefix: string): number {
    return this.log.filter((l) => l.startsWith(prefix)).length;
  }

  #up(call: string): void {
    if (!this.down) return;
    this.log.push(`${call}:down`);
    throw injected(`${this.id} is down`);
  }

  async stage(body: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<StagedBody> {
    this.#up('stage');
    const fault = this.stageFault;
    this.log.push('stage:start');
    try {
      if (fault?.kind === 'pause') {
        await fault.until;
        if (fault.reject) throw injected(`${this.id} stage timed out`);
      }
      const staged = await this.inner.stage(faulty(body, fault), signal);
      this.log.push('stage:ok');
      return staged;
    } catch (err) {
      this.log.push('stage:failed');
      throw err;
    }
  }

  async commit(meta: ObjectMeta, body: CommitBody, signal?: AbortSignal): Promise<CommitResult> {
    this.#up('commit');
    if (this.commitGate) await this.commitGate;
    const hold = this.commitHook?.(meta);
    if (hold) await hold;
    const err = this.commitFault?.(meta);
    if (err) {
      this.log.push(`commit:failed ${meta.key}`);
      throw err;
    }
    const result = await this.inner.commit(meta, body, signal);
    this.log.push(`commit:${result.applied ? 'applied' : 'kept'} ${meta.key} ${meta.version.hlc}`);
    if (result.applied) this.applied.push(meta);
    return result;
  }

  async discard(id: string, signal?: AbortSignal): Promise<void> {
    this.#up('discard');
    this.log.push('discard');
    return this.inner.discard(id, signal);
  }

  async head(bucket: string, key: string, options?: HeadOptions, signal?: AbortSignal): Promise<HeadResult | undefined> {
    this.#up('head');
    this.log.push(`head ${key}`);
    if (this.headGate) await this.headGate;
    if (this.headFault) throw this.headFault;
    return this.inner.head(bucket, key, options, signal);
  }

  async read(bucket: string, key: string, version: Version, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    this.#up('read');
    this.log.push(range ? `read ${key} ${range.start}-${range.end}` : `read ${key}`);
    const fault = this.readFault;
    if (fault && fault.afterBytes === undefined) throw fault.error;
    const stream = await this.inner.read(bucket, key, version, range, signal);
    if (!fault) return stream;
    return Readable.from(cutAfter(stream, fault.afterBytes!, fault.error), { objectMode: false });
  }

  async list(bucket: string, options: ListOptions, signal?: AbortSignal): Promise<ObjectRecord[]> {
    this.#up('list');
    const err = this.listFault?.(this.#lists++);
    this.log.push(err ? 'list:failed' : 'list');
    if (err) throw err;
    return this.inner.list(bucket, options, signal);
  }
}

async function* cutAfter(body: AsyncIterable<Uint8Array>, bytes: number, error: Error): AsyncGenerator<Uint8Array> {
  let left = bytes;
  for await (const chunk of body) {
    if (chunk.byteLength >= left) {
      if (left > 0) yield chunk.subarray(0, left);
      throw error;
    }
    left -= chunk.byteLength;
    yield chunk;
  }
  throw error;
}

async function* faulty(body: AsyncIterable<Uint8Array>, fault: StageFault | undefined): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const chunk of body) {
    if (fault?.kind === 'early') {
      yield chunk;
      return;
    }
    seen += chunk.byteLength;
    if (fault?.kind === 'fail-after' && seen > fault.bytes) throw injected(`stage failed after ${fault.bytes} bytes`);
    yield chunk;
  }
  if (fault?.kind === 'fail-at-end') throw injected('stage failed at its end');
}

/** A deterministic `Random`. */
export function fixedRandom(seed: number, float = 0.5): Random {
  const next = xorshift32(seed);
  return { float: () => float, hex: (bytes) => Array.from({ length: bytes }, () => (next() & 0xff).toString(16).padStart(2, '0')).join('') };
}

export const IDS = ['n1', 'n2', 'n3'] as const;
export type NodeId = (typeof IDS)[number];

/** Wall clock of the harness (its clock never moves unless a test moves it). */
export const HARNESS_NOW = 1_800_000_000_000;

/** Options of `replicaHarness`. */
export interface HarnessOptions {
  /** The coordinating node (its replica comes first in every call). */
  readonly self?: NodeId;
  readonly r?: number;
  readonly w?: number;
  /** 1 makes every read ask all three replicas (read repair reaches them all). */
  readonly readRepairChance?: number;
  readonly inlineThreshold?: number;
  readonly now?: () => number;
  /** Metrics to count into (none by default). */
  readonly metrics?: Metrics;
}

/** A coordinator over three faulty replicas. */
export interface Harness {
  readonly coordinator: Coordinator;
  readonly membership: Membership;
  readonly multipart: Multipart;
  readonly clock: HybridClock;
  readonly stores: Record<NodeId, MemoryStore>;
  readonly replicas: Record<NodeId, FaultyReplica>;
  /** Builds another coordinator over the same replicas, coordinating from `self`. */
  coordinatorOn(self: NodeId, options?: Omit<HarnessOptions, 'self'>): Promise<Coordinator>;
}

export async function replicaHarness(options: HarnessOptions = {}): Promise<Harness> {
  const inlineThreshold = options.inlineThreshold ?? 1024;
  const stores = {} as Record<NodeId, MemoryStore>;
  const replicas = {} as Record<NodeId, FaultyReplica>;
  for (const [i, id] of IDS.entries()) {
    stores[id] = new MemoryStore({ inlineThreshold, random: fixedRandom(100 + i) });
    await stores[id].open();
    replicas[id] = new FaultyReplica(id, stores[id]);
  }
  const hasher = await createHasher();
  const layout = { version: 1, members: IDS.map((id, i) => ({ id, address: `sim:${i}`, zone: `z${i}`, capacity: 1, state: 'active' as const })) };
  const build = (self: NodeId, o: HarnessOptions): { coordinator: Coordinator; membership: Membership; clock: HybridClock } => {
    const membership = new Membership({ selfId: self, layout, hasher, vnodesPerUnit: 16 });
    const now = o.now ?? (() => HARNESS_NOW);
    const clock = new HybridClock(self, { now }, { maxAheadMs: 250 });
    const coordinator = new Coordinator({
      membership,
      replicaFor: (m) => replicas[m.id as NodeId],
      clock,
      logger: silentLogger,
      metrics: o.metrics ?? null,
      n: 3,
      r: o.r ?? 2,
      w: o.w ?? 2,
      random: fixedRandom(7, o.readRepairChance === 1 ? 0 : 0.5),
      readRepairChance: o.readRepairChance ?? 0,
      inlineThreshold: o.inlineThreshold ?? inlineThreshold,
    });
    return { coordinator, membership, clock };
  };
  const main = build(options.self ?? 'n1', options);
  return {
    ...main,
    multipart: new Multipart(main.coordinator, fixedRandom(42)),
    stores,
    replicas,
    coordinatorOn: async (self, o = {}) => build(self, { ...options, ...o }).coordinator,
  };
}

/** A PUT input of `data` (one chunk, or the given chunks) whose ETag is `etag`. */
export function putInput(key: string, data: Uint8Array | readonly Uint8Array[], etag = `etag-${key}`, bucket = 'b') {
  const chunks = data instanceof Uint8Array ? [data] : data;
  const body = (async function* () {
    for (const c of chunks) yield c;
  })();
  return { bucket, key, contentType: 'application/octet-stream', userMeta: {}, body, seal: () => ({ etag }) };
}

/** `size` bytes derived from `seed` and their offset. */
export function bodyOf(size: number, seed: number): Buffer {
  const block = Buffer.alloc(4096);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  const out = Buffer.alloc(size);
  // Each 4 KiB block carries its index, so shifted or repeated blocks do not compare equal.
  for (let off = 0, n = 0; off < size; off += block.length, n++) {
    block.writeUInt32BE(n, 0);
    block.copy(out, off, 0, Math.min(block.length, size - off));
  }
  return out;
}

/** `data` in 64 KiB chunks, as a socket delivers a body. */
export function chunked(data: Buffer, chunk = 64 * 1024): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) out.push(data.subarray(i, i + chunk));
  return out;
}

/** The whole of a body as a coordinator or store returns it. */
export async function readAll(body: Uint8Array | Readable | AsyncIterable<Uint8Array>): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Lets pending I/O callbacks and promise chains run (several macrotask turns). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

/** Whether a promise has settled yet, after letting pending work run. */
export async function stateOf(p: Promise<unknown>): Promise<'pending' | 'fulfilled' | 'rejected'> {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  p.then(
    () => (state = 'fulfilled'),
    () => (state = 'rejected'),
  );
  await settle();
  return state;
}

/** Polls `check` until it returns true, up to `ms` (background work such as read repair or late commits). */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Rejects with a named error if `p` has not settled within `ms` (so a hang fails fast instead of at the test timeout). */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What each store holds for a key: version hlc, tombstone flag and storage, or null. */
export async function holdings(stores: Record<NodeId, MemoryStore>, key: string, bucket = 'b'): Promise<Record<NodeId, { hlc: number; tombstone: boolean; storage: string; etag: string } | null>> {
  const out = {} as Record<NodeId, { hlc: number; tombstone: boolean; storage: string; etag: string } | null>;
  for (const id of IDS) {
    const r = (await stores[id].head(bucket, key))?.record;
    out[id] = r ? { hlc: r.version.hlc, tombstone: r.tombstone, storage: r.storage, etag: r.etag } : null;
  }
  return out;
}

/** Staged (uncommitted) bodies on each store. */
export function stagedLeft(stores: Record<NodeId, MemoryStore>): number[] {
  return IDS.map((id) => stores[id].stats().staged);
}

/** Commits `meta` with `data` directly on one store (to set up disagreeing replicas). */
export async function plant(store: Pick<LocalStore, 'commit'>, key: string, hlc: number, data: Uint8Array | null, extra: Partial<ObjectMeta> = {}, bucket = 'b'): Promise<ObjectMeta> {
  const meta: ObjectMeta = {
    bucket,
    key,
    version: { hlc, node: 'n9' },
    tombstone: data === null,
    size: data?.byteLength ?? 0,
    etag: data === null ? '' : `etag-${hlc}`,
    contentType: 'application/octet-stream',
    userMeta: {},
    ...extra,
  };
  await store.commit(meta, { kind: 'inline', data: data ?? new Uint8Array(0) });
  return meta;
}
