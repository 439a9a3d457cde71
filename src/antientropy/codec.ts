/**
 * Compact binary codecs for the exchange messages, so that two in-sync replicas spend a few
 * hundred bytes per pass: varints for numbers, a 16-bit presence map before the 8-byte child
 * summaries (empty ranges cost nothing), and entry lists that say a bucket or version node once
 * while it repeats. Decoders validate everything and fail with RpcProtocol.
 */
import { BinaryReader, BinaryWriter, type BinaryCodec } from '../util/binary-codec.js';
import { RingstoreError } from '../util/errors.js';
import { FANOUT, checkInterior } from './merkle.js';
import type { EntriesRequest, EntriesResponse, EntryStorage, ReplicaEntry, SummariesRequest, SummariesResponse, TreeNode } from './types.js';

const TAG = { summariesRequest: 1, summariesResponse: 2, entriesRequest: 3, entriesResponse: 4 } as const;
const STORAGE: readonly EntryStorage[] = ['inline', 'blob', 'quarantined'];
const F_TOMBSTONE = 1;
const F_SAME_BUCKET = 8;
const F_SAME_NODE = 16;

function protocol(message: string): RingstoreError {
  return new RingstoreError('RpcProtocol', `merkle message: ${message}`);
}

const MESSAGE = 'merkle message';

function partition(r: BinaryReader): number {
  const p = r.varint();
  if (p >= 65_536) throw protocol(`partition ${p} out of range`);
  return p;
}

export const summariesRequestCodec: BinaryCodec<SummariesRequest> = {
  encode(req) {
    const w = new BinaryWriter();
    w.byte(TAG.summariesRequest);
    w.varint(req.layoutVersion);
    w.string(req.from);
    w.varint(req.nodes.length);
    for (const node of req.nodes) {
      w.byte(node.level);
      w.varint(node.index);
    }
    return w.done();
  },
  decode(bytes) {
    const r = new BinaryReader(bytes, MESSAGE);
    r.tag(TAG.summariesRequest);
    const layoutVersion = r.varint();
    const from = r.string();
    const nodes: TreeNode[] = Array.from({ length: r.varint() }, () => {
      const node = { level: r.byte(), index: r.varint() };
      try {
        checkInterior(node);
      } catch {
        throw protocol(`(${node.level}, ${node.index}) is not an interior tree node`);
      }
      return node;
    });
    return r.end({ layoutVersion, from, nodes });
  },
};

export const summariesResponseCodec: BinaryCodec<SummariesResponse> = {
  encode(res) {
    const w = new BinaryWriter();
    w.byte(TAG.summariesResponse);
    w.varint(res.layoutVersion);
    w.varint(res.summaries.length);
    for (const children of res.summaries) {
      let present = 0;
      for (let i = 0; i < FANOUT; i++) if ((children[i] ?? 0n) !== 0n) present |= 1 << i;
      w.byte(present & 0xff);
      w.byte(present >> 8);
      for (let i = 0; i < FANOUT; i++) if ((present >> i) & 1) w.u64(children[i] ?? 0n);
    }
    return w.done();
  },
  decode(bytes) {
    const r = new BinaryReader(bytes, MESSAGE);
    r.tag(TAG.summariesResponse);
    const layoutVersion = r.varint();
    const summaries = Array.from({ length: r.varint() }, () => {
      const present = r.byte() | (r.byte() << 8);
      return Array.from({ length: FANOUT }, (_, i) => ((present >> i) & 1 ? r.u64() : 0n));
    });
    return r.end({ layoutVersion, summaries });
  },
};

export const entriesRequestCodec: BinaryCodec<EntriesRequest> = {
  encode(req) {
    const w = new BinaryWriter();
    w.byte(TAG.entriesRequest);
    w.varint(req.layoutVersion);
    w.varint(req.limit);
    w.byte(req.after === undefined ? 0 : 1);
    if (req.after !== undefined) w.string(req.after);
    w.varint(req.partitions.length);
    for (const p of req.partitions) w.varint(p);
    return w.done();
  },
  decode(bytes) {
    const r = new BinaryReader(bytes, MESSAGE);
    r.tag(TAG.entriesRequest);
    const layoutVersion = r.varint();
    const limit = r.varint();
    if (limit < 1) throw protocol('limit must be at least 1');
    const after = r.byte() === 1 ? r.string() : undefined;
    const partitions = Array.from({ length: r.varint() }, () => partition(r));
    return r.end(after === undefined ? { layoutVersion, limit, partitions } : { layoutVersion, limit, partitions, after });
  },
};

export const entriesResponseCodec: BinaryCodec<EntriesResponse> = {
  encode(res) {
    const w = new BinaryWriter();
    w.byte(TAG.entriesResponse);
    let bucket: string | undefined;
    let node: string | undefined;
    w.varint(res.groups.length);
    for (const group of res.groups) {
      w.varint(group.partition);
      w.varint(group.entries.length);
      for (const e of group.entries) {
        const sameBucket = e.bucket === bucket;
        const sameNode = e.version.node === node;
        w.byte((e.tombstone ? F_TOMBSTONE : 0) | (STORAGE.indexOf(e.storage) << 1) | (sameBucket ? F_SAME_BUCKET : 0) | (sameNode ? F_SAME_NODE : 0));
        if (!sameBucket) w.string((bucket = e.bucket));
        w.string(e.key);
        w.varint(e.version.hlc);
        if (!sameNode) w.string((node = e.version.node));
        w.varint(e.size);
      }
    }
    w.byte(res.next === undefined ? 0 : 1);
    if (res.next) {
      w.varint(res.next.partition);
      w.string(res.next.after);
    }
    return w.done();
  },
  decode(bytes) {
    const r = new BinaryReader(bytes, MESSAGE);
    r.tag(TAG.entriesResponse);
    let bucket: string | undefined;
    let node: string | undefined;
    const groups = Array.from({ length: r.varint() }, () => {
      const p = partition(r);
      const entries = Array.from({ length: r.varint() }, (): ReplicaEntry => {
        const flags = r.byte();
        const storage = STORAGE[(flags >> 1) & 3];
        if (storage === undefined || flags >= 32) throw protocol(`bad entry flags ${flags}`);
        if (!(flags & F_SAME_BUCKET)) bucket = r.string();
        const key = r.string();
        const hlc = r.varint();
        if (!(flags & F_SAME_NODE)) node = r.string();
        if (bucket === undefined || node === undefined) throw protocol('entry refers to a previous entry that does not exist');
        return { bucket, key, version: { hlc, node }, tombstone: (flags & F_TOMBSTONE) !== 0, storage, size: r.varint() };
      });
      return { partition: p, entries };
    });
    const next = r.byte() === 1 ? { partition: partition(r), after: r.string() } : undefined;
    return r.end(next === undefined ? { groups } : { groups, next });
  },
};
