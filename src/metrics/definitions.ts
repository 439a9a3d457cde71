/**
 * The single metrics factory: every ringstore metric is defined here, on an injected
 * registry, and documented in docs/metrics.md. Other layers receive `Metrics | null`
 * and never import prom-client themselves.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Typed handles on every metric of a node. */
export interface Metrics {
  readonly registry: Registry;
  readonly s3Requests: Counter<'op' | 'code'>;
  readonly s3RequestDuration: Histogram<'op'>;
  readonly s3BytesIn: Counter<never>;
  readonly s3BytesOut: Counter<never>;
  readonly rpcRequestDuration: Histogram<'peer' | 'method'>;
  readonly quorumFailures: Counter<'op'>;
  readonly readRepairs: Counter<never>;
  /** Stored copies this node found corrupt and quarantined, by where the body lived. */
  readonly corruptBodies: Counter<'storage'>;
  /** Reads this node coordinated that met a corrupt copy and moved on to another holder. */
  readonly corruptReads: Counter<never>;
  /** Corrupt copies replaced by a good replica's body (same version, byte-identical). */
  readonly corruptRepairs: Counter<never>;
  /** Garbage deleted by the collectors: kind `temp`, `staged`, `unreferenced` (local files) or `part` (multipart parts). */
  readonly gcCollected: Counter<'kind'>;
  /** Shared partitions anti-entropy compared with a peer (in equal subtrees or entry by entry). */
  readonly antiEntropyPartitionsCompared: Counter<never>;
  /** Keys anti-entropy copied to a replica that lacked them, held an older version or a quarantined copy. */
  readonly antiEntropyKeysRepaired: Counter<'reason'>;
  /** Body bytes anti-entropy copied between replicas. */
  readonly antiEntropyBytesRepaired: Counter<never>;
  /** Planned anti-entropy copies that failed (retried by the next pass). */
  readonly antiEntropyRepairFailures: Counter<never>;
  /** Body bytes the scrub worker re-read and checked. */
  readonly scrubBytes: Counter<never>;
  /** Bodies the scrub worker re-read and checked. */
  readonly scrubObjects: Counter<never>;
  /** Copies the scrub worker found corrupt (quarantined and handed to repair). */
  readonly scrubCorruptions: Counter<never>;
  /** Share (0 … 1) of the partitions the current scrub pass has covered. */
  readonly scrubPassProgress: Gauge<never>;
  /** Tombstones purged by the tombstone GC once every replica held them. */
  readonly tombstonesPurged: Counter<never>;
  readonly clusterNodes: Gauge<'state'>;
  /** Liveness changes of peers as this node's failure detector saw them, by peer and new state. */
  readonly peerStateChanges: Counter<'peer' | 'to'>;
  readonly clockOffset: Gauge<never>;
  readonly clockPeerOffset: Gauge<'peer'>;
  readonly clockSkewed: Gauge<never>;
  readonly clockRefusedWrites: Counter<never>;
  readonly clockFutureVersions: Counter<never>;
  /** Hints this node stored for down owners (writes it holds as a fallback). */
  readonly hintsQueued: Counter<never>;
  /** Hints delivered to their owner (and dropped here). */
  readonly hintsDelivered: Counter<never>;
  /** Hints dropped undelivered, by reason (`size`, `age`, `unreadable`); their partitions go to anti-entropy. */
  readonly hintsDropped: Counter<'reason'>;
  /** Body bytes of the hints this node holds, as of its last scan. */
  readonly hintQueueBytes: Gauge<never>;
}

/** Creates every metric on `registry` (plus Node's default process metrics). */
export function createMetrics(registry: Registry, build: { version: string; commit: string }): Metrics {
  collectDefaultMetrics({ register: registry });
  const info = new Gauge({ name: 'ringstore_build_info', help: 'Build information; always 1.', labelNames: ['version', 'commit'], registers: [registry] });
  info.set({ version: build.version, commit: build.commit }, 1);
  return {
    registry,
    s3Requests: new Counter({
      name: 'ringstore_s3_requests_total',
      help: 'S3 requests answered, by operation and S3 error code ("OK" on success).',
      labelNames: ['op', 'code'],
      registers: [registry],
    }),
    s3RequestDuration: new Histogram({
      name: 'ringstore_s3_request_duration_seconds',
      help: 'Time from request start to the end of the response, by S3 operation.',
      labelNames: ['op'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    s3BytesIn: new Counter({ name: 'ringstore_s3_received_bytes_total', help: 'Object body bytes received from S3 clients.', registers: [registry] }),
    s3BytesOut: new Counter({ name: 'ringstore_s3_sent_bytes_total', help: 'Object body bytes sent to S3 clients.', registers: [registry] }),
    rpcRequestDuration: new Histogram({
      name: 'ringstore_rpc_request_duration_seconds',
      help: 'Node-to-node calls made by this node, by peer and method.',
      labelNames: ['peer', 'method'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    quorumFailures: new Counter({ name: 'ringstore_quorum_failures_total', help: 'Operations that could not reach their read or write quorum.', labelNames: ['op'], registers: [registry] }),
    readRepairs: new Counter({ name: 'ringstore_read_repairs_total', help: 'Stale replicas updated in the background after a read.', registers: [registry] }),
    corruptBodies: new Counter({
      name: 'ringstore_corrupt_bodies_total',
      help: 'Stored copies found corrupt on this node and quarantined, by storage (inline or blob).',
      labelNames: ['storage'],
      registers: [registry],
    }),
    corruptReads: new Counter({ name: 'ringstore_corrupt_reads_total', help: 'Reads coordinated here that met a corrupt copy and went on to another holder.', registers: [registry] }),
    corruptRepairs: new Counter({ name: 'ringstore_corrupt_repairs_total', help: 'Corrupt copies replaced with a good replica body by reads coordinated here.', registers: [registry] }),
    gcCollected: new Counter({
      name: 'ringstore_gc_collected_total',
      help: 'Garbage deleted by the collectors: temp files, stale stages and unreferenced blobs of the local store, and multipart parts no upload or object references.',
      labelNames: ['kind'],
      registers: [registry],
    }),
    antiEntropyPartitionsCompared: new Counter({
      name: 'ringstore_antientropy_partitions_compared_total',
      help: 'Shared partitions anti-entropy compared with a peer, found equal in the tree or compared key by key.',
      registers: [registry],
    }),
    antiEntropyKeysRepaired: new Counter({
      name: 'ringstore_antientropy_keys_repaired_total',
      help: 'Keys anti-entropy copied to a replica, by reason: missing, stale (older version) or quarantined (corrupt copy).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    antiEntropyBytesRepaired: new Counter({ name: 'ringstore_antientropy_bytes_repaired_total', help: 'Body bytes anti-entropy copied between replicas.', registers: [registry] }),
    antiEntropyRepairFailures: new Counter({
      name: 'ringstore_antientropy_repair_failures_total',
      help: 'Planned anti-entropy copies that failed; the next pass plans them again.',
      registers: [registry],
    }),
    hintsQueued: new Counter({ name: 'ringstore_hints_queued_total', help: 'Hints stored on this node for down owners (writes it holds as a fallback).', registers: [registry] }),
    hintsDelivered: new Counter({ name: 'ringstore_hints_delivered_total', help: 'Hints delivered to their owner and dropped here.', registers: [registry] }),
    hintsDropped: new Counter({
      name: 'ringstore_hints_dropped_total',
      help: 'Hints dropped undelivered (size or age bound, unreadable copy); their partitions are handed to anti-entropy.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    hintQueueBytes: new Gauge({ name: 'ringstore_hint_queue_bytes', help: 'Body bytes of the hints held on this node, as of the last delivery scan.', registers: [registry] }),
    scrubBytes: new Counter({ name: 'ringstore_scrub_bytes_total', help: 'Body bytes the scrub worker re-read and checked against their CRC32s.', registers: [registry] }),
    scrubObjects: new Counter({ name: 'ringstore_scrub_objects_total', help: 'Bodies the scrub worker re-read and checked.', registers: [registry] }),
    scrubCorruptions: new Counter({
      name: 'ringstore_scrub_corruptions_total',
      help: 'Copies the scrub worker found corrupt; each is quarantined and replaced from a good replica.',
      registers: [registry],
    }),
    scrubPassProgress: new Gauge({ name: 'ringstore_scrub_pass_progress_ratio', help: 'Share (0 to 1) of the partitions the current scrub pass has covered.', registers: [registry] }),
    tombstonesPurged: new Counter({
      name: 'ringstore_tombstones_purged_total',
      help: 'Tombstones older than replication.tombstoneGraceMs purged once every replica held them.',
      registers: [registry],
    }),
    clusterNodes: new Gauge({ name: 'ringstore_cluster_nodes', help: 'Members of the layout by liveness as this node sees them.', labelNames: ['state'], registers: [registry] }),
    peerStateChanges: new Counter({
      name: 'ringstore_peer_state_changes_total',
      help: "Liveness changes of a peer as this node's failure detector saw them, by peer and new state (up, suspect, down).",
      labelNames: ['peer', 'to'],
      registers: [registry],
    }),
    clockOffset: new Gauge({
      name: 'ringstore_clock_offset_seconds',
      help: "This node's clock minus the median of the cluster's clocks (itself included), from ping round trips; positive when ahead.",
      registers: [registry],
    }),
    clockPeerOffset: new Gauge({
      name: 'ringstore_clock_peer_offset_seconds',
      help: "A peer's clock minus this node's: the median of its recent ping samples.",
      labelNames: ['peer'],
      registers: [registry],
    }),
    clockSkewed: new Gauge({
      name: 'ringstore_clock_skewed',
      help: '1 while this node refuses writes because its clock disagrees with the majority by more than cluster.maxClockOffsetMs, else 0.',
      registers: [registry],
    }),
    clockRefusedWrites: new Counter({
      name: 'ringstore_clock_refused_writes_total',
      help: "Writes refused with 503 because of this node's clock (skewed, or behind its high-water mark after a restart).",
      registers: [registry],
    }),
    clockFutureVersions: new Counter({
      name: 'ringstore_clock_future_versions_total',
      help: 'Versions seen from other nodes further ahead of this clock than cluster.maxClockOffsetMs: not adopted by the hybrid clock.',
      registers: [registry],
    }),
  };
}
