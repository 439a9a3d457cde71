/**
 * The configuration of one node: the type, and for every key its default and one sentence.
 * `load.ts` merges defaults < file < RINGSTORE_* env < flags and validates against this.
 */

/** A member of the initial cluster layout, as written in config. */
export interface MemberConfig {
  id: string;
  /** RPC address "host:port". */
  address: string;
  zone: string;
  capacity: number;
}

/** Effective configuration of one node. */
export interface Config {
  /** This node's id; must be one of cluster.members unless the node is a gateway only. */
  nodeId: string;
  /** Directory for metadata (LevelDB) and blob files. Created if missing. */
  dataDir: string;
  s3: {
    /** "host:port" the S3 API listens on. */
    listen: string;
    /** Region used in SigV4 scopes. */
    region: string;
    /** Root access key id (or RINGSTORE_ACCESS_KEY). */
    accessKey: string;
    /** Root secret key (or RINGSTORE_SECRET_KEY / RINGSTORE_SECRET_KEY_FILE). Secret. */
    secretKey: string;
    /** Largest accepted single PUT body in bytes (S3: 5 GiB). */
    maxObjectSize: number;
    /** A request body or response that makes no progress this long (ms) is ended (RequestTimeout). */
    idleTimeoutMs: number;
    /** Time a client has to send a request's complete headers (ms). */
    headersTimeoutMs: number;
    /** Open connections accepted on the S3 port; more are closed at once. */
    maxConnections: number;
    /** S3 requests served at once by this node; more are answered 503 SlowDown. */
    maxConcurrentRequests: number;
    /** Domain under which `bucket.<rootDomain>` Hosts address buckets (virtual-hosted style); empty: path style only. */
    rootDomain: string;
    /** Accept SigV2 query-string presigned URLs (`AWSAccessKeyId`, `Expires`, `Signature`). */
    allowSigV2Presigned: boolean;
  };
  rpc: {
    /** "host:port" the node-to-node RPC (and admin) API listens on. */
    listen: string;
    /** Shared cluster secret authenticating node-to-node calls (or RINGSTORE_CLUSTER_SECRET[_FILE]). Secret. */
    secret: string;
    /** Per-replica request timeout in ms: a dead or hung peer never holds a request longer. */
    timeoutMs: number;
    /** Open connections accepted on the RPC port; more are closed at once. */
    maxConnections: number;
    /** Connections to each peer for streaming calls (stage, read); small calls have a pool of their own. */
    streamsPerPeer: number;
  };
  replication: {
    /** N: replicas per object. */
    factor: number;
    /** R: replica answers a read waits for. */
    readQuorum: number;
    /** W: durable replica acks a write waits for. */
    writeQuorum: number;
    /** Percentage of reads that ask all N replicas (not just R), so read repair reaches every replica. */
    readRepairPercent: number;
    /** Tombstones older than this (ms) may be purged once every replica holds them; anti-entropy never copies one that old to a replica lacking it. */
    tombstoneGraceMs: number;
    /** Let a fallback's ack (a hint for a down owner) count toward W; strict (false) by default. */
    sloppyQuorum: boolean;
  };
  hints: {
    /** Most body bytes of writes this node keeps as hints for down owners; the oldest beyond it are dropped. */
    maxBytes: number;
    /** Hints older than this (ms) are dropped; anti-entropy repairs their partitions instead. */
    maxAgeMs: number;
  };
  antiEntropy: {
    /** Run the anti-entropy worker (compare and repair replicas in the background). */
    enabled: boolean;
    /** Milliseconds from the end of one full pass over every peer to the start of the next. */
    intervalMs: number;
    /** Differing partitions compared key by key per second, at most. */
    maxPartitionsPerSecond: number;
    /** Body bytes copied per second by repairs, in MiB, at most. */
    maxMiBps: number;
    /** Differing partitions compared per entries request to a peer. */
    batchPartitions: number;
    /** A refilling node stops waiting for a peer it could not reach once that peer was down this long (ms). */
    refillPeerWaitMs: number;
  };
  scrub: {
    /** Run the scrub worker (re-read every stored body to find corrupt copies). */
    enabled: boolean;
    /** Milliseconds from the start of one full scrub pass to the start of the next. */
    intervalMs: number;
    /** Body bytes scrub reads per second, in MiB, at most (each object also costs a seek's worth). */
    maxMiBps: number;
  };
  tombstoneGc: {
    /** Run the tombstone GC worker. */
    enabled: boolean;
    /** Milliseconds from the end of one tombstone GC pass to the start of the next. */
    intervalMs: number;
  };
  ring: {
    /** Tokens per unit of capacity. */
    vnodesPerUnit: number;
  };
  store: {
    /** Bodies up to this many bytes are stored inline in the metadata DB. */
    inlineThreshold: number;
    /** fsync bodies and metadata before acknowledging (turn off only for throwaway test clusters). */
    fsync: boolean;
    /** Write blob files with O_DIRECT where the file system allows it. */
    directIo: boolean;
    /** Milliseconds between passes of the garbage collectors (store-gc, parts-gc). */
    gcIntervalMs: number;
    /** Stages and leftover files younger than this are never collected. */
    orphanAgeMs: number;
    /** Multipart parts written less than this long ago are never collected. */
    partGraceMs: number;
    /** How long a replaced blob file is kept for reads still streaming it. */
    blobDeleteDelayMs: number;
  };
  cluster: {
    /** The initial layout (version 1) when the node has none stored yet. */
    members: MemberConfig[];
    /** Milliseconds between liveness pings to each peer. */
    pingIntervalMs: number;
    /** A ping unanswered within this (at most rpc.timeoutMs) is missed. */
    pingTimeoutMs: number;
    /** Missed pings in a row after which a peer is marked down. */
    downAfterMisses: number;
    /** Largest offset (ms) of a node's clock from the cluster majority at which it accepts writes. */
    maxClockOffsetMs: number;
  };
  log: {
    /** pino level: trace, debug, info, warn, error, fatal, silent. */
    level: string;
  };
  admin: {
    /** Bearer token of the admin API under /admin/v1/ on the RPC port; empty disables it. Secret. */
    token: string;
  };
  metrics: {
    /** When non-empty, GET /metrics on the RPC port requires `Authorization: Bearer <token>`. Secret. */
    token: string;
  };
}

/** The pino log levels accepted by `log.level`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** How a key's value is written and checked. */
export type ConfigKind = 'string' | 'int' | 'bool' | 'hostport' | 'size' | 'enum' | 'members';

/** A value a key may default to. */
export type ConfigDefault = string | number | boolean | readonly MemberConfig[];

/** One configuration key: where it lives, its default, how it is set and what it accepts. */
export interface ConfigKeySpec {
  /** Dotted path in `Config` and in the JSON file; also the flag name (`--s3.listen`). */
  readonly path: string;
  readonly kind: ConfigKind;
  /** Built-in default; absent for required keys and keys derived from others (see `defaultText`). */
  readonly default?: ConfigDefault;
  /** How the default reads in docs when it is derived or there is none. */
  readonly defaultText?: string;
  /** One sentence for docs and `--help`. */
  readonly doc: string;
  /** Redacted by `config print`; its value never appears in an error message. */
  readonly secret: boolean;
  /** The `RINGSTORE_*` environment variable that overrides the file. */
  readonly env: string;
  /** The environment variable naming a file to read the value from (secrets only). */
  readonly fileEnv?: string;
  /** Inclusive lower bound (int, size) or minimum length (string). */
  readonly min?: number;
  /** Inclusive upper bound (int, size) or maximum length (string). */
  readonly max?: number;
  /** Accepted values (enum). */
  readonly values?: readonly string[];
  /** Accepted form (string). */
  readonly pattern?: RegExp;
  /** `pattern` in words, used after "expected" in error messages. */
  readonly form?: string;
  /** hostport: whether port 0 (bind any free port) is accepted. */
  readonly anyPort?: boolean;
}

/** `RINGSTORE_` + the path in SCREAMING_SNAKE_CASE: `s3.maxObjectSize` → `RINGSTORE_S3_MAX_OBJECT_SIZE`. */
export function envNameFor(path: string): string {
  return `RINGSTORE_${path
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/\./g, '_')
    .toUpperCase()}`;
}

const GiB = 1024 ** 3;

function key(spec: Omit<ConfigKeySpec, 'env' | 'secret'> & { env?: string; secret?: boolean }): ConfigKeySpec {
  return { ...spec, env: spec.env ?? envNameFor(spec.path), secret: spec.secret ?? false };
}

/**
 * Every configuration key, in documentation order. This table is the single source for
 * defaults, environment variable names, flags, validation bounds, redaction and the docs test.
 */
export const CONFIG_KEYS: readonly ConfigKeySpec[] = [
  key({
    path: 'nodeId',
    kind: 'string',
    defaultText: '(required)',
    doc: "This node's id; it must appear in cluster.members unless the node is a gateway only.",
    pattern: /^[A-Za-z0-9_.-]{1,64}$/,
    form: 'a node id of 1–64 characters from A–Z a–z 0–9 _ . -',
  }),
  key({
    path: 'dataDir',
    kind: 'string',
    defaultText: './data/<nodeId>',
    doc: 'Directory for the metadata database and blob files; created if missing.',
    pattern: /^[^\0]+$/,
    form: 'a non-empty directory path',
  }),
  key({ path: 's3.listen', kind: 'hostport', default: '127.0.0.1:9000', anyPort: true, doc: 'Address "host:port" the S3 API listens on; use 0.0.0.0:9000 to accept connections from other machines.' }),
  key({
    path: 's3.region',
    kind: 'string',
    default: 'us-east-1',
    doc: 'Region name clients sign requests for (the SigV4 scope).',
    pattern: /^[A-Za-z0-9_.-]{1,64}$/,
    form: 'a region name of 1–64 characters from A–Z a–z 0–9 _ . -',
  }),
  key({
    path: 's3.accessKey',
    kind: 'string',
    env: 'RINGSTORE_ACCESS_KEY',
    defaultText: '(required)',
    doc: 'Access key id of the root S3 credentials.',
    pattern: /^[^\s/]{1,128}$/,
    form: "a non-empty access key id of at most 128 characters, without spaces or '/'",
  }),
  key({
    path: 's3.secretKey',
    kind: 'string',
    env: 'RINGSTORE_SECRET_KEY',
    fileEnv: 'RINGSTORE_SECRET_KEY_FILE',
    secret: true,
    defaultText: '(required)',
    doc: 'Secret key of the root S3 credentials.',
    pattern: /^[^\s]{16,128}$/,
    form: 'a secret key of 16 to 128 characters, without spaces (e.g. `openssl rand -base64 30`)',
  }),
  key({ path: 's3.maxObjectSize', kind: 'size', default: 5 * GiB, min: 1, max: 5 * 1024 * GiB, doc: 'Largest body a single PUT may send, in bytes or with a unit (S3 allows 5 GiB).' }),
  key({
    path: 's3.idleTimeoutMs',
    kind: 'int',
    default: 20_000,
    min: 100,
    max: 3_600_000,
    doc: 'A request body that stops arriving, or a streamed response the client stops reading, for this many milliseconds is ended: an upload gets 400 RequestTimeout, a download is cut. Waiting on this node (e.g. slow replicas) does not count.',
  }),
  key({
    path: 's3.headersTimeoutMs',
    kind: 'int',
    default: 30_000,
    min: 100,
    max: 600_000,
    doc: 'Milliseconds a client has to send the complete headers of a request; a connection that takes longer is closed.',
  }),
  key({
    path: 's3.maxConnections',
    kind: 'int',
    default: 2048,
    min: 1,
    max: 1_000_000,
    doc: 'Open connections the S3 port accepts; further ones are closed at once. Each costs a file descriptor (and uploads two more, to peers).',
  }),
  key({
    path: 's3.maxConcurrentRequests',
    kind: 'int',
    default: 256,
    min: 1,
    max: 100_000,
    doc: 'S3 requests this node serves at once (a request counts until its response is sent); further ones get 503 SlowDown, which SDKs retry with backoff. Health probes are not counted.',
  }),
  key({
    path: 's3.rootDomain',
    kind: 'string',
    default: '',
    doc: 'Domain for virtual-hosted–style addressing: a request whose Host is `bucket.<rootDomain>` (any port) addresses that bucket and its path is the key; any other Host (the root domain itself, an IP address) is path style. Empty: path style only.',
    pattern: /^$|^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/,
    form: 'empty, or a lower-case domain name such as s3.localhost (no port, no scheme)',
  }),
  key({
    path: 's3.allowSigV2Presigned',
    kind: 'bool',
    default: true,
    doc: 'Accept Signature Version 2 presigned URLs (`?AWSAccessKeyId=…&Expires=…&Signature=…`, what `s3cmd signurl` makes). SigV2 `Authorization` headers are refused either way.',
  }),
  key({
    path: 'rpc.listen',
    kind: 'hostport',
    default: '127.0.0.1:9100',
    anyPort: true,
    doc: 'Address "host:port" the node-to-node RPC and admin API listens on; peers reach it at this node\'s cluster.members address.',
  }),
  key({
    path: 'rpc.secret',
    kind: 'string',
    env: 'RINGSTORE_CLUSTER_SECRET',
    fileEnv: 'RINGSTORE_CLUSTER_SECRET_FILE',
    secret: true,
    defaultText: '(required)',
    doc: 'Shared cluster secret that authenticates node-to-node calls; the same on every node.',
    pattern: /^.{16,}$/s,
    form: 'a secret of at least 16 characters (e.g. `openssl rand -hex 16`)',
  }),
  key({ path: 'rpc.timeoutMs', kind: 'int', default: 5000, min: 1, max: 600_000, doc: 'Per-replica request timeout in milliseconds: a dead or hung peer never holds a request longer.' }),
  key({
    path: 'rpc.maxConnections',
    kind: 'int',
    default: 4096,
    min: 1,
    max: 1_000_000,
    doc: 'Open connections the RPC port accepts; further ones are closed at once. Allow for every peer opening rpc.streamsPerPeer + 32 connections.',
  }),
  key({
    path: 'rpc.streamsPerPeer',
    kind: 'int',
    default: 64,
    min: 1,
    max: 10_000,
    doc: 'Connections this node opens to each peer for streaming calls (stage, read); heads, commits and pings have 32 of their own, so that stalled streams never hold them up. A stream beyond this waits up to rpc.timeoutMs for a connection.',
  }),
  key({ path: 'replication.factor', kind: 'int', default: 3, min: 1, doc: 'N: how many replicas each object has.' }),
  key({ path: 'replication.readQuorum', kind: 'int', default: 2, min: 1, doc: 'R: replica answers a read waits for (1 ≤ R ≤ N).' }),
  key({ path: 'replication.writeQuorum', kind: 'int', default: 2, min: 1, doc: 'W: durable replica acknowledgements a write waits for (1 ≤ W ≤ N).' }),
  key({
    path: 'replication.readRepairPercent',
    kind: 'int',
    default: 10,
    min: 0,
    max: 100,
    doc: 'Percentage of reads that ask all N replicas instead of R, so that read repair reaches every replica (the others ask R, plus one more if a replica is slow or fails).',
  }),
  key({
    path: 'replication.tombstoneGraceMs',
    kind: 'int',
    default: 86_400_000,
    min: 60_000,
    max: 365 * 86_400_000,
    doc: 'Milliseconds a delete marker (tombstone) is kept before it may be purged, once every replica holds it; anti-entropy never copies a tombstone older than this to a replica that lacks it (it may have been purged there). A replica away longer than this must be wiped before it rejoins.',
  }),
  key({
    path: 'replication.sloppyQuorum',
    kind: 'bool',
    default: false,
    doc: "Let a fallback's ack count toward W when an owner is down (sloppy quorum). Off (strict): a write written to a fallback as a hint still needs W owners, so R+W>N keeps its promise. On, writes stay available with fewer than W owners up, but an acknowledged write may be invisible to quorum reads until its hint is delivered, and is lost if the fallback dies first.",
  }),
  key({
    path: 'hints.maxBytes',
    kind: 'size',
    default: 1024 * 1024 * 1024,
    min: 0,
    max: 1024 * GiB,
    doc: 'Most body bytes this node keeps as hints for down owners; beyond it the oldest hints are dropped (counted, and their partitions handed to anti-entropy).',
  }),
  key({
    path: 'hints.maxAgeMs',
    kind: 'int',
    default: 3 * 3_600_000,
    min: 1000,
    max: 30 * 86_400_000,
    doc: 'Hints older than this (ms) are dropped (counted, and their partitions handed to anti-entropy): an owner down this long is refilled by anti-entropy instead.',
  }),
  key({ path: 'antiEntropy.enabled', kind: 'bool', default: true, doc: "Run the anti-entropy worker, which compares this node's partitions with every peer sharing them and copies what differs." }),
  key({
    path: 'antiEntropy.intervalMs',
    kind: 'int',
    default: 60_000,
    min: 100,
    max: 86_400_000,
    doc: 'Milliseconds from the end of one full anti-entropy pass (every peer, every shared partition) to the start of the next; an in-sync pass costs a few hundred bytes per peer. Partitions queued by a dropped hint are compared at once.',
  }),
  key({
    path: 'antiEntropy.maxPartitionsPerSecond',
    kind: 'int',
    default: 4000,
    min: 1,
    max: 1_000_000,
    doc: 'Most differing partitions anti-entropy compares key by key per second (each costs a scan on both replicas); partitions found equal in the tree cost nothing.',
  }),
  key({ path: 'antiEntropy.maxMiBps', kind: 'int', default: 160, min: 1, max: 100_000, doc: 'Most body bytes anti-entropy repairs copy per second, in MiB/s (the rate a lost disk is refilled at).' }),
  key({ path: 'antiEntropy.batchPartitions', kind: 'int', default: 64, min: 1, max: 1024, doc: 'Differing partitions compared per entries request to a peer.' }),
  key({
    path: 'antiEntropy.refillPeerWaitMs',
    kind: 'int',
    default: 300_000,
    min: 0,
    max: 7 * 86_400_000,
    doc: 'A node refilling after an empty start serves reads once it compared with every peer that is up; a peer it cannot reach is waited for until that peer has been down this long (ms), then the refill goes on without it.',
  }),
  key({ path: 'scrub.enabled', kind: 'bool', default: true, doc: 'Run the scrub worker, which re-reads every body this node stores and has a corrupt copy replaced from a good replica.' }),
  key({
    path: 'scrub.intervalMs',
    kind: 'int',
    default: 604_800_000,
    min: 1000,
    max: 365 * 86_400_000,
    doc: 'Milliseconds from the start of one full scrub pass to the start of the next (7 days by default); a pass that takes longer is followed by the next at once.',
  }),
  key({
    path: 'scrub.maxMiBps',
    kind: 'int',
    default: 16,
    min: 1,
    max: 100_000,
    doc: 'Most body bytes scrub reads per second, in MiB/s; each object is also charged 64 KiB for its seek. 16 MiB/s is 10% of a 160 MiB/s disk and covers about 9 TiB per node in 7 days.',
  }),
  key({ path: 'tombstoneGc.enabled', kind: 'bool', default: true, doc: 'Run the tombstone GC worker, which purges tombstones older than replication.tombstoneGraceMs once every replica holds them.' }),
  key({
    path: 'tombstoneGc.intervalMs',
    kind: 'int',
    default: 3_600_000,
    min: 1000,
    max: 30 * 86_400_000,
    doc: 'Milliseconds from the end of one tombstone GC pass to the start of the next.',
  }),
  key({ path: 'ring.vnodesPerUnit', kind: 'int', default: 2048, min: 1, max: 4096, doc: 'Ring tokens per unit of member capacity; more tokens spread keys more evenly.' }),
  key({
    path: 'store.inlineThreshold',
    kind: 'size',
    default: 65536,
    min: 0,
    max: 16 * 1024 * 1024,
    doc: 'Bodies up to this size are stored inline in the metadata database instead of as blob files.',
  }),
  key({ path: 'store.fsync', kind: 'bool', default: true, doc: 'fsync bodies and metadata before acknowledging a write; turn off only for throwaway test clusters.' }),
  key({
    path: 'store.directIo',
    kind: 'bool',
    default: true,
    doc: 'Write blob files with O_DIRECT (bytes go to the disk without a copy into the page cache, which saves 1-2 ms of CPU per MiB per replica); falls back to buffered writes, with a log line, where the file system refuses it. Only used with store.fsync.',
  }),
  key({
    path: 'store.gcIntervalMs',
    kind: 'int',
    default: 600_000,
    min: 100,
    max: 86_400_000,
    doc: 'Milliseconds between passes of the garbage collectors: store-gc (stale stages, temp files, unreferenced blob files) and parts-gc (multipart parts no upload or object references). Both also run once at start.',
  }),
  key({
    path: 'store.orphanAgeMs',
    kind: 'int',
    default: 3_600_000,
    min: 1000,
    max: 30 * 86_400_000,
    doc: 'A staged body never committed, a temp file or an unreferenced blob file is collected once it is this old (milliseconds); keep it well above rpc.timeoutMs. At start everything left over is collected, whatever its age.',
  }),
  key({
    path: 'store.partGraceMs',
    kind: 'int',
    default: 3_600_000,
    min: 0,
    max: 30 * 86_400_000,
    doc: 'Multipart parts written less than this long ago (milliseconds) are never collected, even when no upload or object seems to reference them.',
  }),
  key({
    path: 'store.blobDeleteDelayMs',
    kind: 'int',
    default: 30_000,
    min: 0,
    max: 3_600_000,
    doc: 'Milliseconds a replaced or deleted blob file is kept for reads still streaming it before it is deleted.',
  }),
  key({
    path: 'cluster.members',
    kind: 'members',
    default: [],
    doc: "The initial layout (version 1), used when the node has no layout stored yet: every member's id, RPC address, zone and capacity.",
  }),
  key({
    path: 'cluster.pingIntervalMs',
    kind: 'int',
    default: 250,
    min: 10,
    max: 600_000,
    doc: 'Milliseconds between liveness pings to each peer (each peer on its own schedule). With the defaults a crashed peer (connect refused, confirmed 100 ms later) is down within about 0.35 s and a hung one within 2.25 s (the next ping within 0.25 s, then two missed pings).',
  }),
  key({
    path: 'cluster.pingTimeoutMs',
    kind: 'int',
    default: 1000,
    min: 10,
    max: 600_000,
    doc: "A ping unanswered within this many milliseconds (at most rpc.timeoutMs) is missed. Well above a loaded node's answer time, so that a busy peer is not marked down; a hung one is down after cluster.downAfterMisses of these in a row.",
  }),
  key({
    path: 'cluster.downAfterMisses',
    kind: 'int',
    default: 2,
    min: 1,
    max: 1000,
    doc: 'Missed pings in a row after which a peer is marked down (two refused connects in a row mark it down whatever this says).',
  }),
  key({
    path: 'cluster.maxClockOffsetMs',
    kind: 'int',
    default: 250,
    min: 1,
    max: 3_600_000,
    doc: "Largest offset in milliseconds between this node's clock and the majority of the cluster's (measured from ping round trips) at which it accepts writes; beyond it the node answers writes with 503 and says why in /ready. Also the most a version seen from another node may be ahead of this node's clock.",
  }),
  key({ path: 'log.level', kind: 'enum', default: 'info', values: LOG_LEVELS, doc: 'Log level of the JSON-lines log on stdout.' }),
  key({
    path: 'admin.token',
    kind: 'string',
    env: 'RINGSTORE_ADMIN_TOKEN',
    fileEnv: 'RINGSTORE_ADMIN_TOKEN_FILE',
    secret: true,
    default: '',
    doc: 'Bearer token of the admin API (`/admin/v1/` on the RPC port), which the `ringstore status|repair|scrub` commands call. Empty: the admin API answers 403 (disabled). `ringstore dev` generates one.',
    pattern: /^(?:|[\x21-\x7e]{16,256})$/,
    form: 'empty (admin API off) or 16 to 256 printable characters without spaces',
  }),
  key({
    path: 'metrics.token',
    kind: 'string',
    env: 'RINGSTORE_METRICS_TOKEN',
    fileEnv: 'RINGSTORE_METRICS_TOKEN_FILE',
    secret: true,
    default: '',
    doc: 'When set, GET /metrics on the RPC port requires `Authorization: Bearer <token>`; /health and /ready stay open. Empty: /metrics is open.',
    pattern: /^(?:|[\x21-\x7e]{16,256})$/,
    form: 'empty (no token) or 16 to 256 printable characters without spaces',
  }),
];

/** The spec of one key path, or undefined. */
export function configKey(path: string): ConfigKeySpec | undefined {
  return CONFIG_KEYS.find((k) => k.path === path);
}

/** Environment variables read by the loader that are not key values. */
export const META_ENV = {
  /** Path of the JSON config file (same as `--config`). */
  config: 'RINGSTORE_CONFIG',
  /** Set to `true` to accept `*_FILE` secret files readable by every user (e.g. Kubernetes' default 0644). */
  allowWorldReadableSecrets: 'RINGSTORE_ALLOW_WORLD_READABLE_SECRETS',
} as const;
