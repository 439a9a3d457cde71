/**
 * Starts a local cluster of real `ringstore server` processes on loopback ports, each with its
 * own data dir under a temp root and a config file, as the local-cluster kit's NodeProcesses
 * (src/devcluster/), controlled by PID: kill -9, SIGSTOP/SIGCONT, restart, wipe.
 * Every process started here is stopped by `stop()`; nothing else is ever signalled.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeProcess } from '../../src/devcluster/node-process.js';
import { freePort } from '../../src/devcluster/ports.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** One node of a test cluster. */
export interface TestNode {
  readonly id: string;
  readonly s3Port: number;
  readonly rpcPort: number;
  readonly dataDir: string;
  readonly configFile: string;
  /** The kit's handle on the node's process. */
  readonly proc: NodeProcess;
  /** The current (or last) child process; undefined before the first start. */
  readonly process: ChildProcess | undefined;
  /** Recent output lines, for diagnosing a failed start. */
  readonly log: string[];
  /** Every line that reported an uncaught exception or an unhandled rejection (kept whole, never trimmed). */
  readonly crashes: string[];
  /** True once the test itself killed or stopped this process: its exit is then expected. */
  readonly expectedExit: boolean;
}

const CRASH_LINE = /uncaught exception|unhandled promise rejection|unhandledRejection|uncaughtException/i;

/** Options for a test cluster. */
export interface ClusterOptions {
  nodes?: number;
  /** Extra config merged into every node's config file. */
  config?: Record<string, unknown>;
  /** Environment added to every node process. */
  env?: Record<string, string>;
  /** Environment added to one node's process, by node id (e.g. a faked clock for `n1`). */
  nodeEnv?: Record<string, Record<string, string>>;
}

export const ACCESS_KEY = 'RSTESTACCESSKEY00001';
export const SECRET_KEY = 'test-secret-key-0123456789abcdefghijklmnop';
export const CLUSTER_SECRET = 'test-cluster-secret-0123456789abcdef';

/** A running test cluster. */
export class TestCluster {
  readonly root: string;
  readonly nodes: TestNode[];

  private constructor(root: string, nodes: TestNode[]) {
    this.root = root;
    this.nodes = nodes;
  }

  /** Writes configs and starts every node; resolves when all answer /health. */
  static async start(options: ClusterOptions = {}): Promise<TestCluster> {
    const count = options.nodes ?? 3;
    const root = await mkdtemp(join(tmpdir(), 'ringstore-test-'));
    const ports = await Promise.all(Array.from({ length: count * 2 }, () => freePort()));
    const env = { ...process.env, ...options.env };
    const nodes: TestNode[] = Array.from({ length: count }, (_, i) => {
      const id = `n${i + 1}`;
      const dataDir = join(root, id);
      const configFile = join(root, `${id}.json`);
      const log: string[] = [];
      const crashes: string[] = [];
      const proc = new NodeProcess({
        id,
        mainJs: MAIN,
        args: ['--config', configFile],
        env: { ...env, ...options.nodeEnv?.[id] },
        s3Listen: `127.0.0.1:${ports[2 * i]!}`,
        dataDir,
        detached: false,
        onLine: (line) => {
          log.push(line);
          if (CRASH_LINE.test(line)) crashes.push(line);
          if (log.length > 200) log.splice(0, log.length - 200);
        },
      });
      return {
        id,
        s3Port: ports[2 * i]!,
        rpcPort: ports[2 * i + 1]!,
        dataDir,
        configFile,
        proc,
        get process() {
          return proc.process;
        },
        log,
        crashes,
        get expectedExit() {
          return proc.exitExpected;
        },
      };
    });
    const members = nodes.map((n, i) => ({ id: n.id, address: `127.0.0.1:${n.rpcPort}`, zone: `z${(i % 3) + 1}`, capacity: 1 }));
    // `config.cluster` adds to the cluster settings (members stay the ones planned here).
    const { cluster: clusterExtra, ...extra } = options.config ?? {};
    for (const node of nodes) {
      await mkdir(node.dataDir, { recursive: true });
      const config = {
        nodeId: node.id,
        dataDir: node.dataDir,
        s3: { listen: `127.0.0.1:${node.s3Port}`, accessKey: ACCESS_KEY, secretKey: SECRET_KEY },
        rpc: { listen: `127.0.0.1:${node.rpcPort}`, secret: CLUSTER_SECRET, timeoutMs: 3000 },
        cluster: { pingIntervalMs: 500, downAfterMisses: 2, ...(clusterExtra as Record<string, unknown> | undefined), members },
        log: { level: 'info' },
        ...extra,
      };
      await writeFile(node.configFile, JSON.stringify(config, null, 2));
    }
    const cluster = new TestCluster(root, nodes);
    try {
      await Promise.all(nodes.map((n) => cluster.startNode(n.id)));
      // A new cluster's nodes start empty and refill from each other first (a moment): tests then begin on a serving cluster.
      await Promise.all(nodes.map((n) => n.proc.waitRefilled(15_000)));
    } catch (err) {
      // The start's own error says what went wrong; a node that failed to start is not a crash.
      await cluster.#shutdown();
      throw err;
    }
    return cluster;
  }

  node(id: string): TestNode {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  endpoint(id = 'n1'): string {
    return `http://127.0.0.1:${this.node(id).s3Port}`;
  }

  /** An SDK client with its default settings (checksums, aws-chunked uploads) against one node. */
  s3(id = 'n1'): S3Client {
    return new S3Client({
      endpoint: this.endpoint(id),
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      maxAttempts: 1,
    });
  }

  /** Starts (or restarts) one node's process and waits for /health. */
  async startNode(id: string): Promise<void> {
    const node = this.node(id);
    if (node.proc.running) throw new Error(`${id} is running`);
    node.proc.start();
    const why = await node.proc.waitHealthy(30_000);
    if (why !== undefined) throw new Error(`${node.id}: ${why}:\n${node.log.slice(-20).join('\n')}`);
  }

  /** kill -9 one node and wait until it is gone. */
  async kill(id: string): Promise<void> {
    await this.node(id).proc.kill();
  }

  /** SIGSTOP: the process keeps its sockets but answers nothing. */
  pause(id: string): void {
    this.node(id).proc.pause();
  }

  resume(id: string): void {
    this.node(id).proc.resume();
  }

  /** Empties a stopped node's data dir (a lost disk); its config file stays. */
  async wipe(id: string): Promise<void> {
    await this.node(id).proc.wipe();
  }

  /** Resident memory (bytes) of one node process, from /proc. */
  async rss(id: string): Promise<number> {
    const { readFile } = await import('node:fs/promises');
    const status = await readFile(`/proc/${this.node(id).process!.pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  }

  /**
   * Problems a test did not cause: nodes that exited although the test never killed them, and
   * log lines reporting an uncaught exception or unhandled rejection. Empty on a healthy cluster.
   */
  problems(): string[] {
    const found: string[] = [];
    for (const node of this.nodes) {
      const child = node.process;
      if (child && !node.expectedExit && (child.exitCode !== null || child.signalCode !== null)) {
        found.push(`${node.id} exited (${child.exitCode ?? child.signalCode}) without being stopped by the test:\n${node.log.slice(-10).join('\n')}`);
      }
      for (const line of node.crashes) found.push(`${node.id} logged: ${line}`);
    }
    return found;
  }

  /**
   * Stops every node this cluster started (SIGTERM, then SIGKILL after 10 s) and removes the
   * data. Throws when `problems()` found any: a crash after an answered request must fail the test.
   */
  async stop(): Promise<void> {
    const problems = this.problems();
    await this.#shutdown();
    if (problems.length > 0) throw new Error(`the cluster was not healthy at the end of the test:\n${problems.join('\n')}`);
  }

  /** Stops every process (SIGTERM, then SIGKILL after 10 s) and removes the data. */
  async #shutdown(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.proc.stop(10_000)));
    await rm(this.root, { recursive: true, force: true });
  }
}
