/**
 * Access keys and their grants on buckets, kept as records in reserved namespaces (`.keys`,
 * `.grants`; neither is a valid bucket name) and read and written through the coordinator like
 * buckets: replicated, quorum-read, and so they survive restarts. The root key from config is
 * not stored here: it keeps every right (see s3/authorize.ts).
 *
 * The gateway checks keys and grants on every request, so positive answers are cached for
 * `ACCESS_CACHE_TTL_MS`: a deleted key or a removed grant stops working on every gateway within
 * that bound. Missing grants are never cached, so a new grant works at once. An access key id
 * found missing is remembered as missing for the same time (requests signed with made-up ids then
 * cost no quorum read each); a new key's id is random, so nobody asked for it before it existed.
 */
import { RingstoreError } from '../util/errors.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { Coordinator } from '../replication/coordinator.js';
import type { ObjectRecord } from '../store/types.js';

/** Namespace of access keys: key = accessKeyId. */
export const KEYS_NAMESPACE = '.keys';
/** Namespace of grants: key = `<accessKeyId>\0<bucket>`. */
export const GRANTS_NAMESPACE = '.grants';
/** How long a gateway trusts a key or a grant it has read. */
export const ACCESS_CACHE_TTL_MS = 2000;

/** A stored access key. */
export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly name: string;
  /** May create buckets (CreateBucket). */
  readonly allowCreateBucket: boolean;
  readonly createdMs: number;
}

/** What a grant allows on one bucket; the flags are independent. */
export interface Permissions {
  readonly read: boolean;
  readonly write: boolean;
  readonly owner: boolean;
}

/** A grant of a key on a bucket. */
export interface Grant extends Permissions {
  readonly accessKeyId: string;
  readonly bucket: string;
}

/** No permission at all. */
export const NO_PERMISSIONS: Permissions = { read: false, write: false, owner: false };

const KEY_ID = /^RK[0-9A-F]{24}$/;
const NAME = /^[\x21-\x7e][\x20-\x7e]{0,126}$/;

/** Throws InvalidArgument unless `name` is 1–127 printable ASCII characters, not starting with a space. */
export function validateKeyName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) throw new RingstoreError('InvalidArgument', 'key name must be 1 to 127 printable ASCII characters');
  return name;
}

/** True when `id` has the shape of a stored key's id (`RK` + 24 hex digits). */
export function isStoredKeyId(id: string): boolean {
  return KEY_ID.test(id);
}

/** A fresh key: `RK` + 24 upper-case hex digits, and a 64-hex-digit secret. */
export function newAccessKey(random: Random, name: string, allowCreateBucket: boolean, nowMs: number): AccessKey {
  return { accessKeyId: `RK${random.hex(12).toUpperCase()}`, secretAccessKey: random.hex(32), name: validateKeyName(name), allowCreateBucket, createdMs: nowMs };
}

/** The user metadata a key's record carries. */
export function keyToMeta(key: AccessKey): Record<string, string> {
  return { name: key.name, secret: key.secretAccessKey, 'allow-create-bucket': key.allowCreateBucket ? 'true' : 'false', created: String(key.createdMs) };
}

/** A key from its record's user metadata; undefined when the record is not a key's. */
export function keyFromMeta(accessKeyId: string, meta: Readonly<Record<string, string>>): AccessKey | undefined {
  const { name, secret } = meta;
  if (name === undefined || secret === undefined) return undefined;
  return { accessKeyId, secretAccessKey: secret, name, allowCreateBucket: meta['allow-create-bucket'] === 'true', createdMs: Number(meta['created'] ?? 0) };
}

/** The `.grants` key of a grant. */
export function grantKey(accessKeyId: string, bucket: string): string {
  return `${accessKeyId}\0${bucket}`;
}

/** Permissions from a grant record's user metadata. */
export function permissionsFromMeta(meta: Readonly<Record<string, string>>): Permissions {
  return { read: meta['read'] === 'true', write: meta['write'] === 'true', owner: meta['owner'] === 'true' };
}

/** `old` with the flags set in `change` added (`allow`) or removed (`deny`). */
export function applyGrantChange(old: Permissions, change: Partial<Permissions>, mode: 'allow' | 'deny'): Permissions {
  const pick = (was: boolean, asked: boolean | undefined): boolean => (asked === true ? mode === 'allow' : was);
  return { read: pick(old.read, change.read), write: pick(old.write, change.write), owner: pick(old.owner, change.owner) };
}

/** True when a permission set allows nothing (its record is deleted). */
export function isEmpty(p: Permissions): boolean {
  return !p.read && !p.write && !p.owner;
}

function noSuchAccessKey(id: string): RingstoreError {
  return new RingstoreError('NoSuchKey', `no access key ${id}`, { accessKeyId: id });
}

/** A small time-bounded cache of positive answers. */
class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; at: number }>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get(key: string): V | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (this.#clock.now() - e.at >= ACCESS_CACHE_TTL_MS) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V): void {
    // Bounded: a flood of distinct keys cannot grow it without limit.
    if (this.#entries.size >= 10_000) this.#entries.clear();
    this.#entries.set(key, { value, at: this.#clock.now() });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}

/** Create, find, list and delete access keys; grant and revoke their rights on buckets. */
export class AccessKeys {
  readonly #coordinator: Coordinator;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #keys: TtlCache<AccessKey>;
  readonly #missingKeys: TtlCache<true>;
  readonly #grants: TtlCache<Permissions>;

  constructor(coordinator: Coordinator, clock: Clock, random: Random) {
    this.#coordinator = coordinator;
    this.#clock = clock;
    this.#random = random;
    this.#keys = new TtlCache(clock);
    this.#missingKeys = new TtlCache(clock);
    this.#grants = new TtlCache(clock);
  }

  /** Creates a key and returns it, secret included (the only answer that has it unasked). */
  async create(name: string, allowCreateBucket: boolean): Promise<AccessKey> {
    const key = newAccessKey(this.#random, name, allowCreateBucket, this.#clock.now());
    await this.#coordinator.putSmall({ bucket: KEYS_NAMESPACE, key: key.accessKeyId, tombstone: false, size: 0, etag: '', contentType: '', userMeta: keyToMeta(key) }, new Uint8Array(0));
    return key;
  }

  /** The key, read through the quorum (uncached: for the admin API). */
  async get(accessKeyId: string): Promise<AccessKey | undefined> {
    if (!isStoredKeyId(accessKeyId)) return undefined;
    const found = await this.#coordinator.findObject(KEYS_NAMESPACE, accessKeyId, 'GetObject');
    return found ? keyFromMeta(accessKeyId, found.record.userMeta) : undefined;
  }

  /** The key as the gateway sees it: cached for ACCESS_CACHE_TTL_MS when found. */
  async find(accessKeyId: string): Promise<AccessKey | undefined> {
    const cached = this.#keys.get(accessKeyId);
    if (cached !== undefined) return cached;
    if (this.#missingKeys.get(accessKeyId) === true) return undefined;
    const key = await this.get(accessKeyId);
    if (key !== undefined) this.#keys.set(accessKeyId, key);
    else this.#missingKeys.set(accessKeyId, true);
    return key;
  }

  /** Every stored key, by id. */
  async list(): Promise<AccessKey[]> {
    const out: AccessKey[] = [];
    for await (const r of this.#scan(KEYS_NAMESPACE, '')) {
      const key = keyFromMeta(r.key, r.userMeta);
      if (key !== undefined) out.push(key);
    }
    return out;
  }

  /** Deletes a key and its grants; NoSuchKey when there is none. */
  async delete(accessKeyId: string): Promise<void> {
    if ((await this.get(accessKeyId)) === undefined) throw noSuchAccessKey(accessKeyId);
    await this.#coordinator.deleteObject(KEYS_NAMESPACE, accessKeyId);
    this.#keys.delete(accessKeyId);
    for (const grant of await this.grantsOf(accessKeyId)) await this.#setGrant(accessKeyId, grant.bucket, NO_PERMISSIONS);
  }

  /** Adds (`allow`) or removes (`deny`) the flags set in `change`; returns the grant as it now is. */
  async changeGrant(accessKeyId: string, bucket: string, change: Partial<Permissions>, mode: 'allow' | 'deny'): Promise<Grant> {
    if ((await this.get(accessKeyId)) === undefined) throw noSuchAccessKey(accessKeyId);
    const found = await this.#coordinator.findObject(GRANTS_NAMESPACE, grantKey(accessKeyId, bucket), 'GetObject');
    const now = applyGrantChange(found ? permissionsFromMeta(found.record.userMeta) : NO_PERMISSIONS, change, mode);
    await this.#setGrant(accessKeyId, bucket, now);
    return { accessKeyId, bucket, ...now };
  }

  /** What `accessKeyId` may do on `bucket` by grant, as the gateway sees it (cached when any). */
  async permissions(accessKeyId: string, bucket: string): Promise<Permissions> {
    const id = grantKey(accessKeyId, bucket);
    const cached = this.#grants.get(id);
    if (cached !== undefined) return cached;
    const found = await this.#coordinator.findObject(GRANTS_NAMESPACE, id, 'GetObject');
    const p = found ? permissionsFromMeta(found.record.userMeta) : NO_PERMISSIONS;
    if (!isEmpty(p)) this.#grants.set(id, p);
    return p;
  }

  /** Every grant of a key, by bucket. */
  async grantsOf(accessKeyId: string): Promise<Grant[]> {
    const out: Grant[] = [];
    for await (const r of this.#scan(GRANTS_NAMESPACE, `${accessKeyId}\0`)) {
      const p = permissionsFromMeta(r.userMeta);
      if (!isEmpty(p)) out.push({ accessKeyId, bucket: r.key.slice(accessKeyId.length + 1), ...p });
    }
    return out;
  }

  /** Removes every grant on `bucket` (it was deleted: a bucket created later under its name starts with none). */
  async removeBucketGrants(bucket: string): Promise<void> {
    const doomed: string[] = [];
    for await (const r of this.#scan(GRANTS_NAMESPACE, '')) if (r.key.endsWith(`\0${bucket}`)) doomed.push(r.key);
    for (const key of doomed) {
      await this.#coordinator.deleteObject(GRANTS_NAMESPACE, key);
      this.#grants.delete(key);
    }
  }

  async #setGrant(accessKeyId: string, bucket: string, p: Permissions): Promise<void> {
    const key = grantKey(accessKeyId, bucket);
    this.#grants.delete(key);
    if (isEmpty(p)) {
      await this.#coordinator.deleteObject(GRANTS_NAMESPACE, key);
      return;
    }
    const userMeta = { read: String(p.read), write: String(p.write), owner: String(p.owner) };
    await this.#coordinator.putSmall({ bucket: GRANTS_NAMESPACE, key, tombstone: false, size: 0, etag: '', contentType: '', userMeta }, new Uint8Array(0));
  }

  async *#scan(namespace: string, prefix: string): AsyncGenerator<ObjectRecord> {
    let startAfter: string | undefined;
    // Bounded: each page moves past its last key, and a namespace holds finitely many.
    for (;;) {
      const page = await this.#coordinator.listPage(namespace, { limit: 1000, ...(prefix !== '' && { prefix }), ...(startAfter !== undefined && { startAfter }) });
      for (const r of page.records) yield r;
      if (page.exhausted || page.records.length === 0) return;
      startAfter = page.records[page.records.length - 1]!.key;
    }
  }
}
