/**
 * One `ringstore bench` run from validated options to printed results: start the local cluster
 * when there is no endpoint (and stop it afterwards, whatever happens), run the load with a
 * progress line on stderr, print the table and/or JSON, write `--out` files (result.json,
 * report.txt, chart.svg) and, with `--profile`, the hottest functions of the nodes.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatLogLine } from '../devcluster/log-format.js';
import { describeError } from '../util/errors.js';
import { renderChart } from './chart.js';
import { LocalCluster } from './local-cluster.js';
import type { BenchOptions } from './options.js';
import { formatProfile, readProfiles, summarizeProfiles, type ProfileWindow } from './profile.js';
import type { ServerSelector } from './proc-stats.js';
import { buildResult, formatTable, progressLine, type BenchResult, type ProfileFigures } from './report.js';
import { Runner } from './runner.js';
import { BenchS3Client } from './s3-client.js';
import { Workload } from './workload.js';

/** Where a run prints, and what it needs from its surroundings. */
export interface BenchIo {
  /** A line of data (stdout). */
  readonly out: (text: string) => void;
  /** A line of messages (stderr). */
  readonly err: (text: string) => void;
  /** Rewrites the current stderr line (a TTY progress line); undefined when stderr is not a TTY. */
  readonly status?: ((text: string) => void) | undefined;
  /** Absolute path of `dist/cli/main.js` (what the local cluster's nodes run). */
  readonly mainJs: string;
}

/** Exit codes, as the CLI's: 0 clean run, 1 errors or cut short, 2 could not run. */
export const BENCH_EXIT = { ok: 0, degraded: 1, error: 2 } as const;

const NODE_LINES_SHOWN = 20;

async function profileFigures(dir: string, top: number, window: ProfileWindow | undefined): Promise<ProfileFigures> {
  const { profiles, skipped } = await readProfiles(dir);
  const nodes: Record<string, ReturnType<typeof summarizeProfiles>> = {};
  for (const [file, profile] of profiles) nodes[file.replace(/\.cpuprofile$/, '')] = summarizeProfiles([profile], top, process.cwd(), window);
  return { dir, window: window === undefined ? 'whole run' : 'measured window', aggregated: summarizeProfiles([...profiles.values()], top, process.cwd(), window), nodes, skipped };
}

function profileText(figures: ProfileFigures): string {
  const parts = [formatProfile(`Hottest functions of all nodes, ${figures.window} (self time; profiles in ${figures.dir})`, figures.aggregated)];
  for (const [node, summary] of Object.entries(figures.nodes)) parts.push(formatProfile(`Node ${node}`, summary));
  if (figures.skipped.length > 0) parts.push(`unreadable profiles: ${figures.skipped.join(', ')}`);
  return parts.join('\n\n');
}

/** Writes result.json, report.txt and chart.svg under `dir`. */
async function writeOutputs(dir: string, result: BenchResult, table: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(join(dir, 'report.txt'), `${table}\n`);
  const title = `ringstore bench ${result.label ?? ''} ${result.op} ${result.size} c=${result.concurrency} — ${result.target}`.replace(/\s+/g, ' ');
  await writeFile(join(dir, 'chart.svg'), renderChart(result.timeline, title, result.warmup_s));
}

/** Runs the bench described by `options`; resolves to the exit code. */
export async function runBench(options: BenchOptions, io: BenchIo): Promise<number> {
  let cluster: LocalCluster | undefined;
  let runner: Runner | undefined;
  let signals = 0;
  let wake: () => void = () => undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      io.err(`\n${signal}: stopping${cluster === undefined ? '' : ' (a second one kills the local nodes)'}`);
      runner?.interrupt();
      wake();
    } else {
      cluster?.killNow();
    }
  };
  // Last resort if the process ends some other way: never leave nodes behind.
  const onExit = (): void => cluster?.killNow();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  const profileDir = options.profile ? join(resolve(options.outDir ?? (await mkdtemp(join(tmpdir(), 'ringstore-bench-out-')))), 'profiles') : undefined;
  try {
    let endpoint: { endpoint: string; accessKey: string; secretKey: string };
    let targetLabel: string;
    if (options.target.kind === 'local') {
      let shown = 0;
      io.err(`starting a local ${options.target.nodes}-node cluster${profileDir === undefined ? '' : ` with --cpu-prof (profiles in ${profileDir})`}…`);
      try {
        cluster = await LocalCluster.start({
          nodes: options.target.nodes,
          mainJs: io.mainJs,
          logLevel: options.target.nodeLogLevel,
          region: options.region,
          dataParent: options.target.dataRoot,
          profileDir,
          profileIntervalUs: options.profileIntervalUs,
          onLine: (id, line) => {
            if (shown++ < NODE_LINES_SHOWN) io.err(formatLogLine(id, line));
            else if (shown === NODE_LINES_SHOWN + 1) io.err(`(further node output not shown)`);
          },
        });
      } catch (error) {
        io.err(`ringstore bench: the local cluster did not start: ${describeError(error)}`);
        return BENCH_EXIT.error;
      }
      endpoint = { endpoint: cluster.endpoint, accessKey: cluster.credentials.accessKey, secretKey: cluster.credentials.secretKey };
      targetLabel = `local:${options.target.nodes}`;
      io.err(`local cluster up: ${cluster.nodes.map((n) => `${n.id} ${n.s3Listen} pid ${n.process.pid ?? '?'}`).join(', ')}`);
      if (options.serve)
        return await serve(
          options,
          cluster,
          io,
          profileDir,
          (w) => (wake = w),
          () => signals > 0,
        );
    } else {
      endpoint = options.target;
      targetLabel = options.target.endpoint;
    }

    const client = new BenchS3Client(
      { ...endpoint, region: options.region, bucket: options.bucket },
      { connections: Math.max(options.concurrency, options.populateConcurrency), timeoutMs: options.timeoutS * 1000, signPayload: options.signPayload },
    );
    const workload = new Workload(client, options);
    let selector: ServerSelector | undefined;
    if (cluster !== undefined) selector = { pids: cluster.pids };
    else if (options.serverPids.length > 0) selector = { pids: options.serverPids };
    else if (options.serverMatch !== undefined) selector = { match: options.serverMatch };
    runner = new Runner(options, client, workload, selector, cluster === undefined ? 0 : 20_000);
    if (signals > 0) runner.interrupt();
    let lastPrinted = -Infinity;
    let outcome;
    try {
      if (workload.needsPopulate && !options.quiet) io.err(`populating ${options.objects} keys (HEAD, then PUT the missing ones)…`);
      outcome = await runner.run((sample, stats, phase, elapsedS) => {
        if (options.quiet) return;
        const line = progressLine(sample, phase, elapsedS, stats.all.ops, stats.errors.count);
        if (io.status !== undefined) io.status(line);
        else if (elapsedS - lastPrinted >= 5 - 1e-3) {
          lastPrinted = elapsedS;
          io.err(line);
        }
      });
    } catch (error) {
      io.status?.('');
      io.err(`ringstore bench: ${describeError(error)}`);
      return BENCH_EXIT.error;
    } finally {
      await client.close();
    }
    io.status?.('');

    // Stop the nodes before reporting: their CPU profiles are written as they exit.
    if (cluster !== undefined) {
      if (profileDir !== undefined) io.err('stopping the local cluster (SIGTERM; nodes write their CPU profiles)…');
      await cluster.stop();
    }
    const result = buildResult(options, outcome, { label: targetLabel, endpoint: endpoint.endpoint });
    if (profileDir !== undefined) result.profile = await profileFigures(profileDir, options.profileTop, outcome.windowUs);
    let table = formatTable(result);
    if (result.profile !== undefined) table += `\n\n${profileText(result.profile)}`;
    if (options.json) {
      io.err(table);
      io.out(JSON.stringify(result));
    } else {
      io.out(table);
    }
    if (options.outDir !== undefined) {
      const dir = resolve(options.outDir);
      await writeOutputs(dir, result, table);
      io.err(`results: ${join(dir, 'result.json')}, ${join(dir, 'report.txt')}, ${join(dir, 'chart.svg')}`);
    }
    const clean = result.errors === 0 && result.warmup_errors === 0 && (result.populate?.errors ?? 0) === 0 && !result.hard_stopped && !result.interrupted;
    return clean ? BENCH_EXIT.ok : BENCH_EXIT.degraded;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cluster?.stop();
    process.off('exit', onExit);
  }
}

/**
 * `--serve`: prints one JSON line saying how to reach the cluster (endpoint, credentials,
 * PIDs), then waits for SIGINT/SIGTERM or `--max-time`, and stops the cluster.
 */
async function serve(options: BenchOptions, cluster: LocalCluster, io: BenchIo, profileDir: string | undefined, setWake: (wake: () => void) => void, signalled: () => boolean): Promise<number> {
  io.out(
    JSON.stringify({
      endpoint: cluster.endpoint,
      access_key: cluster.credentials.accessKey,
      secret_key: cluster.credentials.secretKey,
      region: cluster.region,
      pids: cluster.pids,
      nodes: cluster.nodes.map((n) => ({ id: n.id, s3: n.s3Listen, pid: n.process.pid ?? null })),
      data: cluster.dataRoot,
    }),
  );
  io.err(`serving until SIGINT/SIGTERM or --max-time ${options.maxTimeS} s`);
  if (!signalled()) {
    await new Promise<void>((done) => {
      const timer = setTimeout(done, options.maxTimeS * 1000);
      setWake(() => {
        clearTimeout(timer);
        done();
      });
    });
  }
  io.err('stopping the local cluster…');
  await cluster.stop();
  if (profileDir !== undefined) io.err(profileText(await profileFigures(profileDir, options.profileTop, undefined)));
  return BENCH_EXIT.ok;
}
