/**
 * A throwaway local cluster for a bench run: N `ringstore server` processes on free loopback
 * ports, fresh credentials, data under a new temp dir. Planned with the dev cluster's own
 * `planDevCluster`, run as the local-cluster kit's NodeProcesses, stopped by PID (SIGTERM, so
 * `--cpu-prof` profiles get written; SIGKILL after a grace period), and the data dir removed
 * afterwards. Nothing else is signalled.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { configKey } from '../config/schema.js';
import { generateDevCredentials, type DevCredentials } from '../devcluster/credentials.js';
import type { LineTail } from '../devcluster/log-format.js';
import { NodeProcess } from '../devcluster/node-process.js';
import { devChildEnv, planDevCluster, type DevNodePlan } from '../devcluster/plan.js';
import { freeBasePort } from '../devcluster/ports.js';

/** How to start a local cluster. */
export interface LocalClusterOptions {
  readonly nodes: number;
  /** Absolute path of `dist/cli/main.js`. */
  readonly mainJs: string;
  /** log.level of every node. */
  readonly logLevel: string;
  readonly region: string;
  /** Parent of the temp data dir (default: the OS temp dir). */
  readonly dataParent?: string | undefined;
  /** Write `--cpu-prof` profiles here (`<node id>.cpuprofile`). */
  readonly profileDir?: string | undefined;
  /** `--cpu-prof-interval` in µs. */
  readonly profileIntervalUs?: number | undefined;
  /** Each output line of a node, e.g. to show warnings. */
  readonly onLine?: ((nodeId: string, line: string) => void) | undefined;
  /** How long to wait for every node's /health (ms). */
  readonly readyTimeoutMs?: number;
}

/** One running node. */
export interface LocalNode {
  readonly id: string;
  readonly s3Listen: string;
  readonly process: NodeProcess;
  readonly tail: LineTail;
}

/** A started local cluster. */
export class LocalCluster {
  readonly nodes: readonly LocalNode[];
  readonly credentials: DevCredentials;
  readonly dataRoot: string;
  readonly region: string;
  #stopped: Promise<void> | undefined;

  private constructor(nodes: LocalNode[], credentials: DevCredentials, dataRoot: string, region: string) {
    this.nodes = nodes;
    this.credentials = credentials;
    this.dataRoot = dataRoot;
    this.region = region;
  }

  /** The first node's S3 endpoint (every node is a gateway). */
  get endpoint(): string {
    return `http://${this.nodes[0]!.s3Listen}`;
  }

  /** PIDs of the node processes. */
  get pids(): number[] {
    return this.nodes.flatMap((n) => (n.process.pid === undefined ? [] : [n.process.pid]));
  }

  /** Starts the nodes and waits until all answer /health; stops them again if any does not. */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const parent = resolve(options.dataParent ?? tmpdir());
    await mkdir(parent, { recursive: true });
    const dataRoot = await mkdtemp(join(parent, 'ringstore-bench-'));
    const credentials = generateDevCredentials();
    const plan = planDevCluster({ nodes: options.nodes, basePort: await freeBasePort(options.nodes), dataRoot, credentials, logLevel: options.logLevel });
    const regionEnv = configKey('s3.region')?.env;
    if (options.profileDir !== undefined) await mkdir(options.profileDir, { recursive: true });
    const nodes = plan.nodes.map((node) => LocalCluster.#spawn(node, options, regionEnv));
    const cluster = new LocalCluster(nodes, credentials, dataRoot, options.region);
    try {
      await cluster.#waitHealthy(options.readyTimeoutMs ?? 30_000);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  static #spawn(node: DevNodePlan, options: LocalClusterOptions, regionEnv: string | undefined): LocalNode {
    const execArgv: string[] = [];
    if (options.profileDir !== undefined) {
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=${node.id}.cpuprofile`);
      if (options.profileIntervalUs !== undefined) execArgv.push(`--cpu-prof-interval=${options.profileIntervalUs}`);
    }
    const env = { ...devChildEnv(process.env, node), ...(regionEnv !== undefined && { [regionEnv]: options.region }) };
    const child = new NodeProcess({
      id: node.id,
      mainJs: options.mainJs,
      execArgv,
      env,
      s3Listen: node.s3Listen,
      dataDir: node.dataDir,
      ...(options.onLine !== undefined && { onLine: (line: string) => options.onLine!(node.id, line) }),
    });
    child.start();
    return { id: node.id, s3Listen: node.s3Listen, process: child, tail: child.tail };
  }

  async #waitHealthy(timeoutMs: number): Promise<void> {
    const failures = await Promise.all(this.nodes.map((node) => node.process.waitHealthy(timeoutMs)));
    await Promise.all(this.nodes.map((node) => node.process.waitRefilled(timeoutMs)));
    const failed = this.nodes.findIndex((_, i) => failures[i] !== undefined);
    if (failed !== -1) {
      const node = this.nodes[failed]!;
      throw new Error(`${node.id}: ${failures[failed]!}:\n${node.tail.last(20).join('\n')}`);
    }
  }

  /**
   * Stops every node (SIGCONT, SIGTERM; SIGKILL after `graceMs`) and removes the data dir.
   * Safe to call more than once.
   */
  stop(graceMs = 20_000): Promise<void> {
    this.#stopped ??= (async () => {
      await Promise.all(this.nodes.map((node) => node.process.stop(graceMs)));
      await rm(this.dataRoot, { recursive: true, force: true });
    })();
    return this.#stopped;
  }

  /** SIGKILL every node now (a second Ctrl-C, or the bench exiting without `stop()`). */
  killNow(): void {
    for (const node of this.nodes) node.process.killNow();
  }
}
