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
  };
  rpc: {
    /** "host:port" the node-to-node RPC (and admin) API listens on. */
    listen: string;
    /** Shared cluster secret authenticating node-to-node calls (or RINGSTORE_CLUSTER_SECRET[_FILE]). Secret. */
    secret: string;
    /** Per-replica request timeout in ms: a dead or hung peer never holds a request longer. */
    timeoutMs: number;
  };
  replication: {
    /** N: replicas per object. */
    factor: number;
    /** R: replica answers a read waits for. */
    readQuorum: number;
    /** W: durable replica acks a write waits for. */
    writeQuorum: number;
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
  };
  cluster: {
    /** The initial layout (version 1) when the node has none stored yet. */
    members: MemberConfig[];
    /** Milliseconds between liveness pings to each peer. */
    pingIntervalMs: number;
    /** Missed pings in a row after which a peer is marked down. */
    downAfterMisses: number;
  };
  log: {
    /** pino level: trace, debug, info, warn, error, fatal, silent. */
    level: string;
  };
}
