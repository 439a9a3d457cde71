/**
 * Starts a local cluster of real `ringstore server` processes on loopback ports, each with its
 * own data dir under a temp root, and controls them by PID: kill -9, SIGSTOP/SIGCONT, restart.
 * Every process started here is stopped by `stop()`; nothing else is ever signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { freePort } from './ports.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** One node of a test cluster. */
export interface TestNode {
  readonly id: string;
  readonly s3Port: number;
  readonly rpcPort: number;
  readonly dataDir: string;
  readonly configFile: string;
  process: ChildProcess | undefined;
  /** Recent output lines, for diagnosing a failed start. */
  readonly log: string[];
  /** Every line that reported an uncaught exception or an unhandled rejection (kept whole, never trimmed). */
  readonly crashes: string[];
  /** True once the test itself killed or stopped this process: its exit is then expected. */
  expectedExit: boolean;
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
  readonly #env: Record<string, string>;
  readonly #nodeEnv: Record<string, Record<string, string>>;

  private constructor(root: string, nodes: TestNode[], env: Record<string, string>, nodeEnv: Record<string, Record<string, string>>) {
    this.root = root;
    this.nodes = nodes;
    this.#env = env;
    this.#nodeEnv = nodeEnv;
  }

  /** Writes configs and starts every node; resolves when all answer /health. */
  static async start(options: ClusterOptions = {}): Promise<TestCluster> {
    const count = options.nodes ?? 3;
    const root = await mkdtemp(join(tmpdir(), 'ringstore-test-'));
    const ports = await Promise.all(Array.from({ length: count * 2 }, () => freePort()));
    const nodes: TestNode[] = Array.from({ length: count }, (_, i) => ({
      id: `n${i + 1}`,
      s3Port: ports[2 * i]!,
      rpcPort: ports[2 * i + 1]!,
      dataDir: join(root, `n${i + 1}`),
      configFile: join(root, `n${i + 1}.json`),
      process: undefined,
      log: [],
      crashes: [],
      expectedExit: false,
    }));
    const members = nodes.map((n, i) => ({ id: n.id, address: `127.0.0.1:${n.rpcPort}`, zone: `z${(i % 3) + 1}`, capacity: 1 }));
    for (const node of nodes) {
      await mkdir(node.dataDir, { recursive: true });
      const config = {
        nodeId: node.id,
        dataDir: node.dataDir,
        s3: { listen: `127.0.0.1:${node.s3Port}`, accessKey: ACCESS_KEY, secretKey: SECRET_KEY },
        rpc: { listen: `127.0.0.1:${node.rpcPort}`, secret: CLUSTER_SECRET, timeoutMs: 3000 },
        cluster: { members, pingIntervalMs: 500, downAfterMisses: 2 },
        log: { level: 'info' },
        ...options.config,
      };
      await writeFile(node.configFile, JSON.stringify(config, null, 2));
    }
    const cluster = new TestCluster(root, nodes, options.env ?? {}, options.nodeEnv ?? {});
    try {
      await Promise.all(nodes.map((n) => cluster.startNode(n.id)));
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
    if (node.process && node.process.exitCode === null && node.process.signalCode === null) throw new Error(`${id} is running`);
    const child = spawn(process.execPath, [MAIN, 'server', '--config', node.configFile], {
      env: { ...process.env, ...this.#env, ...this.#nodeEnv[id] },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    node.process = child;
    node.expectedExit = false;
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        node.log.push(line);
        if (CRASH_LINE.test(line)) node.crashes.push(line);
      }
      if (node.log.length > 200) node.log.splice(0, node.log.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await this.#waitHealthy(node);
  }

  async #waitHealthy(node: TestNode): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (node.process?.exitCode !== null && node.process?.exitCode !== undefined) {
        throw new Error(`${node.id} exited with ${node.process.exitCode}:\n${node.log.slice(-20).join('\n')}`);
      }
      try {
        const res = await fetch(`http://127.0.0.1:${node.s3Port}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${node.id} did not become healthy in 30 s:\n${node.log.slice(-20).join('\n')}`);
  }

  /** kill -9 one node and wait until it is gone. */
  async kill(id: string): Promise<void> {
    await this.#signalAndWait(id, 'SIGKILL');
  }

  /** SIGSTOP: the process keeps its sockets but answers nothing. */
  pause(id: string): void {
    this.node(id).process?.kill('SIGSTOP');
  }

  resume(id: string): void {
    this.node(id).process?.kill('SIGCONT');
  }

  /** Resident memory (bytes) of one node process, from /proc. */
  async rss(id: string): Promise<number> {
    const { readFile } = await import('node:fs/promises');
    const status = await readFile(`/proc/${this.node(id).process!.pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  }

  async #signalAndWait(id: string, signal: NodeJS.Signals): Promise<void> {
    this.node(id).expectedExit = true;
    const child = this.node(id).process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill(signal);
    await exited;
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
    await Promise.all(
      this.nodes.map(async (node) => {
        node.expectedExit = true;
        const child = node.process;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await rm(this.root, { recursive: true, force: true });
  }
}
