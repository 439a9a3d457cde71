/**
 * `ringstore bench` (and `npm run bench`): the load generator. Against any S3 endpoint, or —
 * without `--endpoint` — a local cluster it starts for the run and stops afterwards. The work
 * is done in src/bench; this module declares the flags and wires the output.
 */
import { fileURLToPath } from 'node:url';
import { runBench } from '../../bench/bench.js';
import { resolveBenchOptions } from '../../bench/options.js';
import { EXIT, err, out, parseCommandArgs, type Command, type CommandOption } from '../command.js';

const TARGET = 'Target (default: a local cluster started for the run)';
const WORKLOAD = 'Workload';
const RUN = 'Run length (every run is bounded and stops by itself)';
const OUTPUT = 'Output';
const LOCAL = 'Local cluster and profiling';

const OPTIONS: readonly CommandOption[] = [
  { name: 'endpoint', type: 'string', valueName: 'URL', group: TARGET, description: 'S3 endpoint, path-style (e.g. http://127.0.0.1:9000). Without it a local cluster is started.' },
  { name: 'access-key', type: 'string', valueName: 'KEY', group: TARGET, description: 'Access key id (default $AWS_ACCESS_KEY_ID); with --endpoint only.' },
  { name: 'secret', type: 'string', valueName: 'SECRET', group: TARGET, description: 'Secret key (default $AWS_SECRET_ACCESS_KEY); with --endpoint only.' },
  { name: 'region', type: 'string', valueName: 'REGION', group: TARGET, description: 'SigV4 region (default us-east-1).' },
  { name: 'bucket', type: 'string', valueName: 'NAME', group: TARGET, description: 'Bucket, created if missing (default ringbench).' },
  { name: 'sign-payload', type: 'boolean', group: TARGET, description: 'Sign the SHA-256 of each body (default UNSIGNED-PAYLOAD).' },
  {
    name: 'server-pids',
    type: 'string',
    valueName: 'LIST',
    group: TARGET,
    description: 'With --endpoint: PIDs of the server processes (and their descendants) to measure CPU per op and disk writes of.',
  },
  { name: 'server-match', type: 'string', valueName: 'REGEX', group: TARGET, description: 'With --endpoint: measure every process whose command line matches REGEX instead.' },
  { name: 'op', type: 'string', valueName: 'OP', group: WORKLOAD, description: 'put | get | head | delete | list | mixed | multipart (default put).' },
  { name: 'size', type: 'string', valueName: 'SIZE', group: WORKLOAD, description: 'Object size (4KiB, 1MiB, 64MiB, 1000…) or a mix by key, e.g. 4KiB:70,1MiB:25,64MiB:5 (default 4KiB).' },
  { name: 'read-ratio', type: 'string', valueName: 'R', group: WORKLOAD, description: 'mixed: fraction of GETs, the rest are PUTs (default 0.7).' },
  { name: 'objects', type: 'string', valueName: 'N', group: WORKLOAD, description: 'Key-space size (default clamp(256MiB / mean size, 8, 1000); delete --count N: N).' },
  { name: 'distribution', type: 'string', valueName: 'D', group: WORKLOAD, description: 'Key choice: uniform | zipf (default uniform; uniform PUTs go round-robin).' },
  { name: 'zipf-s', type: 'string', valueName: 'S', group: WORKLOAD, description: 'Zipf exponent: P(rank k) ∝ 1/k^S (default 0.99).' },
  { name: 'prefix', type: 'string', valueName: 'P', group: WORKLOAD, description: 'Key prefix; keys are P/000123 (default ringbench/<size>).' },
  { name: 'part-size', type: 'string', valueName: 'SIZE', group: WORKLOAD, description: 'multipart: part size, 5MiB–5GiB (default 8MiB).' },
  { name: 'list-max-keys', type: 'string', valueName: 'N', group: WORKLOAD, description: 'list: keys per ListObjectsV2 page, one page per op (default 1000).' },
  { name: 'populate-concurrency', type: 'string', valueName: 'N', group: WORKLOAD, description: 'Requests in flight while populating (default: --concurrency).' },
  { name: 'skip-populate', type: 'boolean', group: WORKLOAD, description: 'get/head/delete/list/mixed: trust that the keys exist (reads then accept any body the bench writes).' },
  { name: 'concurrency', type: 'string', short: 'c', valueName: 'N', group: RUN, description: 'Operations in flight = keep-alive connections (default 16).' },
  { name: 'duration', type: 'string', short: 'd', valueName: 'S', group: RUN, description: 'Measured seconds (default 20 unless --count).' },
  { name: 'count', type: 'string', valueName: 'N', group: RUN, description: 'Run exactly N operations instead.' },
  { name: 'warmup', type: 'string', valueName: 'S', group: RUN, description: 'Seconds of load before measuring (default 0; timed runs only, not delete).' },
  { name: 'timeout', type: 'string', valueName: 'S', group: RUN, description: 'Per-request deadline, whole response (default 120).' },
  { name: 'max-time', type: 'string', valueName: 'S', group: RUN, description: 'Hard stop for the whole run incl. populate; in-flight requests are aborted (default 900).' },
  { name: 'json', type: 'boolean', group: OUTPUT, description: 'Print the result as one JSON line on stdout (the table goes to stderr).' },
  { name: 'out', type: 'string', valueName: 'DIR', group: OUTPUT, description: 'Also write DIR/result.json, DIR/report.txt and DIR/chart.svg (throughput and latency per second).' },
  { name: 'label', type: 'string', valueName: 'TEXT', group: OUTPUT, description: 'Copied into the result.' },
  { name: 'quiet', type: 'boolean', short: 'q', group: OUTPUT, description: 'No progress line on stderr.' },
  { name: 'nodes', type: 'string', short: 'n', valueName: 'N', group: LOCAL, description: 'Local cluster size, 1–9 (default 3); free loopback ports, fresh credentials, temp data.' },
  { name: 'data', type: 'string', valueName: 'DIR', group: LOCAL, description: "Parent of the local cluster's temp data dir (default the OS temp dir); removed afterwards." },
  { name: 'node-log-level', type: 'string', valueName: 'LEVEL', group: LOCAL, description: 'log.level of the local nodes (default warn); their first lines are shown on stderr.' },
  { name: 'profile', type: 'boolean', group: LOCAL, description: 'Run the nodes under node --cpu-prof, stop them with SIGTERM, print the hottest functions.' },
  { name: 'profile-top', type: 'string', valueName: 'N', group: LOCAL, description: 'How many functions --profile lists (default 10).' },
  { name: 'profile-interval', type: 'string', valueName: 'US', group: LOCAL, description: 'Sampling interval of --profile in µs (default 1000).' },
  { name: 'serve', type: 'boolean', group: LOCAL, description: 'Only start the local cluster: print {endpoint, access_key, secret_key, pids…} as JSON, wait for SIGINT/SIGTERM or --max-time, stop.' },
];

/** The `bench` command. */
export const benchCommand: Command = {
  name: 'bench',
  summary: 'load-test an S3 endpoint, or a local cluster started for the run',
  usage: 'bench [--endpoint URL --access-key K --secret S] [--op OP] [--size SIZE] [-c N] [--duration S | --count N] [--json] [--out DIR]',
  examples: [
    'ringstore bench --op put --size 4KiB -c 16 --duration 20            # local 3-node cluster, started and stopped',
    'ringstore bench --endpoint http://127.0.0.1:9000 --access-key K --secret S --bucket b --op put --size 4KiB --concurrency 16 --duration 20 --json',
    'ringstore bench --op get --size 4KiB:70,1MiB:25,64MiB:5 --distribution zipf --objects 200 --warmup 2',
    'ringstore bench --op mixed --read-ratio 0.7 --out /tmp/run1                # + result.json, report.txt, chart.svg',
    'ringstore bench --op multipart --size 64MiB --part-size 8MiB -c 2 --count 16',
    'ringstore bench --nodes 3 --profile --op put --duration 10                 # top 10 functions of the nodes',
    'ringstore bench --endpoint http://127.0.0.1:18080 --access-key test:tester --secret testing --op list --objects 10000',
    'npm run bench -- --op get --size 1MiB -c 8',
  ],
  options: OPTIONS,
  async run(argv) {
    const parsed = parseCommandArgs(benchCommand, argv);
    if ('exit' in parsed) return parsed.exit;
    const resolved = resolveBenchOptions(parsed.values, process.env);
    if ('error' in resolved) {
      err(`ringstore bench: ${resolved.error}`);
      err('Run "ringstore bench --help" for usage.');
      return EXIT.error;
    }
    const tty = process.stderr.isTTY === true;
    return runBench(resolved.options, {
      out,
      // On a terminal, clear the progress line before a message, so the two do not run together.
      err: tty ? (text) => err(`\r\x1b[K${text}`) : err,
      status: tty ? (text): void => void process.stderr.write(`\r${text}\x1b[K`) : undefined,
      mainJs: fileURLToPath(new URL('../main.js', import.meta.url)),
    });
  },
};
