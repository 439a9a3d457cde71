/**
 * `ringstore health`: probes a node's `/health` (liveness) or `/ready` (readiness) on its S3
 * port. Used by the Docker HEALTHCHECK, so it loads only the config, never the node.
 */
import { resolveConfig } from '../../config/load.js';
import { getPath } from '../../config/values.js';
import { describeError } from '../../util/errors.js';
import { EXIT, err, intOption, out, parseCommandArgs, type Command } from '../command.js';
import { connectAddress, probe } from '../../util/http-probe.js';

/** The `health` command. */
export const healthCommand: Command = {
  name: 'health',
  summary: 'check that a node answers on its S3 port (exit 0 healthy, 1 alive but not ready, 2 down)',
  usage: 'health [--address HOST:PORT] [--ready] [--timeout MS] [--config FILE]',
  examples: [
    'ringstore health                          # GET /health on s3.listen from the config/env',
    'ringstore health --ready                  # GET /ready: able to serve requests',
    'ringstore health --address 127.0.0.1:9001',
  ],
  options: [
    { name: 'address', type: 'string', short: 'a', valueName: 'HOST:PORT', description: 'S3 address to probe (default: s3.listen of the effective config; 0.0.0.0 means 127.0.0.1).' },
    { name: 'ready', type: 'boolean', description: 'Probe /ready (readiness) instead of /health (liveness).' },
    { name: 'timeout', type: 'string', valueName: 'MS', description: 'Give up after this many milliseconds (default 3000).' },
    { name: 'config', type: 'string', short: 'c', valueName: 'FILE', description: 'JSON config file (default: $RINGSTORE_CONFIG).' },
  ],
  async run(argv) {
    const parsed = parseCommandArgs(healthCommand, argv);
    if ('exit' in parsed) return parsed.exit;
    const { values } = parsed;
    const timeoutMs = intOption(healthCommand, 'timeout', values['timeout'], 3000, 1, 600_000);
    if (timeoutMs === undefined) return EXIT.error;

    let listen = typeof values['address'] === 'string' ? values['address'] : undefined;
    if (listen === undefined) {
      try {
        // Only the S3 address matters here; the rest of the config need not be valid.
        const file = typeof values['config'] === 'string' ? values['config'] : undefined;
        const value = getPath(resolveConfig({ file, env: process.env, flags: {} }).tree, 's3.listen');
        listen = typeof value === 'string' ? value : undefined;
      } catch (error) {
        err(`ringstore health: ${describeError(error)}`);
        return EXIT.error;
      }
    }
    let address: string;
    try {
      address = connectAddress(listen ?? '');
    } catch {
      err(`ringstore health: bad address ${JSON.stringify(listen)}; expected "host:port"`);
      return EXIT.error;
    }

    const path = values['ready'] === true ? '/ready' : '/health';
    const url = `http://${address}${path}`;
    const result = await probe(address, path, timeoutMs);
    if (result.ok) {
      out(`ok: GET ${url} → ${result.status ?? 0}`);
      return EXIT.ok;
    }
    if (result.status !== undefined) {
      err(`not ok: GET ${url} → ${result.status}${result.body ? `: ${result.body}` : ''}`);
      // Alive enough to answer, just not ready: degraded, not down.
      return path === '/ready' && result.status === 503 ? EXIT.degraded : EXIT.error;
    }
    err(`down: GET ${url} failed: ${result.error ?? 'no answer'}`);
    return EXIT.error;
  },
};
