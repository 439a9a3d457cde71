import { describe, it, expect } from 'vitest';
import { niceScale, renderChart } from '../../../src/bench/chart.js';
import { resolveBenchOptions } from '../../../src/bench/options.js';
import { buildResult, formatTable, progressLine } from '../../../src/bench/report.js';
import type { RunOutcome } from '../../../src/bench/runner.js';
import { ErrorTally, OpStats, RunStats, Timeline, type TimelineSample } from '../../../src/bench/stats.js';

function sample(t: number, extra: Partial<TimelineSample> = {}): TimelineSample {
  return { t_s: t, ops: 100, ops_per_s: 100 + t, mib_per_s: 0.4, p50_ms: 2, p99_ms: 9 + t, max_ms: 20, errors: 0, warmup: false, ...extra };
}

describe('stats', () => {
  it('reports HDR percentiles in ms, never above the maximum', () => {
    const s = new OpStats();
    for (let i = 1; i <= 1000; i++) s.record(i * 1000, 4096);
    const sum = s.summary(2);
    expect(sum.ops).toBe(1000);
    expect(sum.ops_per_s).toBe(500);
    expect(sum.mib_per_s).toBeCloseTo((1000 * 4096) / 1048576 / 2, 3);
    expect(sum.p50_ms).toBeCloseTo(500, -1);
    expect(sum.p99_ms).toBeCloseTo(990, -1);
    expect(sum.p999_ms!).toBeLessThanOrEqual(sum.max_ms!);
    expect(new OpStats().summary(1).p50_ms).toBeNull();
  });

  it('counts errors by kind, most frequent first, keeping the first message', () => {
    const e = new ErrorTally();
    e.add('503 SlowDown', 'first');
    e.add('TIMEOUT', 'x');
    e.add('503 SlowDown', 'second');
    expect(e.count).toBe(3);
    expect(e.counts()).toEqual({ '503 SlowDown': 2, TIMEOUT: 1 });
    expect(e.samples()['503 SlowDown']).toBe('first');
  });

  it('closes one timeline sample per tick', () => {
    const t = new Timeline(0);
    t.record(1000, 1048576);
    t.record(3000, 1048576);
    t.error();
    const s = t.tick(500, false);
    expect(s).toMatchObject({ t_s: 0.5, ops: 2, ops_per_s: 4, mib_per_s: 4, errors: 1, warmup: false });
    expect(t.tick(1500, false)).toMatchObject({ ops: 0, p50_ms: null, errors: 0 });
  });
});

describe('renderChart', () => {
  it('draws throughput and latency lines, error marks and the warm-up as an SVG document', () => {
    const svg = renderChart([sample(1, { warmup: true }), sample(2), sample(3, { errors: 2 }), sample(4)], 'put <4KiB> & more', 1);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('put &lt;4KiB&gt; &amp; more');
    // ops/s, MiB/s, p50, p99, max
    expect(svg.match(/<polyline /g)).toHaveLength(5);
    expect(svg).toContain('<title>2 errors</title>');
    expect(svg).toContain('warm-up');
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  });

  it('breaks lines at seconds without completions and survives an empty run', () => {
    const svg = renderChart([sample(1), sample(2, { p50_ms: null, p99_ms: null, max_ms: null }), sample(3)], 't');
    expect(svg).not.toMatch(/NaN|undefined/);
    expect(svg).toContain('<circle');
    expect(renderChart([], 'empty')).not.toMatch(/NaN|undefined|Infinity/);
  });

  it('picks round axis steps', () => {
    expect(niceScale(97)).toEqual({ max: 100, step: 20 });
    expect(niceScale(0.42)).toEqual({ max: 0.5, step: 0.1 });
    expect(niceScale(0)).toEqual({ max: 1, step: 0.2 });
  });
});

describe('buildResult / formatTable', () => {
  it('shapes the JSON and the table of a mixed run, with errors by status and server cost', () => {
    const r = resolveBenchOptions({ op: 'mixed', size: '4KiB', duration: '10', label: 'unit' });
    if ('error' in r) throw new Error(r.error);
    const stats = new RunStats();
    for (let i = 0; i < 70; i++) stats.record('get', 2000, 4096);
    for (let i = 0; i < 30; i++) stats.record('put', 5000, 4096);
    stats.verified = 70;
    stats.errors.add('503 SlowDown', 'PUT /ringbench/x → 503 SlowDown: busy');
    const outcome: RunOutcome = {
      stats,
      timeline: [sample(1)],
      windowUs: { startUs: 0, endUs: 10_000_000 },
      elapsedS: 10,
      warmupS: 0,
      populate: { checked: 1000, written: 3, errors: 0, first_error: null, seconds: 1.5 },
      postVerify: null,
      warmupErrors: 0,
      aborted: 0,
      hardStopped: false,
      interrupted: false,
      clientCpuPct: 20,
      server: { pids: [1, 2, 3], cpu_pct: 150, cpu_s: 15, write_bytes: 30 * 4096 * 3, cancelled_write_bytes: 0, machine_cpu_pct: 190, cores: 2 },
      machineCpuPct: 190,
    };
    const result = buildResult(r.options, outcome, { label: 'local:3', endpoint: 'http://127.0.0.1:9000' });
    expect(result).toMatchObject({ ops: 100, ops_per_s: 10, errors: 1, error_status: { '503 SlowDown': 1 }, verified: 70, get_ops: 70, label: 'unit', read_ratio: 0.7 });
    expect(result.by_op['get']?.ops).toBe(70);
    expect(result.server).toMatchObject({ cpu_ms_per_op: 150, write_bytes_per_byte_stored: 3 });
    expect(result.other_cpu_pct).toBe(20);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
    const table = formatTable(result);
    expect(table).toMatch(/^ {2}get +70 +7\.0 /m);
    expect(table).toMatch(/^ {2}all +100 +10\.0 /m);
    expect(table).toContain('1 × 503 SlowDown — e.g. PUT /ringbench/x');
    expect(table).toContain('verified:  70 of 70 GETs');
    expect(table).toContain('3.00 bytes written per byte stored');
  });

  it('writes a compact progress line', () => {
    expect(progressLine(sample(3), 'measure', 3, 300, 0)).toMatch(/^\[ {3}3s run\] +103\.0 ops\/s +0\.40 MiB\/s {2}p50 +2\.00 ms {2}p99 +12\.00 ms {2}ops 300 {2}errors 0$/);
  });
});
