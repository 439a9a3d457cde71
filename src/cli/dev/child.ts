/**
 * One `ringstore server` child of the dev cluster: started, watched and stopped by PID, its
 * output prefixed with the node id and the last lines kept for failure reports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { LineTail, formatLogLine } from './log-format.js';

/** How a dev child is started and reported. */
export interface DevChildOptions {
  readonly id: string;
  /** Absolute path of `dist/cli/main.js`. */
  readonly mainJs: string;
  readonly env: Readonly<Record<string, string>>;
  /** Pass pino JSON lines through unchanged instead of `[n1] level msg`. */
  readonly rawLogs: boolean;
  /** Called when the process ends without `stop()` having been asked for. */
  readonly onUnexpectedExit: (child: DevChild) => void;
}

/** A supervised `ringstore server` process. */
export class DevChild {
  readonly id: string;
  /** The last output lines, stdout and stderr interleaved. */
  readonly tail = new LineTail(40);
  readonly #options: DevChildOptions;
  #process: ChildProcess | undefined;
  #closed: Promise<void> = Promise.resolve();
  #stopping = false;
  #exit = '';
  #startedAt = 0;

  constructor(options: DevChildOptions) {
    this.id = options.id;
    this.#options = options;
  }

  /** The PID of the running process. */
  get pid(): number | undefined {
    return this.running ? this.#process?.pid : undefined;
  }

  /** True from start until the process has ended. */
  get running(): boolean {
    return this.#process !== undefined && this.#process.exitCode === null && this.#process.signalCode === null;
  }

  /** How the last run ended: "exit code 1", "signal SIGKILL", or "" while running. */
  get exitDescription(): string {
    return this.#exit;
  }

  /** Milliseconds since the last start. */
  get uptimeMs(): number {
    return Date.now() - this.#startedAt;
  }

  /** Starts the process (again). */
  start(): void {
    if (this.running) return;
    this.#stopping = false;
    this.#exit = '';
    this.#startedAt = Date.now();
    // detached: the child gets its own process group, so a terminal Ctrl-C reaches only this
    // supervisor, which then stops each child exactly once. The IPC channel lets a child notice
    // when the supervisor dies and stop instead of living on as an orphan.
    const child = spawn(process.execPath, [this.#options.mainJs, 'server'], {
      env: this.#options.env,
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    this.#process = child;
    const prefix = `[${this.id}]`;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.tail.push(line);
      process.stdout.write(`${this.#options.rawLogs ? line : formatLogLine(this.id, line)}\n`);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.tail.push(line);
      process.stderr.write(`${prefix} ${line}\n`);
    });
    this.#closed = new Promise<void>((resolve) => {
      const finish = (description: string): void => {
        if (this.#exit !== '') return;
        this.#exit = description;
        resolve();
        if (!this.#stopping) this.#options.onUnexpectedExit(this);
      };
      // 'close' comes after the output streams have ended, so the tail is complete.
      child.on('close', (code, signal) => finish(signal !== null ? `signal ${signal}` : `exit code ${code ?? '?'}`));
      child.on('error', (error) => finish(`failed to start: ${error.message}`));
    });
  }

  /**
   * Stops the process: SIGCONT (it may have been paused for a failure test), SIGTERM, and
   * SIGKILL if it has not ended within `graceMs`.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    const child = this.#process;
    if (child === undefined || !this.running) return this.#closed;
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.#closed;
    clearTimeout(timer);
  }

  /** SIGKILL now (a second Ctrl-C, or the supervisor exiting). */
  kill(): void {
    this.#stopping = true;
    if (this.running) this.#process?.kill('SIGKILL');
  }
}
