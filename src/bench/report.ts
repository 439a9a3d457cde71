/**
 * The results of a bench run: the JSON document (`--json`, `--out DIR/result.json`) and the
 * table people read. Both come from one `BenchResult`, built from the runner's outcome.
 */
import { VERSION } from '../version.js';
import type { BenchOptions } from './options.js';
import { formatSize } from './options.js';
import type { ProfileSummary } from './profile.js';
import type { PostVerify, RunOutcome } from './runner.js';
import type { PopulateResult } from './workload.js';
import { r3, type OpSummary, type TimelineSample } from './stats.js';

/** Server-side cost of the measured window. */
export interface ServerFigures {
  readonly pids: readonly number[];
  readonly cpu_pct: number;
  /** Server CPU time per operation, ms. */
  readonly cpu_ms_per_op: number | null;
  readonly write_bytes: number;
  /** Bytes the server processes wrote to storage per payload byte PUT (null without PUTs). */
  readonly write_bytes_per_byte_stored: number | null;
  readonly cancelled_write_bytes: number;
}

/** CPU profiles of the local cluster's nodes. */
export interface ProfileFigures {
  readonly dir: string;
  /** Which samples count: the measured window, or the whole life of the nodes (`--serve`). */
  readonly window: 'measured window' | 'whole run';
  readonly aggregated: ProfileSummary;
  readonly nodes: Readonly<Record<string, ProfileSummary>>;
  readonly skipped: readonly string[];
}

/** The JSON document of one run. */
export interface BenchResult extends OpSummary {
  readonly tool: 'ringstore-bench';
  readonly version: string;
  readonly label: string | null;
  /** `local:3` or the endpoint URL. */
  readonly target: string;
  readonly endpoint: string;
  readonly bucket: string;
  readonly op: string;
  readonly size: string;
  /** The object size, or null for a mix. */
  readonly size_bytes: number | null;
  readonly concurrency: number;
  readonly mode: string;
  readonly objects: number;
  readonly distribution: string;
  readonly read_ratio: number | null;
  readonly payload: 'signed' | 'UNSIGNED-PAYLOAD';
  readonly warmup_s: number;
  readonly elapsed_s: number;
  readonly errors: number;
  /** Errors by HTTP status and S3 code, or by cause (`TIMEOUT`, `verify:checksum`). */
  readonly error_status: Readonly<Record<string, number>>;
  readonly error_samples: Readonly<Record<string, string>>;
  readonly first_error: string | null;
  /** GETs whose size and bytes matched what the bench wrote. */
  readonly verified: number;
  readonly verified_racing: number;
  readonly get_ops: number;
  readonly listed_keys: number;
  readonly by_op: Readonly<Record<string, OpSummary>>;
  readonly populate: PopulateResult | null;
  readonly post_verify: PostVerify | null;
  readonly aborted: number;
  /** Errors during the warm-up (not in `errors`). */
  readonly warmup_errors: number;
  readonly hard_stopped: boolean;
  readonly interrupted: boolean;
  /** % of one core. */
  readonly client_cpu_pct: number;
  readonly machine_cpu_pct: number | null;
  /** Machine CPU not used by the bench or the server processes (kernel threads, neighbours). */
  readonly other_cpu_pct: number | null;
  readonly server: ServerFigures | null;
  readonly timeline: readonly TimelineSample[];
  profile?: ProfileFigures;
  readonly when: string;
}

/** Builds the result document of a run. */
export function buildResult(options: BenchOptions, outcome: RunOutcome, target: { readonly label: string; readonly endpoint: string }): BenchResult {
  const { stats } = outcome;
  const elapsed = outcome.elapsedS;
  const byOp: Record<string, OpSummary> = {};
  for (const [kind, s] of stats.byOp) byOp[kind] = s.summary(elapsed);
  const storedBytes = (stats.byOp.get('put')?.bytes ?? 0) + (stats.byOp.get('multipart')?.bytes ?? 0);
  const server = outcome.server;
  const samples = stats.errors.samples();
  const counts = stats.errors.counts();
  const firstKind = Object.keys(counts)[0];
  const fixed = options.sizes.classes.length === 1 ? options.sizes.classes[0]!.bytes : null;
  return {
    tool: 'ringstore-bench',
    version: VERSION,
    label: options.label ?? null,
    target: target.label,
    endpoint: target.endpoint,
    bucket: options.bucket,
    op: options.op,
    size: options.sizes.label,
    size_bytes: fixed,
    concurrency: options.concurrency,
    mode: options.count !== undefined ? `count=${options.count}` : `duration=${options.durationS}s`,
    objects: options.objects,
    distribution: options.distribution === 'zipf' ? `zipf(s=${options.zipfS})` : 'uniform',
    read_ratio: options.op === 'mixed' ? options.readRatio : null,
    payload: options.signPayload ? 'signed' : 'UNSIGNED-PAYLOAD',
    warmup_s: r3(outcome.warmupS),
    elapsed_s: r3(elapsed),
    ...stats.all.summary(elapsed),
    errors: stats.errors.count,
    error_status: counts,
    error_samples: samples,
    first_error: firstKind === undefined ? null : (samples[firstKind] ?? null),
    verified: stats.verified,
    verified_racing: stats.verifiedRacing,
    get_ops: stats.byOp.get('get')?.ops ?? 0,
    listed_keys: stats.listedKeys,
    by_op: byOp,
    populate: outcome.populate,
    post_verify: outcome.postVerify,
    aborted: outcome.aborted,
    warmup_errors: outcome.warmupErrors,
    hard_stopped: outcome.hardStopped,
    interrupted: outcome.interrupted,
    client_cpu_pct: outcome.clientCpuPct,
    machine_cpu_pct: outcome.machineCpuPct,
    other_cpu_pct: outcome.machineCpuPct === null ? null : Math.max(0, Math.round((outcome.machineCpuPct - outcome.clientCpuPct - (server?.cpu_pct ?? 0)) * 10) / 10),
    server:
      server === null
        ? null
        : {
            pids: server.pids,
            cpu_pct: server.cpu_pct,
            cpu_ms_per_op: stats.all.ops > 0 ? r3((server.cpu_s * 1000) / stats.all.ops) : null,
            write_bytes: server.write_bytes,
            write_bytes_per_byte_stored: storedBytes > 0 ? r3(server.write_bytes / storedBytes) : null,
            cancelled_write_bytes: server.cancelled_write_bytes,
          },
    timeline: outcome.timeline,
    when: new Date().toISOString(),
  };
}

const f = (x: number | null | undefined, digits = 1): string => (x === null || x === undefined ? '–' : x.toFixed(digits));

function describeRun(r: BenchResult): string {
  const what = r.op === 'mixed' ? `mixed ${Math.round((r.read_ratio ?? 0) * 100)}/${100 - Math.round((r.read_ratio ?? 0) * 100)} get/put` : r.op;
  const how = r.mode.startsWith('count=') ? `${r.mode.slice(6)} ops` : `${f(r.elapsed_s)} s measured${r.warmup_s > 0 ? ` after ${f(r.warmup_s)} s warm-up` : ''}`;
  return `${what} ${r.size}, c=${r.concurrency}, ${how}, ${r.distribution} over ${r.objects} keys`;
}

/** The human-readable report: settings, a table per operation, errors, checks and costs. */
export function formatTable(r: BenchResult): string {
  const lines: string[] = [];
  lines.push(`ringstore bench${r.label === null ? '' : ` [${r.label}]`}: ${describeRun(r)}`);
  lines.push(`target: ${r.target === r.endpoint ? r.endpoint : `${r.target} (${r.endpoint})`}, bucket ${r.bucket}, ${r.payload}`);
  lines.push('');
  const header = ['op', 'ops', 'ops/s', 'MiB/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms'];
  const rows: string[][] = [];
  const row = (name: string, s: OpSummary): string[] => [name, String(s.ops), f(s.ops_per_s), f(s.mib_per_s, 2), f(s.p50_ms, 2), f(s.p90_ms, 2), f(s.p99_ms, 2), f(s.p999_ms, 2), f(s.max_ms, 2)];
  const kinds = Object.keys(r.by_op);
  for (const kind of kinds) rows.push(row(kind, r.by_op[kind]!));
  if (kinds.length !== 1) rows.push(row('all', r));
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((x) => x[c]!.length)));
  const render = (cells: string[]): string => `  ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}`;
  lines.push(render(header));
  for (const cells of rows) lines.push(render(cells));
  lines.push('');
  const errorKinds = Object.entries(r.error_status);
  if (errorKinds.length === 0) lines.push('errors:    none');
  else {
    lines.push(`errors:    ${r.errors}`);
    for (const [kind, count] of errorKinds) lines.push(`  ${String(count).padStart(7)} × ${kind} — e.g. ${(r.error_samples[kind] ?? '').slice(0, 160)}`);
  }
  if (r.warmup_errors > 0) lines.push(`warm-up:   ${r.warmup_errors} errors during the warm-up (not in the figures above)`);
  if (r.aborted > 0 || r.hard_stopped || r.interrupted) {
    lines.push(`stopped:   ${r.hard_stopped ? '--max-time reached' : r.interrupted ? 'interrupted' : ''}${r.aborted > 0 ? `; ${r.aborted} requests in flight aborted (not counted)` : ''}`);
  }
  if (r.get_ops > 0) {
    lines.push(`verified:  ${r.verified} of ${r.get_ops} GETs matched size and content${r.verified_racing > 0 ? ` (${r.verified_racing} read a concurrent overwrite)` : ''}`);
  }
  if (r.listed_keys > 0) lines.push(`listed:    ${r.listed_keys} keys in complete traversals`);
  if (r.post_verify !== null) lines.push(`read-back: ${r.post_verify.verified} of ${r.post_verify.checked} uploaded objects matched size and content`);
  if (r.populate !== null) {
    const p = r.populate;
    lines.push(`populate:  ${p.checked} keys checked, ${p.written} written, ${p.errors} errors, ${f(p.seconds)} s${p.first_error === null ? '' : ` (first: ${p.first_error.slice(0, 120)})`}`);
  }
  const cpu = [`client ${f(r.client_cpu_pct, 0)}%`];
  if (r.server !== null) cpu.push(`server ${f(r.server.cpu_pct, 0)}% (${f(r.server.cpu_ms_per_op, 2)} ms CPU/op)`);
  if (r.machine_cpu_pct !== null) cpu.push(`machine ${f(r.machine_cpu_pct, 0)}%`, `other ${f(r.other_cpu_pct, 0)}%`);
  lines.push(`cpu:       ${cpu.join(' · ')}  (100% = one core)`);
  if (r.server !== null && r.server.write_bytes_per_byte_stored !== null) {
    lines.push(`disk:      ${f(r.server.write_bytes_per_byte_stored, 2)} bytes written per byte stored (${formatSize(r.server.write_bytes)} by the server processes)`);
  }
  return lines.join('\n');
}

/** One progress line: elapsed, phase, rates and latency of the last second, totals so far. */
export function progressLine(sample: TimelineSample, phase: string, elapsedS: number, totalOps: number, totalErrors: number): string {
  return (
    `[${elapsedS.toFixed(0).padStart(4)}s ${phase === 'warm-up' ? 'warm-up' : 'run'}] ` +
    `${f(sample.ops_per_s).padStart(8)} ops/s ${f(sample.mib_per_s, 2).padStart(8)} MiB/s  ` +
    `p50 ${f(sample.p50_ms, 2).padStart(7)} ms  p99 ${f(sample.p99_ms, 2).padStart(7)} ms  ` +
    `ops ${totalOps}  errors ${totalErrors}`
  );
}
