/**
 * `ringstore bench` end to end, as the built CLI: against a running 3-node cluster through
 * --endpoint, and in its own local-cluster mode (--nodes 3) with --profile and --out. Each run
 * is a few seconds; the checks are on the JSON result: work done, zero errors, every GET's
 * body verified, server cost measured, files written, and no node left running.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_KEY, SECRET_KEY, TestCluster } from '../helpers/cluster.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function bench(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'bench', ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

function parse(run: Run): Record<string, unknown> & { by_op: Record<string, { ops: number }> } {
  try {
    return JSON.parse(run.stdout) as Record<string, unknown> & { by_op: Record<string, { ops: number }> };
  } catch {
    throw new Error(`bench printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ringstore bench against a 3-node cluster (--endpoint)', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('runs a mixed workload with a size mix and Zipf keys, verifying every GET', async () => {
    const pids = cluster.nodes.map((n) => n.process!.pid!).join(',');
    const run = await bench([
      '--endpoint',
      cluster.endpoint(),
      '--access-key',
      ACCESS_KEY,
      '--secret',
      SECRET_KEY,
      '--bucket',
      'bench-it',
      '--op',
      'mixed',
      '--read-ratio',
      '0.6',
      '--size',
      '4KiB:80,256KiB:20',
      '--objects',
      '60',
      '--distribution',
      'zipf',
      '--concurrency',
      '4',
      '--duration',
      '3',
      '--warmup',
      '1',
      '--server-pids',
      pids,
      '--json',
    ]);
    const r = parse(run);
    expect(run.code, run.stderr).toBe(0);
    expect(r['errors']).toBe(0);
    expect(r['warmup_errors']).toBe(0);
    expect(r['ops']).toBeGreaterThan(0);
    expect(r.by_op['get']!.ops).toBeGreaterThan(0);
    expect(r.by_op['put']!.ops).toBeGreaterThan(0);
    expect(r['verified']).toBe(r.by_op['get']!.ops);
    expect(r['populate']).toMatchObject({ checked: 60, errors: 0 });
    expect(r['p50_ms']).toBeGreaterThan(0);
    expect(r['p99_ms'] as number).toBeGreaterThanOrEqual(r['p50_ms'] as number);
    const server = r['server'] as { pids: number[]; cpu_ms_per_op: number; write_bytes: number };
    expect(server.pids).toHaveLength(3);
    expect(server.cpu_ms_per_op).toBeGreaterThan(0);
    expect((r['timeline'] as unknown[]).length).toBeGreaterThanOrEqual(3);
    // The table goes to stderr with --json.
    expect(run.stderr).toContain('verified:');
  });

  it('lists, HEADs and deletes what it populated', async () => {
    const common = ['--endpoint', cluster.endpoint(), '--access-key', ACCESS_KEY, '--secret', SECRET_KEY, '--bucket', 'bench-it', '--objects', '30', '--prefix', 'lhd', '--json', '-q'];
    const list = parse(await bench([...common, '--op', 'list', '--list-max-keys', '7', '--concurrency', '2', '--duration', '2']));
    expect(list).toMatchObject({ errors: 0 });
    expect(list['listed_keys'] as number).toBeGreaterThanOrEqual(30);
    expect((list['listed_keys'] as number) % 30).toBe(0);
    const head = parse(await bench([...common, '--op', 'head', '--concurrency', '2', '--count', '20']));
    expect(head).toMatchObject({ errors: 0, ops: 20, populate: { written: 0 } });
    const del = parse(await bench([...common, '--op', 'delete', '--concurrency', '4']));
    expect(del).toMatchObject({ errors: 0, ops: 30 });
  });
});

describe('ringstore bench with its own local cluster (--nodes 3)', () => {
  let out: string;

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'bench-it-out-'));
  });

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('starts, measures, profiles and stops the cluster, and writes result, report and chart', async () => {
    const run = await bench(['--nodes', '3', '--op', 'get', '--size', '8KiB', '--objects', '40', '--concurrency', '4', '--duration', '2', '--profile', '--out', out, '--json']);
    const r = parse(run);
    expect(run.code, run.stderr).toBe(0);
    expect(r).toMatchObject({ target: 'local:3', errors: 0 });
    expect(r['ops']).toBeGreaterThan(0);
    expect(r['verified']).toBe(r['ops']);
    const server = r['server'] as { pids: number[] };
    expect(server.pids).toHaveLength(3);
    for (const pid of server.pids) expect(alive(pid)).toBe(false);
    const profile = r['profile'] as { aggregated: { top: Array<{ function: string; self_pct: number }> }; nodes: Record<string, unknown> };
    expect(profile.aggregated.top.length).toBeGreaterThan(0);
    expect(Object.keys(profile.nodes).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(run.stderr).toContain('Hottest functions of all nodes');
    for (const file of ['result.json', 'report.txt', 'chart.svg', 'profiles/n1.cpuprofile']) expect(existsSync(join(out, file)), file).toBe(true);
    expect(await readFile(join(out, 'chart.svg'), 'utf8')).toMatch(/^<svg [^]*<\/svg>\n$/);
    expect(JSON.parse(await readFile(join(out, 'result.json'), 'utf8'))).toMatchObject({ ops: r['ops'] });
  });

  it('rejects bad flags with exit 2 and a message naming the flag', async () => {
    const run = await bench(['--op', 'copy']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--op = copy');
  });
});
