/**
 * One `ringstore server` process of a local cluster (dev, bench, tests), controlled by its PID
 * only: start (again), wait for /health, kill -9, pause (SIGSTOP) and resume, stop (SIGCONT,
 * SIGTERM, SIGKILL after a grace period), wipe its data dir. Nothing else is ever signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { sleep, systemClock, systemTimers, type Clock, type Timers } from '../util/clock.js';
import { probe } from '../util/http-probe.js';
import { LineTail } from './log-format.js';

/** How a node process is started. */
export interface NodeProcessOptions {
  readonly id: string;
  /** Absolute path of `dist/cli/main.js`. */
  readonly mainJs: string;
  /** Arguments after `server` (e.g. `--config file`). */
  readonly args?: readonly string[];
  /** Node options before the script (e.g. `--cpu-prof`). */
  readonly execArgv?: readonly string[];
  /** The whole environment of the process. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Where the S3 API (and /health) listens, "host:port". */
  readonly s3Listen: string;
  /** The node's data dir (for `wipe`). */
  readonly dataDir?: string;
  /**
   * Detached, with an IPC channel: the process gets its own process group (a terminal Ctrl-C
   * reaches only the supervisor, which then stops each node once), and stops by itself when the
   * supervisor dies. Default true.
   */
  readonly detached?: boolean;
  /** Lines kept for failure reports. Default 40. */
  readonly tailLines?: number;
  /** Each stdout / stderr line, as it comes. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** The process ended without `stop`, `kill` having been asked for. */
  readonly onUnexpectedExit?: (node: NodeProcess) => void;
  readonly clock?: Clock;
  readonly timers?: Timers;
}

/** A supervised `ringstore server` process. */
export class NodeProcess {
  readonly id: string;
  readonly s3Listen: string;
  /** The last output lines, stdout and stderr interleaved. */
  readonly tail: LineTail;
  readonly #options: NodeProcessOptions;
  readonly #clock: Clock;
  readonly #timers: Timers;
  #process: ChildProcess | undefined;
  #closed: Promise<void> = Promise.resolve();
  #expected = false;
  #exit = '';
  #startedAt = 0;

  constructor(options: NodeProcessOptions) {
    this.id = options.id;
    this.s3Listen = options.s3Listen;
    this.#options = options;
    this.tail = new LineTail(options.tailLines ?? 40);
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
  }

  /** The child process (undefined before the first start). */
  get process(): ChildProcess | undefined {
    return this.#process;
  }

  /** The PID of the running process. */
  get pid(): number | undefined {
    return this.running ? this.#process?.pid : undefined;
  }

  /** True from start until the process has ended. */
  get running(): boolean {
    return this.#process !== undefined && this.#process.exitCode === null && this.#process.signalCode === null;
  }

  /** True once the supervisor asked for the end of the current run (stop, kill). */
  get exitExpected(): boolean {
    return this.#expected;
  }

  /** How the last run ended: "exit code 1", "signal SIGKILL", or "" while running. */
  get exitDescription(): string {
    return this.#exit;
  }

  /** Milliseconds since the last start. */
  get uptimeMs(): number {
    return this.#clock.now() - this.#startedAt;
  }

  /** Starts the process (again); a no-op while it runs. */
  start(): void {
    if (this.running) return;
    this.#expected = false;
    this.#exit = '';
    this.#startedAt = this.#clock.now();
    const detached = this.#options.detached ?? true;
    const child = spawn(process.execPath, [...(this.#options.execArgv ?? []), this.#options.mainJs, 'server', ...(this.#options.args ?? [])], {
      env: this.#options.env,
      cwd: this.#options.cwd ?? process.cwd(),
      stdio: detached ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
      detached,
    });
    this.#process = child;
    const lineFrom = (stream: 'stdout' | 'stderr') => (line: string) => {
      this.tail.push(line);
      this.#options.onLine?.(line, stream);
    };
    createInterface({ input: child.stdout! }).on('line', lineFrom('stdout'));
    createInterface({ input: child.stderr! }).on('line', lineFrom('stderr'));
    this.#closed = new Promise<void>((resolve) => {
      const finish = (description: string): void => {
        if (this.#exit !== '') return;
        this.#exit = description;
        resolve();
        if (!this.#expected) this.#options.onUnexpectedExit?.(this);
      };
      // 'close' comes after the output streams have ended, so the tail is complete.
      child.on('close', (code, signal) => finish(signal !== null ? `signal ${signal}` : `exit code ${code ?? '?'}`));
      child.on('error', (error) => finish(`failed to start: ${error.message}`));
    });
  }

  /**
   * Waits until GET /health answers 200; resolves to undefined, or to why it never did (the
   * process exited, `timeoutMs` passed, or `aborted()` became true).
   */
  async waitHealthy(timeoutMs: number, aborted: () => boolean = () => false): Promise<string | undefined> {
    const deadline = this.#clock.now() + timeoutMs;
    let last = 'no answer yet';
    for (;;) {
      if (aborted()) return 'interrupted';
      if (!this.running) return `it exited (${this.#exit || 'before starting'})`;
      const result = await probe(this.s3Listen, '/health', 1000);
      if (result.ok) return undefined;
      last = result.error ?? `HTTP ${result.status ?? '?'}`;
      if (this.#clock.now() >= deadline) return `it did not answer GET http://${this.s3Listen}/health with 200 within ${timeoutMs / 1000} s (last: ${last})`;
      await sleep(this.#timers, 100);
    }
  }

  /**
   * Waits (at most `timeoutMs`, then gives up quietly) until the node no longer reports itself
   * refilling in GET /ready: a node that started with an empty store answers no reads of its own
   * replica until it compared with every peer, which in a cluster starting up takes a moment.
   */
  async waitRefilled(timeoutMs: number): Promise<void> {
    const deadline = this.#clock.now() + timeoutMs;
    while (this.running && this.#clock.now() < deadline) {
      const result = await probe(this.s3Listen, '/ready', 1000);
      if (result.ok || (result.status !== undefined && !(result.body ?? '').includes('refilling'))) return;
      await sleep(this.#timers, 50);
    }
  }

  /** Starts the process and waits for /health; throws with the last output lines when it never answers. */
  async startHealthy(timeoutMs = 30_000): Promise<void> {
    this.start();
    const why = await this.waitHealthy(timeoutMs);
    if (why !== undefined) throw new Error(`${this.id}: ${why}:\n${this.tail.last(20).join('\n')}`);
  }

  /** Sends `signal` to the running process (SIGSTOP, SIGCONT…); false when it is not running. */
  signal(signal: NodeJS.Signals): boolean {
    return this.running && this.#process!.kill(signal);
  }

  /** SIGSTOP: the process keeps its sockets (connections are accepted) but answers nothing. */
  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  /** kill -9 and wait until the process has ended (a paused one too). */
  async kill(): Promise<void> {
    this.#expected = true;
    if (this.signal('SIGKILL')) this.signal('SIGCONT');
    await this.#closed;
  }

  /** SIGKILL without waiting (a second Ctrl-C, or the supervisor exiting). */
  killNow(): void {
    this.#expected = true;
    this.signal('SIGKILL');
  }

  /** Stops the process: SIGCONT (it may be paused), SIGTERM, and SIGKILL if it has not ended within `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.#expected = true;
    if (!this.running) return this.#closed;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = this.#timers.setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.#closed;
    this.#timers.clearTimeout(timer);
  }

  /** Empties the node's data dir (the process must not be running): a lost disk. */
  async wipe(): Promise<void> {
    if (this.running) throw new Error(`${this.id} is running: stop or kill it before wiping its data`);
    const dir = this.#options.dataDir;
    if (dir === undefined) throw new Error(`${this.id} has no data dir to wipe`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
  }
}
