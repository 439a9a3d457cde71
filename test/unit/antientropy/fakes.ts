/**
 * In-memory replicas for the anti-entropy tests: entries in Maps, partition digests kept with the
 * store's XOR rule (XOR out the old leaf, XOR in the new), a responder serving each one through
 * the real codecs (counting bytes and messages), and a repairer that copies between them.
 */
import type { Hasher } from '../../../src/ring/hasher.js';
import { entriesRequestCodec, entriesResponseCodec, summariesRequestCodec, summariesResponseCodec } from '../../../src/antientropy/codec.js';
import { MerkleResponder } from '../../../src/antientropy/responder.js';
import { SharedPartitions } from '../../../src/antientropy/shared.js';
import { entryId } from '../../../src/antientropy/plan.js';
import type { EntryPage, MerklePeer, MerkleSource, PartitionPlacement, RepairItem, RepairOutcome, Repairer, ReplicaEntry } from '../../../src/antientropy/types.js';
import { compareUtf8 } from '../../../src/util/utf8-order.js';
import { compareVersions, type Version } from '../../../src/util/clock.js';

/** A replica whose store is a Map. */
export class FakeReplica implements MerkleSource {
  readonly id: string;
  readonly #hasher: Hasher;
  readonly #digests = new BigUint64Array(65_536);
  readonly #byPartition = new Map<number, Map<string, ReplicaEntry>>();
  scans = 0;

  constructor(id: string, hasher: Hasher) {
    this.id = id;
    this.#hasher = hasher;
  }

  partitionOf(bucket: string, key: string): number {
    return Number(this.#hasher.h64(`${bucket}\0${key}`) >> 48n);
  }

  #leaf(e: ReplicaEntry): bigint {
    return this.#hasher.h64(`${e.bucket}\0${e.key}\0${e.version.hlc}\0${e.version.node}\0${e.tombstone ? 1 : 0}\0${e.storage === 'quarantined' ? 1 : 0}`);
  }

  /** Replaces whatever is held for the key (no newest-wins check: tests set up states directly). */
  set(e: ReplicaEntry): void {
    const p = this.partitionOf(e.bucket, e.key);
    let m = this.#byPartition.get(p);
    if (!m) this.#byPartition.set(p, (m = new Map()));
    const old = m.get(entryId(e));
    let d = this.#digests[p] ?? 0n;
    if (old) d ^= this.#leaf(old);
    m.set(entryId(e), e);
    this.#digests[p] = d ^ this.#leaf(e);
  }

  get(bucket: string, key: string): ReplicaEntry | undefined {
    return this.#byPartition.get(this.partitionOf(bucket, key))?.get(`${bucket}\0${key}`);
  }

  delete(bucket: string, key: string): void {
    const p = this.partitionOf(bucket, key);
    const old = this.#byPartition.get(p)?.get(`${bucket}\0${key}`);
    if (!old) return;
    this.#byPartition.get(p)?.delete(`${bucket}\0${key}`);
    this.#digests[p] = (this.#digests[p] ?? 0n) ^ this.#leaf(old);
  }

  /** A replica with the same entries under another id. */
  clone(id: string): FakeReplica {
    const copy = new FakeReplica(id, this.#hasher);
    copy.#digests.set(this.#digests);
    for (const [p, m] of this.#byPartition) copy.#byPartition.set(p, new Map(m));
    return copy;
  }

  wipe(): void {
    this.#byPartition.clear();
    this.#digests.fill(0n);
  }

  all(): ReplicaEntry[] {
    return [...this.#byPartition.values()].flatMap((m) => [...m.values()]).sort((a, b) => compareUtf8(entryId(a), entryId(b)));
  }

  partitionDigests(): BigUint64Array {
    return this.#digests;
  }

  scanPartition(partition: number, options: { after?: string; limit: number }): Promise<EntryPage> {
    this.scans++;
    const after = options.after;
    const sorted = [...(this.#byPartition.get(partition)?.values() ?? [])].sort((a, b) => compareUtf8(entryId(a), entryId(b)));
    const rest = after === undefined ? sorted : sorted.filter((e) => compareUtf8(entryId(e), after) > 0);
    const entries = rest.slice(0, options.limit);
    const last = entries.at(-1);
    return Promise.resolve(rest.length > entries.length && last ? { entries, next: entryId(last) } : { entries });
  }
}

/** An object entry. */
export function entry(bucket: string, key: string, version: Version, extra: Partial<ReplicaEntry> = {}): ReplicaEntry {
  return { bucket, key, version, tombstone: false, storage: 'inline', size: 100, ...extra };
}

/** Placement where every partition is owned by `ids` (or by `owners(p)`). */
export function placement(ids: readonly string[], owners?: (p: number) => readonly string[], layoutVersion = 1): PartitionPlacement {
  return { layoutVersion, ownersOf: owners ?? (() => ids) };
}

/** Bytes and messages that went over one or more links. */
export interface Traffic {
  bytes: number;
  messages: number;
  summaryRequests: number;
  entryRequests: number;
}

export const newTraffic = (): Traffic => ({ bytes: 0, messages: 0, summaryRequests: 0, entryRequests: 0 });

/** `asker`'s view of `target`: every call encoded, decoded by the target's responder, answered, and decoded back. */
export function link(target: FakeReplica, layout: () => PartitionPlacement, traffic: Traffic, down?: () => boolean): MerklePeer {
  const responder = new MerkleResponder({ source: target, placement: layout, shared: new SharedPartitions(target.id) });
  const check = (): void => {
    if (down?.()) throw new Error(`${target.id} is down`);
  };
  return {
    id: target.id,
    summaries(request) {
      check();
      const req = summariesRequestCodec.encode(request);
      const res = summariesResponseCodec.encode(responder.summaries(summariesRequestCodec.decode(req)));
      traffic.bytes += req.length + res.length;
      traffic.messages += 2;
      traffic.summaryRequests++;
      return Promise.resolve(summariesResponseCodec.decode(res));
    },
    async entries(request) {
      check();
      const req = entriesRequestCodec.encode(request);
      const res = entriesResponseCodec.encode(await responder.entries(entriesRequestCodec.decode(req)));
      traffic.bytes += req.length + res.length;
      traffic.messages += 2;
      traffic.entryRequests++;
      return entriesResponseCodec.decode(res);
    },
  };
}

/** Copies between fake replicas as the read repairer would: only exactly `version`, only a good copy, only if newer or fixing a quarantined copy. */
export class FakeRepairer implements Repairer {
  readonly #replicas: ReadonlyMap<string, FakeReplica>;
  readonly copies: RepairItem[] = [];
  failWith: Error | undefined;

  constructor(replicas: readonly FakeReplica[]) {
    this.#replicas = new Map(replicas.map((r) => [r.id, r]));
  }

  copy(item: RepairItem): Promise<RepairOutcome> {
    if (this.failWith) return Promise.reject(this.failWith);
    this.copies.push(item);
    const source = this.#replicas.get(item.source)?.get(item.bucket, item.key);
    const target = this.#replicas.get(item.target);
    if (!source || !target || compareVersions(source.version, item.version) !== 0 || (!source.tombstone && source.storage === 'quarantined')) return Promise.resolve({ applied: false, bytes: 0 });
    const held = target.get(item.bucket, item.key);
    const order = held ? compareVersions(held.version, item.version) : -1;
    if (order > 0 || (order === 0 && held?.storage !== 'quarantined')) return Promise.resolve({ applied: false, bytes: 0 });
    target.set(source);
    return Promise.resolve({ applied: true, bytes: source.tombstone ? 0 : source.size });
  }
}
