/**
 * `ringstore server`: loads the config, starts one node and runs it until SIGTERM/SIGINT, then
 * stops it gracefully. A bad config is reported as one message listing every problem (exit 2,
 * no stack trace).
 */
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { describeError, isErrorCode } from '../../util/errors.js';
import { createLogger, type Logger } from '../../util/logger.js';
import { EXIT, configFlags, configOptions, err, parseCommandArgs, type Command } from '../command.js';

/** What the shutdown sequence needs from a running node. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** Options of `waitForShutdown`. */
export interface ShutdownOptions {
  /**
   * How long a graceful stop may take before the process gives up on it. Below the 30 s that
   * Docker (stop_grace_period) and Kubernetes (terminationGracePeriodSeconds) allow by default.
   */
  readonly deadlineMs?: number;
  /** Called on a second signal while stopping; exits the process by default. */
  readonly forceExit?: () => void;
}

/**
 * Resolves with the exit code once the node has stopped after the first SIGTERM or SIGINT
 * (or after the parent of a `ringstore dev` child went away). A second signal forces an exit.
 */
export function waitForShutdown(node: Stoppable, logger: Logger, options: ShutdownOptions = {}): Promise<number> {
  const deadlineMs = options.deadlineMs ?? 25_000;
  const forceExit = options.forceExit ?? ((): void => process.exit(EXIT.error));
  return new Promise<number>((resolve) => {
    let stopping = false;
    const done = (code: number): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.off('disconnect', onDisconnect);
      resolve(code);
    };
    const shutdown = (reason: string): void => {
      if (stopping) {
        logger.warn({ reason }, 'second signal while stopping: exiting now');
        forceExit();
        return;
      }
      stopping = true;
      logger.info({ reason }, 'shutting down');
      const deadline = setTimeout(() => {
        logger.error({ deadlineMs }, 'graceful stop took too long: exiting');
        done(EXIT.error);
      }, deadlineMs);
      deadline.unref();
      node.stop().then(
        () => {
          clearTimeout(deadline);
          done(EXIT.ok);
        },
        (error: unknown) => {
          clearTimeout(deadline);
          logger.error({ err: describeError(error) }, 'graceful stop failed');
          done(EXIT.error);
        },
      );
    };
    const onSignal = (signal: NodeJS.Signals): void => shutdown(signal);
    // A child of `ringstore dev` has an IPC channel to its parent; when the parent dies (even by
    // SIGKILL) the channel closes, and the node stops instead of living on as an orphan.
    const onDisconnect = (): void => shutdown('parent process went away');
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    if (process.send !== undefined) {
      process.on('disconnect', onDisconnect);
      process.channel?.unref();
    }
  });
}

let unhandledRejections = 0;

/** How many unhandled promise rejections this process has logged. */
export function unhandledRejectionCount(): number {
  return unhandledRejections;
}

/** Logs and counts unhandled rejections; logs an uncaught exception and exits (state may be corrupt). */
export function installProcessHandlers(logger: Logger): void {
  process.on('unhandledRejection', (reason) => {
    unhandledRejections++;
    logger.error({ err: describeError(reason), count: unhandledRejections }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (error) => {
    logger.error({ err: describeError(error), stack: error.stack }, 'uncaught exception: exiting');
    process.exit(EXIT.error);
  });
}

/** The `server` command. */
export const serverCommand: Command = {
  name: 'server',
  summary: 'run one ringstore node (S3 API and RPC) until SIGTERM or SIGINT',
  usage: 'server [--config FILE] [--<key.path> VALUE …]',
  examples: [
    'ringstore server --config config/example.json',
    'RINGSTORE_NODE_ID=n2 ringstore server --config cluster.json --s3.listen 0.0.0.0:9000',
    'RINGSTORE_CLUSTER_SECRET_FILE=/run/secrets/cluster ringstore server -c /etc/ringstore.json',
  ],
  options: configOptions(),
  async run(argv) {
    const parsed = parseCommandArgs(serverCommand, argv);
    if ('exit' in parsed) return parsed.exit;
    const file = typeof parsed.values['config'] === 'string' ? parsed.values['config'] : undefined;
    const warnings: string[] = [];
    let config: Config;
    try {
      config = loadConfig({ file, env: process.env, flags: configFlags(parsed.values), onWarning: (w) => warnings.push(w) });
    } catch (error) {
      if (isErrorCode(error, 'InvalidConfig')) {
        err(error.message);
        err('See docs/configuration.md; "ringstore config print" shows the effective config.');
      } else {
        err(`ringstore server: cannot load the config: ${describeError(error)}`);
      }
      return EXIT.error;
    }

    const logger = createLogger({ level: config.log.level, base: { node: config.nodeId, component: 'cli' } });
    for (const warning of warnings) logger.warn({}, warning);
    installProcessHandlers(logger);

    let node: Stoppable;
    try {
      // Loaded on demand: `--help`, `health` and `config` must not pay for the whole node.
      const { startNode } = await import('../../node.js');
      node = await startNode(config);
    } catch (error) {
      logger.error({ err: describeError(error) }, 'node failed to start');
      err(`ringstore server: cannot start node ${config.nodeId}: ${describeError(error)}`);
      return EXIT.error;
    }
    return waitForShutdown(node, logger);
  },
};
