/**
 * The workload: which key each operation touches (uniform or Zipf over `--objects` keys), how
 * big each key's object is (fixed or a deterministic mix), what it contains (a body variant
 * from `BodySource`), and the checks that make the figures honest — every GET's size and
 * content against what was acknowledged, HEAD sizes, complete list traversals' key counts.
 */
import { BodySource, TAG_HEADER, VARIANTS } from './bodies.js';
import type { BenchOptions, OpKind, SizeSpec } from './options.js';
import { header, type BenchS3Client } from './s3-client.js';
import { cryptoRandom, type Random } from '../util/random.js';

/** Samples ranks 0…n-1 with P(k) ∝ 1/(k+1)^s (exact inverse CDF, binary search). */
export class ZipfSampler {
  readonly #cdf: Float64Array;

  constructor(n: number, s: number) {
    this.#cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 0; k < n; k++) {
      sum += 1 / Math.pow(k + 1, s);
      this.#cdf[k] = sum;
    }
    for (let k = 0; k < n; k++) this.#cdf[k]! /= sum;
  }

  /** The rank for a uniform `u` in [0, 1). */
  sample(u: number): number {
    const cdf = this.#cdf;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

// fmix32 of MurmurHash3: spreads consecutive indexes over [0, 2^32), the same on every run.
function mix32(i: number): number {
  let h = i >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The keys `<prefix>/<index>` and the size of each (the same on every run, so keys can be reused). */
export class KeySpace {
  readonly prefix: string;
  readonly objects: number;
  readonly #sizes: SizeSpec;
  readonly #cdf: number[];
  readonly #pad: number;

  constructor(prefix: string, objects: number, sizes: SizeSpec) {
    this.prefix = prefix;
    this.objects = objects;
    this.#sizes = sizes;
    const total = sizes.classes.reduce((sum, c) => sum + c.weight, 0);
    let acc = 0;
    this.#cdf = sizes.classes.map((c) => (acc += c.weight / total));
    this.#pad = Math.max(6, String(objects - 1).length);
  }

  /** The name of key `i`. */
  key(i: number): string {
    return `${this.prefix}/${String(i).padStart(this.#pad, '0')}`;
  }

  /** The object size of key `i`: a fixed size, or drawn from the mix by a hash of `i`. */
  size(i: number): number {
    const classes = this.#sizes.classes;
    if (classes.length === 1) return classes[0]!.bytes;
    const u = mix32(i) / 2 ** 32;
    for (let c = 0; c < classes.length; c++) if (u < this.#cdf[c]!) return classes[c]!.bytes;
    return classes[classes.length - 1]!.bytes;
  }
}

const UNKNOWN = -1;

/**
 * What each key should contain. A GET must return the last acknowledged variant unless a
 * write to the key was in flight or failed around it; then any variant the bench wrote is
 * acceptable, and anything else is corruption.
 */
export class KeyStates {
  readonly variant: Int8Array;
  readonly putStarts: Uint32Array;
  readonly inflight: Uint16Array;
  readonly uncertain: Uint8Array;
  /** Writes of the key overlapped since it was last idle. */
  readonly #contended: Uint8Array;

  constructor(objects: number) {
    this.variant = new Int8Array(objects).fill(UNKNOWN);
    this.putStarts = new Uint32Array(objects);
    this.inflight = new Uint16Array(objects);
    this.uncertain = new Uint8Array(objects).fill(1);
    this.#contended = new Uint8Array(objects);
  }

  /** The variant the next write of key `i` uses (differs from the current one). */
  nextVariant(i: number): number {
    const v = this.variant[i]!;
    return v < 0 ? 0 : (v + 1) % VARIANTS;
  }

  /** A write of key `i` starts; returns a token for `endPut`. */
  beginPut(i: number): number {
    if (this.inflight[i]! > 0) this.#contended[i] = 1;
    this.inflight[i]!++;
    return ++this.putStarts[i]!;
  }

  /** A write of key `i` ended; on success it contains `variant`. */
  endPut(i: number, token: number, variant: number, ok: boolean): void {
    this.inflight[i]!--;
    // Writes that overlapped may be ordered either way by the store, so which one won is unknown.
    const overlapped = this.#contended[i] === 1 || this.inflight[i]! > 0 || this.putStarts[i] !== token;
    if (this.inflight[i] === 0) this.#contended[i] = 0;
    if (ok) this.variant[i] = variant;
    this.uncertain[i] = !ok || overlapped ? 1 : 0;
  }
}

/** The outcome of one successful operation. */
export interface OpResult {
  readonly kind: OpKind;
  /** Payload bytes moved (object bytes; XML bytes for list). */
  readonly bytes: number;
  /** 1 when a GET's body was checked and matched. */
  readonly verified: 0 | 1;
  readonly racing: 0 | 1;
  /** Keys counted by a list traversal that just completed. */
  readonly listed: number;
}

/** A failed check of what the store returned (counted as an error of `kind`). */
export class VerifyError extends Error {
  readonly kind: string;

  constructor(kind: string, message: string) {
    super(message);
    this.name = 'VerifyError';
    this.kind = kind;
  }
}

/** Per-worker state (a list traversal in progress). */
export interface WorkerState {
  listToken: string | undefined;
  listSeen: number;
}

/** Outcome of the populate phase. */
export interface PopulateResult {
  readonly checked: number;
  readonly written: number;
  readonly errors: number;
  readonly first_error: string | null;
  readonly seconds: number;
}

/** Chooses and performs operations. */
export class Workload {
  readonly keys: KeySpace;
  readonly states: KeyStates;
  readonly bodies = new BodySource();
  readonly #client: BenchS3Client;
  readonly #options: BenchOptions;
  readonly #zipf: ZipfSampler | undefined;
  readonly #random: Random;
  #roundRobin = 0;
  #deleteNext = 0;
  /** Keys completed by multipart uploads (checked again after the run). */
  readonly multipartKeys = new Set<number>();

  /** `random` picks keys and operations: pass `seededRandom(seed)` for a repeatable choice. */
  constructor(client: BenchS3Client, options: BenchOptions, random: Random = cryptoRandom) {
    this.#random = random;
    this.#client = client;
    this.#options = options;
    this.keys = new KeySpace(options.prefix, options.objects, options.sizes);
    this.states = new KeyStates(options.objects);
    this.#zipf = options.distribution === 'zipf' ? new ZipfSampler(options.objects, options.zipfS) : undefined;
  }

  /** Whether the run needs the keys to exist first. */
  get needsPopulate(): boolean {
    return !this.#options.skipPopulate && this.#options.op !== 'put' && this.#options.op !== 'multipart';
  }

  #pick(): number {
    return this.#zipf === undefined ? Math.floor(this.#random.float() * this.keys.objects) : this.#zipf.sample(this.#random.float());
  }

  #pickForWrite(): number {
    return this.#zipf === undefined ? this.#roundRobin++ % this.keys.objects : this.#zipf.sample(this.#random.float());
  }

  /** The kind of the next operation, or `done` when a delete run has deleted every key. */
  next(): OpKind | 'done' {
    const op = this.#options.op;
    if (op === 'mixed') return this.#random.float() < this.#options.readRatio ? 'get' : 'put';
    if (op === 'delete' && this.#deleteNext >= this.keys.objects) return 'done';
    return op;
  }

  #payloadHash(size: number, variant: number, start?: number, end?: number): string | undefined {
    return this.#options.signPayload ? this.bodies.sha256(size, variant, start, end) : undefined;
  }

  /** Writes variant `variant` of key `i` with a single PUT. */
  async #put(i: number, variant: number): Promise<number> {
    const size = this.keys.size(i);
    const token = this.states.beginPut(i);
    let ok = false;
    try {
      await this.#client.put(this.keys.key(i), this.bodies.body(size, variant), this.#payloadHash(size, variant), this.bodies.tag(size, variant));
      ok = true;
    } finally {
      this.states.endPut(i, token, variant, ok);
    }
    return size;
  }

  /**
   * Reads key `i` and checks its size and content: byte for byte against the variant its tag
   * names, or (tag unknown, or bytes differ) by CRC32 against every variant.
   */
  async #get(i: number): Promise<OpResult> {
    const size = this.keys.size(i);
    const st = this.states;
    const expected = st.variant[i]!;
    const startsAt = st.putStarts[i]!;
    const unsure = st.inflight[i]! > 0 || st.uncertain[i] === 1;
    const key = this.keys.key(i);
    let tagged: number | undefined;
    const got = await this.#client.get(key, (headers) => {
      tagged = this.bodies.parseTag(size, header(headers, TAG_HEADER));
      return tagged === undefined ? undefined : this.bodies.body(size, tagged);
    });
    if (got.bytes !== size) throw new VerifyError('verify:size', `GET ${key}: ${got.bytes} bytes, expected ${size}`);
    const variant = got.matched ? tagged : this.bodies.variantOf(size, got.crc);
    if (expected >= 0 && variant === expected) return { kind: 'get', bytes: size, verified: 1, racing: 0, listed: 0 };
    const raced = unsure || st.putStarts[i] !== startsAt || st.uncertain[i] === 1;
    if (variant !== undefined && raced) return { kind: 'get', bytes: size, verified: 1, racing: 1, listed: 0 };
    if (variant !== undefined) throw new VerifyError('verify:stale', `GET ${key}: got body variant ${variant}, but variant ${expected} was acknowledged before the read started`);
    throw new VerifyError('verify:checksum', `GET ${key}: CRC32 ${got.crc.toString(16)} matches no body the bench wrote (${size} bytes)`);
  }

  /** One multipart upload of key `i`: create, the parts one after another, complete. */
  async #multipart(i: number): Promise<number> {
    const size = this.keys.size(i);
    const variant = this.states.nextVariant(i);
    const key = this.keys.key(i);
    const token = this.states.beginPut(i);
    let ok = false;
    let uploadId: string | undefined;
    try {
      uploadId = await this.#client.createMultipart(key, this.bodies.tag(size, variant));
      const partSize = this.#options.partSize;
      const etags: string[] = [];
      for (let start = 0, n = 1; start < size; start += partSize, n++) {
        const end = Math.min(size, start + partSize);
        etags.push(await this.#client.uploadPart(key, uploadId, n, this.bodies.slice(size, variant, start, end), this.#payloadHash(size, variant, start, end)));
      }
      await this.#client.completeMultipart(key, uploadId, etags);
      ok = true;
      this.multipartKeys.add(i);
    } catch (error) {
      if (uploadId !== undefined) await this.#client.abortMultipart(key, uploadId).catch(() => undefined);
      throw error;
    } finally {
      this.states.endPut(i, token, variant, ok);
    }
    return size;
  }

  async #list(worker: WorkerState): Promise<OpResult> {
    const page = await this.#client.listPage(`${this.keys.prefix}/`, this.#options.listMaxKeys, worker.listToken);
    worker.listSeen += page.keys;
    if (page.truncated && page.nextToken !== undefined) {
      worker.listToken = page.nextToken;
      return { kind: 'list', bytes: page.bytes, verified: 0, racing: 0, listed: 0 };
    }
    const seen = worker.listSeen;
    worker.listToken = undefined;
    worker.listSeen = 0;
    if (page.truncated) throw new VerifyError('verify:list', `ListObjectsV2 ${this.keys.prefix}/: IsTruncated without NextContinuationToken`);
    // Only a list-only run knows exactly which keys exist (populate made all of them).
    if (this.#options.op === 'list' && !this.#options.skipPopulate && seen !== this.keys.objects) {
      throw new VerifyError('verify:list', `ListObjectsV2 ${this.keys.prefix}/: a full traversal returned ${seen} keys, expected ${this.keys.objects}`);
    }
    return { kind: 'list', bytes: page.bytes, verified: 0, racing: 0, listed: seen };
  }

  /** Performs one operation of `kind`; throws S3RequestError or VerifyError. */
  async run(kind: OpKind, worker: WorkerState): Promise<OpResult> {
    switch (kind) {
      case 'put': {
        const i = this.#pickForWrite();
        return { kind, bytes: await this.#put(i, this.states.nextVariant(i)), verified: 0, racing: 0, listed: 0 };
      }
      case 'get':
        return this.#get(this.#pick());
      case 'head': {
        const i = this.#pick();
        const key = this.keys.key(i);
        const size = this.keys.size(i);
        const { length } = await this.#client.head(key);
        if (length !== size) throw new VerifyError('verify:size', `HEAD ${key}: Content-Length ${length}, expected ${size}`);
        return { kind, bytes: 0, verified: 0, racing: 0, listed: 0 };
      }
      case 'delete': {
        const i = this.#deleteNext++;
        await this.#client.delete(this.keys.key(i));
        this.states.variant[i] = UNKNOWN;
        return { kind, bytes: 0, verified: 0, racing: 0, listed: 0 };
      }
      case 'list':
        return this.#list(worker);
      case 'multipart':
        return { kind, bytes: await this.#multipart(this.#pickForWrite()), verified: 0, racing: 0, listed: 0 };
    }
  }

  /** Reads key `i` once and checks it (after a multipart run). */
  async verifyKey(i: number): Promise<void> {
    await this.#get(i);
  }

  /**
   * Makes every key exist with a known body: HEAD it, and PUT it when it is missing, has the
   * wrong size or carries no tag this bench wrote (the s3load approach, plus the tag).
   */
  async populate(concurrency: number, stopped: () => boolean, onError: (error: unknown) => void): Promise<PopulateResult> {
    const t0 = performance.now();
    let next = 0;
    let written = 0;
    let errors = 0;
    let first: string | null = null;
    const worker = async (): Promise<void> => {
      while (!stopped()) {
        const i = next++;
        if (i >= this.keys.objects) return;
        try {
          const size = this.keys.size(i);
          const head = await this.#client.head(this.keys.key(i)).catch((error: unknown) => {
            if ((error as { status?: number }).status === 404) return undefined;
            throw error;
          });
          const variant = head !== undefined && head.length === size ? this.bodies.parseTag(size, head.tag) : undefined;
          if (variant !== undefined) {
            this.states.variant[i] = variant;
            this.states.uncertain[i] = 0;
          } else {
            await this.#put(i, 0);
            written++;
          }
        } catch (error) {
          errors++;
          first ??= error instanceof Error ? error.message : String(error);
          onError(error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, this.keys.objects) }, worker));
    return { checked: Math.min(next, this.keys.objects), written, errors, first_error: first, seconds: Math.round(performance.now() - t0) / 1000 };
  }
}
