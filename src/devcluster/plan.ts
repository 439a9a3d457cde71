/**
 * The layout of a local dev cluster, as pure data: node ids, zones, ports, data dirs, and the
 * environment each `ringstore server` child gets. Kept apart from process handling so tests can
 * check that every planned node's config validates.
 */
import { join } from 'node:path';
import { CONFIG_KEYS, META_ENV, type MemberConfig } from '../config/schema.js';
import { formatMembers } from '../config/values.js';
import type { DevCredentials } from './credentials.js';

/** Inputs of a dev cluster plan. */
export interface DevPlanOptions {
  /** 1–9 nodes. */
  readonly nodes: number;
  /** S3 ports are basePort + i, RPC ports basePort + 100 + i. */
  readonly basePort: number;
  /** Absolute directory holding one data dir per node. */
  readonly dataRoot: string;
  readonly credentials: DevCredentials;
  /** Overrides log.level in every node. */
  readonly logLevel?: string | undefined;
}

/** One planned node. */
export interface DevNodePlan {
  readonly id: string;
  readonly zone: string;
  readonly s3Listen: string;
  readonly rpcListen: string;
  readonly dataDir: string;
  /** RINGSTORE_* variables this node gets (on top of the inherited environment). */
  readonly env: Readonly<Record<string, string>>;
}

/** A whole dev cluster. */
export interface DevPlan {
  readonly nodes: readonly DevNodePlan[];
  readonly members: readonly MemberConfig[];
  readonly replication: { readonly factor: number; readonly readQuorum: number; readonly writeQuorum: number };
}

function envOf(path: string): string {
  const spec = CONFIG_KEYS.find((k) => k.path === path);
  if (spec === undefined) throw new Error(`no config key ${path}`);
  return spec.env;
}

/** Ports a plan uses: S3 basePort..basePort+n-1, RPC basePort+100..; this is the highest. */
export function highestDevPort(basePort: number, nodes: number): number {
  return basePort + 100 + nodes - 1;
}

/**
 * Plans n nodes `n1…`, one zone each (`z1…`), every node a gateway, N = min(3, n) replicas
 * and majority quorums, all on 127.0.0.1.
 */
export function planDevCluster(options: DevPlanOptions): DevPlan {
  const ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
  const members: MemberConfig[] = ids.map((id, i) => ({ id, address: `127.0.0.1:${options.basePort + 100 + i}`, zone: `z${i + 1}`, capacity: 1 }));
  const factor = Math.min(3, options.nodes);
  const quorum = Math.floor(factor / 2) + 1;
  const replication = { factor, readQuorum: quorum, writeQuorum: quorum };
  const shared: Record<string, string> = {
    [envOf('cluster.members')]: formatMembers(members),
    [envOf('s3.accessKey')]: options.credentials.accessKey,
    [envOf('s3.secretKey')]: options.credentials.secretKey,
    [envOf('rpc.secret')]: options.credentials.clusterSecret,
    [envOf('admin.token')]: options.credentials.adminToken,
    [envOf('replication.factor')]: String(factor),
    [envOf('replication.readQuorum')]: String(quorum),
    [envOf('replication.writeQuorum')]: String(quorum),
  };
  if (options.logLevel !== undefined) shared[envOf('log.level')] = options.logLevel;
  const nodes = ids.map((id, i): DevNodePlan => {
    const s3Listen = `127.0.0.1:${options.basePort + i}`;
    const rpcListen = members[i]!.address;
    const dataDir = join(options.dataRoot, id);
    return {
      id,
      zone: members[i]!.zone,
      s3Listen,
      rpcListen,
      dataDir,
      env: {
        ...shared,
        [envOf('nodeId')]: id,
        [envOf('dataDir')]: dataDir,
        [envOf('s3.listen')]: s3Listen,
        [envOf('rpc.listen')]: rpcListen,
      },
    };
  });
  return { nodes, members, replication };
}

/**
 * The environment of a dev child: the parent's, minus RINGSTORE_CONFIG and every variable the
 * plan sets (and their `*_FILE` forms, which would conflict), plus the plan's. Other RINGSTORE_*
 * variables pass through, so `RINGSTORE_STORE_FSYNC=false npm start` tunes the dev cluster.
 */
export function devChildEnv(parent: NodeJS.ProcessEnv, node: DevNodePlan): Record<string, string> {
  const dropped = new Set<string>([META_ENV.config, ...Object.keys(node.env)]);
  for (const spec of CONFIG_KEYS) if (spec.fileEnv !== undefined && dropped.has(spec.env)) dropped.add(spec.fileEnv);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) if (value !== undefined && !dropped.has(name)) env[name] = value;
  return { ...env, ...node.env };
}
