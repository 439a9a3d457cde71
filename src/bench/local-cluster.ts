/**
 * A throwaway local cluster for a bench run: N `ringstore server` processes on free loopback
 * ports, fresh credentials, data under a new temp dir. Planned with the dev cluster's own
 * `planDevCluster`, started and stopped by PID (SIGTERM, so `--cpu-prof` profiles get written;
 * SIGKILL after a grace period), and the data dir removed afterwards. Nothing else is signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { request } from 'undici';
import { configKey } from '../config/schema.js';
import { generateDevCredentials, type DevCredentials } from '../cli/dev/credentials.js';
import { LineTail } from '../cli/dev/log-format.js';
import { devChildEnv, planDevCluster, type DevNodePlan } from '../cli/dev/plan.js';

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
  readonly process: ChildProcess;
  readonly tail: LineTail;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.unref();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** A base port whose S3 ports (base…) and RPC ports (base+100…) are all free right now. */
async function freeBasePort(nodes: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 35_000);
    const ports = Array.from({ length: nodes }, (_, i) => [base + i, base + 100 + i]).flat();
    let free = true;
    for (const port of ports) {
      if (!(await portFree(port))) {
        free = false;
        break;
      }
    }
    if (free) return base;
  }
  throw new Error(`no free range of ${nodes} + ${nodes} loopback ports found`);
}

async function healthy(s3Listen: string): Promise<boolean> {
  try {
    const res = await request(`http://${s3Listen}/health`, { headersTimeout: 1000, bodyTimeout: 1000 });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

const running = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

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
    // detached: a terminal Ctrl-C reaches only the bench, which then stops each node once; the
    // IPC channel makes a node stop by itself if the bench dies without doing so.
    const child = spawn(process.execPath, [...execArgv, options.mainJs, 'server'], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
    const tail = new LineTail(40);
    const onLine = (line: string): void => {
      tail.push(line);
      options.onLine?.(node.id, line);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.on('error', (error) => tail.push(`failed to start: ${error.message}`));
    return { id: node.id, s3Listen: node.s3Listen, process: child, tail };
  }

  async #waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = new Set(this.nodes);
    while (pending.size > 0) {
      for (const node of pending) {
        if (!running(node.process)) throw new Error(`${node.id} exited while starting (${node.process.signalCode ?? `exit code ${node.process.exitCode}`}):\n${node.tail.last(20).join('\n')}`);
        if (await healthy(node.s3Listen)) pending.delete(node);
      }
      if (pending.size === 0) return;
      if (Date.now() > deadline) {
        const node = [...pending][0]!;
        throw new Error(`${node.id} did not answer GET http://${node.s3Listen}/health within ${timeoutMs / 1000} s:\n${node.tail.last(20).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * Stops every node (SIGCONT, SIGTERM; SIGKILL after `graceMs`) and removes the data dir.
   * Safe to call more than once.
   */
  stop(graceMs = 20_000): Promise<void> {
    this.#stopped ??= (async () => {
      await Promise.all(
        this.nodes.map(async ({ process: child }) => {
          if (!running(child)) return;
          const closed = new Promise<void>((r) => child.once('close', () => r()));
          child.kill('SIGCONT');
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await closed;
          clearTimeout(timer);
        }),
      );
      await rm(this.dataRoot, { recursive: true, force: true });
    })();
    return this.#stopped;
  }

  /** SIGKILL every node now (a second Ctrl-C, or the bench exiting without `stop()`). */
  killNow(): void {
    for (const { process: child } of this.nodes) if (running(child)) child.kill('SIGKILL');
  }
}
