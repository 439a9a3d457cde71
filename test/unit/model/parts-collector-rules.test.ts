/**
 * The parts collector's rules, each against a scripted cluster (what the quorum lookups answer)
 * and a scripted local replica (the `.parts` records this node holds), so every rule can be
 * driven to its edge: an upload in progress keeps all its parts; once it is gone exactly the
 * part versions the owning object lists are kept; a part is judged only when this replica's
 * copy and the cluster's newest version are both at least the grace period old; parts naming no
 * owner are never judged; a failed lookup skips only its upload; every local record is visited,
 * 500 a page, and each upload is looked up once.
 */
import { describe, it, expect } from 'vitest';
import type { Metrics } from '../../../src/metrics/definitions.js';
import type { Coordinator, FoundObject } from '../../../src/replication/coordinator.js';
import { PARTS_NAMESPACE, PART_OWNER_BUCKET, PART_OWNER_KEY, UPLOADS_NAMESPACE } from '../../../src/model/multipart.js';
import { PartsCollector } from '../../../src/model/parts-collector.js';
import type { ListOptions, ObjectRecord, PartRef, ReplicaApi } from '../../../src/store/types.js';
import type { Version } from '../../../src/util/clock.js';
import { RingstoreError } from '../../../src/util/errors.js';
import type { Logger } from '../../../src/util/logger.js';

const NOW = 1_800_000_000_000;
const GRACE = 60_000;
const OLD = NOW - 10 * GRACE;

/** A version written at wall time `ms` (distinct per `logical`). */
const at = (ms: number, logical = 0, node = 'n1'): Version => ({ hlc: ms * 1024 + logical, node });
const uid = (n: number): string => n.toString(16).padStart(32, '0');
const partKey = (upload: number, n: number, attempt = 'a0a0a0a0'): string => `${uid(upload)}\0${String(n).padStart(5, '0')}\0${attempt}`;
/** Keys as lookups show them, with the separators readable. */
const show = (key: string): string => key.replaceAll('\0', '|');

interface PartSpec {
  readonly upload: number;
  readonly n: number;
  readonly attempt?: string;
  /** This replica's copy. */
  readonly version: Version;
  /** The cluster's newest version (the quorum lookup's answer); the local one by default, null when deleted. */
  readonly current?: Version | null;
  /** Owner metadata recorded on the part; `b`/`k<upload>` by default. */
  readonly owner?: { bucket?: string; key?: string };
  readonly tombstone?: boolean;
}

function record(bucket: string, key: string, version: Version, userMeta: Record<string, string> = {}, extra: Partial<ObjectRecord> = {}): ObjectRecord {
  return { bucket, key, version, tombstone: false, size: 10, etag: 'e', contentType: '', userMeta, crc32: 0, storage: 'inline', ...extra };
}

/** The cluster as the collector's quorum lookups and deletes see it; every call is logged. */
class ScriptedCluster {
  readonly lookups: string[] = [];
  readonly deletes: string[] = [];
  /** `.uploads` keys of uploads in progress. */
  readonly uploads = new Set<string>();
  /** Objects by `bucket/key`, with the parts they list. */
  readonly objects = new Map<string, readonly PartRef[]>();
  /** Newest version of each part object in the cluster (absent: deleted). */
  readonly parts = new Map<string, Version>();
  /** Lookups of these `bucket/key`s fail as a lost quorum does. */
  readonly failing = new Set<string>();

  async findObject(bucket: string, key: string, op = 'GetObject'): Promise<FoundObject | undefined> {
    this.lookups.push(`${op} ${bucket}/${show(key)}`);
    if (this.failing.has(`${bucket}/${key}`)) throw new RingstoreError('QuorumNotReached', `${op}: needed 2 of 3 replicas, got 1`);
    const found = (r: ObjectRecord): FoundObject => ({ record: r, holders: [] });
    if (bucket === UPLOADS_NAMESPACE) return this.uploads.has(key) ? found(record(bucket, key, at(OLD))) : undefined;
    if (bucket === PARTS_NAMESPACE) {
      const v = this.parts.get(key);
      return v ? found(record(bucket, key, v)) : undefined;
    }
    const parts = this.objects.get(`${bucket}/${key}`);
    return parts ? found(record(bucket, key, at(OLD), {}, { parts })) : undefined;
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    expect(bucket).toBe(PARTS_NAMESPACE);
    this.deletes.push(show(key));
    this.parts.delete(key);
  }
}

/** This node's replica: only `list` of `.parts` is asked for; each call's options are kept. */
class ScriptedLocal {
  readonly records: ObjectRecord[] = [];
  readonly lists: ListOptions[] = [];

  async list(bucket: string, options: ListOptions): Promise<ObjectRecord[]> {
    expect(bucket).toBe(PARTS_NAMESPACE);
    this.lists.push(options);
    // A collector that does not move its cursor on would list for ever.
    if (this.lists.length > 20) throw new Error('listed the same records over and over');
    return this.records.filter((r) => options.startAfter === undefined || r.key > options.startAfter).slice(0, options.limit);
  }
}

function setup(parts: readonly PartSpec[]) {
  const cluster = new ScriptedCluster();
  const local = new ScriptedLocal();
  for (const p of parts) {
    const key = partKey(p.upload, p.n, p.attempt);
    const owner = p.owner ?? { bucket: 'b', key: `k${p.upload}` };
    const meta: Record<string, string> = {};
    if (owner.bucket !== undefined) meta[PART_OWNER_BUCKET] = owner.bucket;
    if (owner.key !== undefined) meta[PART_OWNER_KEY] = owner.key;
    local.records.push(p.tombstone ? record(PARTS_NAMESPACE, key, p.version, {}, { tombstone: true, size: 0 }) : record(PARTS_NAMESPACE, key, p.version, meta));
    if (p.current !== null && !p.tombstone) cluster.parts.set(key, p.current ?? p.version);
  }
  local.records.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const counted: Array<Record<string, string>> = [];
  const metrics = { gcCollected: { inc: (labels: Record<string, string>) => counted.push(labels) } } as unknown as Metrics;
  const logged: Array<{ level: string; obj: object; msg: string | undefined }> = [];
  const logger: Logger = {
    debug: (obj, msg) => logged.push({ level: 'debug', obj, msg }),
    info: (obj, msg) => logged.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => logged.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => logged.push({ level: 'error', obj, msg }),
    child: () => logger,
  };
  const collector = new PartsCollector({
    coordinator: cluster as unknown as Coordinator,
    local: local as unknown as ReplicaApi,
    clock: { now: () => NOW },
    logger,
    metrics,
    graceMs: GRACE,
  });
  return { cluster, local, collector, counted, logged };
}

const ref = (bucket: string, key: string, version: Version): PartRef => ({ bucket, key, version, size: 10, etag: 'e' });

describe('parts collector rules', () => {
  it('keeps every part of an upload in progress, judged with one .uploads lookup for the whole upload', async () => {
    const { cluster, collector } = setup([1, 2, 3].map((n) => ({ upload: 1, n, version: at(OLD, n) })));
    cluster.uploads.add(`b\0k1\0${uid(1)}`);
    expect(await collector.collect()).toBe(0);
    expect(cluster.lookups).toEqual([`ListParts .uploads/b|k1|${uid(1)}`]);
    expect(cluster.deletes).toEqual([]);
  });

  it('once the upload is gone, keeps exactly the (part key, version) pairs the object lists and tombstones every other part', async () => {
    const v = (n: number) => at(OLD, 10 + n);
    const { cluster, collector, counted, logged } = setup([
      { upload: 1, n: 1, attempt: 'aaaaaaaa', version: v(1) }, // an earlier attempt of part 1: garbage
      { upload: 1, n: 1, attempt: 'bbbbbbbb', version: v(2) }, // the attempt the object lists: kept
      { upload: 1, n: 2, version: v(3) }, // listed, but with another version: garbage
      { upload: 1, n: 3, version: v(4) }, // listed with its version, but under another bucket: garbage
      { upload: 1, n: 4, version: v(5) }, // its version is listed, but for another key: garbage
      { upload: 2, n: 1, version: v(6) }, // the object of upload 2 is gone: garbage
      { upload: 2, n: 2, version: v(7) },
    ]);
    cluster.objects.set('b/k1', [
      ref(PARTS_NAMESPACE, partKey(1, 1, 'bbbbbbbb'), v(2)),
      ref(PARTS_NAMESPACE, partKey(1, 2), v(1)),
      ref('b', partKey(1, 3), v(4)),
      ref(PARTS_NAMESPACE, partKey(9, 9), v(5)),
    ]);
    expect(await collector.collect()).toBe(6);
    expect(cluster.deletes).toEqual([partKey(1, 1, 'aaaaaaaa'), partKey(1, 2), partKey(1, 3), partKey(1, 4), partKey(2, 1), partKey(2, 2)].map(show));
    // The upload record first (Complete writes the object before it deletes the upload), then
    // the owner, then the newest version of each part in the cluster.
    expect(cluster.lookups).toEqual([
      `ListParts .uploads/b|k1|${uid(1)}`,
      'GetObject b/k1',
      ...[partKey(1, 1, 'aaaaaaaa'), partKey(1, 1, 'bbbbbbbb'), partKey(1, 2), partKey(1, 3), partKey(1, 4)].map((k) => `GetObject .parts/${show(k)}`),
      `ListParts .uploads/b|k2|${uid(2)}`,
      'GetObject b/k2',
      ...[partKey(2, 1), partKey(2, 2)].map((k) => `GetObject .parts/${show(k)}`),
    ]);
    expect(counted).toEqual(Array.from({ length: 6 }, () => ({ kind: 'part' })));
    expect(collector.status()).toEqual({ runs: 1, deleted: 6, skippedUploads: 0 });
    expect(logged.filter((l) => l.level === 'info').map((l) => l.obj)).toEqual([{ deleted: 6 }]);

    // Next pass: this replica still holds its live copies of the parts now deleted in the
    // cluster; they are passed over (nothing to delete), not counted as failed lookups.
    expect(await collector.collect()).toBe(0);
    expect(collector.status()).toEqual({ runs: 2, deleted: 6, skippedUploads: 0 });
    expect(logged.filter((l) => l.level === 'info')).toHaveLength(1);
  });

  it('judges a part only when both this copy and the newest version in the cluster are at least graceMs old (exactly graceMs counts as old)', async () => {
    const { cluster, collector } = setup([
      { upload: 3, n: 1, version: at(NOW - GRACE) }, // exactly the grace period old: collected
      { upload: 3, n: 2, version: at(NOW - 1000), current: at(OLD) }, // this copy is young, whatever the lookup says: kept, not even looked up
      { upload: 3, n: 3, version: at(OLD, 1), current: at(NOW - 1000) }, // rewritten lately in the cluster: kept
      { upload: 4, n: 1, version: at(NOW - 1) }, // an upload whose parts are all young costs no lookup
      { upload: 4, n: 2, version: at(NOW - GRACE + 1) },
    ]);
    cluster.objects.set('b/k3', []);
    expect(await collector.collect()).toBe(1);
    expect(cluster.deletes).toEqual([show(partKey(3, 1))]);
    expect(cluster.lookups).toEqual([`ListParts .uploads/b|k3|${uid(3)}`, 'GetObject b/k3', `GetObject .parts/${show(partKey(3, 1))}`, `GetObject .parts/${show(partKey(3, 3))}`]);
  });

  it('never judges parts that do not name both the bucket and the key of their object, and looks nothing up for them', async () => {
    const { cluster, collector } = setup([
      { upload: 5, n: 1, version: at(OLD), owner: {} },
      { upload: 6, n: 1, version: at(OLD), owner: { bucket: 'b' } },
      { upload: 7, n: 1, version: at(OLD), owner: { key: 'k7' } },
    ]);
    expect(await collector.collect()).toBe(0);
    expect(cluster.lookups).toEqual([]);
    expect(cluster.deletes).toEqual([]);
  });

  it('a part tombstoned on this replica is not judged and does not stop the rest of its upload from being collected', async () => {
    const { cluster, collector } = setup([
      { upload: 8, n: 1, version: at(OLD, 1), tombstone: true },
      { upload: 8, n: 2, version: at(OLD, 2) },
      { upload: 9, n: 1, version: at(OLD, 3), tombstone: true }, // all deleted here: nothing to look up
    ]);
    expect(await collector.collect()).toBe(1);
    expect(cluster.deletes).toEqual([show(partKey(8, 2))]);
    expect(cluster.lookups).toEqual([`ListParts .uploads/b|k8|${uid(8)}`, 'GetObject b/k8', `GetObject .parts/${show(partKey(8, 2))}`]);
  });

  it('a lookup that fails leaves only that upload for the next pass: the others are still collected', async () => {
    const { cluster, collector, logged } = setup([
      { upload: 10, n: 1, version: at(OLD, 1) },
      { upload: 11, n: 1, version: at(OLD, 2) },
    ]);
    cluster.failing.add('b/k10');
    expect(await collector.collect()).toBe(1);
    expect(cluster.deletes).toEqual([show(partKey(11, 1))]);
    expect(collector.status()).toEqual({ runs: 1, deleted: 1, skippedUploads: 1 });
    expect(logged.filter((l) => l.level === 'warn').map((l) => l.obj)).toEqual([{ uploadId: uid(10), err: expect.stringContaining('QuorumNotReached') }]);
  });

  it('visits every local .parts record, 500 a page from the start and then after the last key seen, and looks each upload up once even across a page boundary', async () => {
    // 334 uploads of 3 parts: 1002 records, pages of 500, 500 and 2; upload 167 straddles the first boundary.
    const specs: PartSpec[] = [];
    for (let u = 1; u <= 334; u++) for (let n = 1; n <= 3; n++) specs.push({ upload: u, n, version: at(OLD, u * 4 + n) });
    const { cluster, local, collector } = setup(specs);
    expect(await collector.collect()).toBe(1002);
    expect(local.lists).toStrictEqual([{ limit: 500 }, { limit: 500, startAfter: local.records[499]!.key }, { limit: 500, startAfter: local.records[999]!.key }]);
    expect(cluster.deletes).toEqual(local.records.map((r) => show(r.key)));
    const uploadLookups = cluster.lookups.filter((l) => l.startsWith('ListParts'));
    expect(uploadLookups).toEqual(Array.from({ length: 334 }, (_, i) => `ListParts .uploads/b|k${i + 1}|${uid(i + 1)}`));
  });

  it('a node that holds no parts finishes a pass at once, and the worker runs passes under its name parts-gc', async () => {
    const { cluster, local, collector, logged } = setup([]);
    expect(collector.name).toBe('parts-gc');
    expect(await collector.collect()).toBe(0);
    expect([local.lists.length, cluster.lookups.length, logged.length]).toEqual([1, 0, 0]);
    expect(collector.status()).toEqual({ runs: 1, deleted: 0, skippedUploads: 0 });
  });

  it('runOnce is a collecting pass, and an aborted signal stops it before it lists anything', async () => {
    const { cluster, local, collector } = setup([{ upload: 12, n: 1, version: at(OLD) }]);
    const stopped = new AbortController();
    stopped.abort();
    await expect(collector.runOnce(stopped.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(local.lists).toEqual([]);
    await collector.runOnce(new AbortController().signal);
    expect(cluster.deletes).toEqual([show(partKey(12, 1))]);
    expect(collector.status()).toEqual({ runs: 1, deleted: 1, skippedUploads: 0 });
  });
});
