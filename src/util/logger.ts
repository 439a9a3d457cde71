import { pino } from 'pino';

/** The logging interface core code depends on (pino satisfies it; tests can capture it). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Options for the process logger. */
export interface LoggerOptions {
  level: string;
  /** Bindings on every line, e.g. the node id. */
  base?: Record<string, unknown>;
  /** Where to write; stdout by default. */
  destination?: NodeJS.WritableStream;
}

/** The one JSON-lines logger of a process, with secrets redacted. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: options.base ?? {},
      redact: {
        paths: ['req.headers.authorization', 'req.headers["x-amz-security-token"]', 'headers.authorization', '*.secret', '*.secretAccessKey', '*.clusterSecret', '*.adminToken'],
        censor: '[redacted]',
      },
    },
    options.destination ?? process.stdout,
  ) as Logger;
}

/** A logger that drops everything (tests, tools). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
