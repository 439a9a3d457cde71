/**
 * One `ringstore server` child of the dev cluster: the kit's NodeProcess, with its output
 * prefixed with the node id on this terminal.
 */
import { NodeProcess } from '../../devcluster/node-process.js';
import { formatLogLine, type LineTail } from '../../devcluster/log-format.js';

/** How a dev child is started and reported. */
export interface DevChildOptions {
  readonly id: string;
  /** Absolute path of `dist/cli/main.js`. */
  readonly mainJs: string;
  readonly env: Readonly<Record<string, string>>;
  /** Where its S3 API listens (for the readiness probe). */
  readonly s3Listen: string;
  /** Pass pino JSON lines through unchanged instead of `[n1] level msg`. */
  readonly rawLogs: boolean;
  /** Called when the process ends without `stop()` having been asked for. */
  readonly onUnexpectedExit: (child: DevChild) => void;
}

/** A supervised `ringstore server` process whose output goes to this terminal. */
export class DevChild {
  readonly id: string;
  readonly #node: NodeProcess;

  constructor(options: DevChildOptions) {
    this.id = options.id;
    const prefix = `[${options.id}]`;
    this.#node = new NodeProcess({
      id: options.id,
      mainJs: options.mainJs,
      env: options.env,
      s3Listen: options.s3Listen,
      onLine: (line, stream) => {
        if (stream === 'stdout') process.stdout.write(`${options.rawLogs ? line : formatLogLine(options.id, line)}\n`);
        else process.stderr.write(`${prefix} ${line}\n`);
      },
      onUnexpectedExit: () => options.onUnexpectedExit(this),
    });
  }

  /** The last output lines, stdout and stderr interleaved. */
  get tail(): LineTail {
    return this.#node.tail;
  }

  /** The PID of the running process. */
  get pid(): number | undefined {
    return this.#node.pid;
  }

  /** True from start until the process has ended. */
  get running(): boolean {
    return this.#node.running;
  }

  /** How the last run ended: "exit code 1", "signal SIGKILL", or "" while running. */
  get exitDescription(): string {
    return this.#node.exitDescription;
  }

  /** Milliseconds since the last start. */
  get uptimeMs(): number {
    return this.#node.uptimeMs;
  }

  /** Starts the process (again). */
  start(): void {
    this.#node.start();
  }

  /** Waits for GET /health to answer 200; undefined, or why it never did. */
  waitHealthy(timeoutMs: number, aborted: () => boolean): Promise<string | undefined> {
    return this.#node.waitHealthy(timeoutMs, aborted);
  }

  /** Waits (bounded) until the node no longer refills from its peers (see NodeProcess.waitRefilled). */
  waitRefilled(timeoutMs: number): Promise<void> {
    return this.#node.waitRefilled(timeoutMs);
  }

  /** Stops the process: SIGCONT (it may have been paused for a failure test), SIGTERM, SIGKILL after `graceMs`. */
  stop(graceMs: number): Promise<void> {
    return this.#node.stop(graceMs);
  }

  /** SIGKILL now (a second Ctrl-C, or the supervisor exiting). */
  kill(): void {
    this.#node.killNow();
  }
}
