/**
 * A hand-written SVG chart of a run's per-second samples: throughput (ops/s, and MiB/s on the
 * right axis) above, latency (p50, p99, max) below, seconds with errors marked in red and the
 * warm-up shaded. No chart library; the output is a self-contained SVG document.
 */
import type { TimelineSample } from './stats.js';

const WIDTH = 900;
const PANEL = 220;
const LEFT = 70;
const RIGHT = 70;
const TOP = 50;
const GAP = 60;

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A "nice" axis maximum and step (1, 2, 2.5 or 5 × 10^n) covering `max`. */
export function niceScale(max: number, ticks = 5): { max: number; step: number } {
  if (!(max > 0)) return { max: 1, step: 0.2 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  return { max: Math.ceil(max / step - 1e-9) * step, step };
}

function label(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${+(n / 1e3).toFixed(1)}k`;
  return `${+n.toFixed(n < 10 ? 2 : 1)}`;
}

interface Series {
  readonly name: string;
  readonly color: string;
  readonly values: ReadonlyArray<number | null>;
  readonly dash?: string;
}

function polyline(xs: readonly number[], values: ReadonlyArray<number | null>, y: (v: number) => number, color: string, dash?: string): string {
  // A null (a second without completions) breaks the line instead of drawing a false zero.
  const parts: string[] = [];
  let current: string[] = [];
  values.forEach((v, i) => {
    if (v === null) {
      if (current.length > 0) parts.push(current.join(' '));
      current = [];
    } else current.push(`${xs[i]!.toFixed(1)},${y(v).toFixed(1)}`);
  });
  if (current.length > 0) parts.push(current.join(' '));
  return parts
    .map((points) =>
      points.includes(' ')
        ? `<polyline fill="none" stroke="${color}" stroke-width="1.6"${dash === undefined ? '' : ` stroke-dasharray="${dash}"`} points="${points}"/>`
        : `<circle cx="${points.split(',')[0]}" cy="${points.split(',')[1]}" r="2" fill="${color}"/>`,
    )
    .join('\n');
}

function panel(top: number, title: string, xs: readonly number[], left: readonly Series[], leftUnit: string, right?: Series, rightUnit?: string): string {
  const plotW = WIDTH - LEFT - RIGHT;
  const bottom = top + PANEL;
  const out: string[] = [`<text x="${LEFT}" y="${top - 10}" font-size="13" font-weight="bold">${esc(title)}</text>`];
  const leftMax = niceScale(Math.max(0, ...left.flatMap((s) => s.values.filter((v): v is number => v !== null))));
  const yL = (v: number): number => bottom - (v / leftMax.max) * PANEL;
  for (let v = 0; v <= leftMax.max + 1e-9; v += leftMax.step) {
    out.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${yL(v).toFixed(1)}" y2="${yL(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${LEFT - 6}" y="${(yL(v) + 4).toFixed(1)}" font-size="11" text-anchor="end">${label(v)}</text>`);
  }
  out.push(`<text x="16" y="${top + PANEL / 2}" font-size="11" transform="rotate(-90 16 ${top + PANEL / 2})" text-anchor="middle">${esc(leftUnit)}</text>`);
  for (const s of left) out.push(polyline(xs, s.values, yL, s.color, s.dash));
  if (right !== undefined) {
    const rightMax = niceScale(Math.max(0, ...right.values.filter((v): v is number => v !== null)));
    const yR = (v: number): number => bottom - (v / rightMax.max) * PANEL;
    for (let v = 0; v <= rightMax.max + 1e-9; v += rightMax.step) {
      out.push(`<text x="${LEFT + plotW + 6}" y="${(yR(v) + 4).toFixed(1)}" font-size="11" fill="${right.color}">${label(v)}</text>`);
    }
    out.push(
      `<text x="${WIDTH - 14}" y="${top + PANEL / 2}" font-size="11" fill="${right.color}" transform="rotate(90 ${WIDTH - 14} ${top + PANEL / 2})" text-anchor="middle">${esc(rightUnit ?? '')}</text>`,
    );
    out.push(polyline(xs, right.values, yR, right.color, right.dash));
  }
  out.push(`<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PANEL}" fill="none" stroke="#888"/>`);
  const legend = [...left, ...(right === undefined ? [] : [right])];
  legend.forEach((s, i) => {
    const x = LEFT + plotW - 110 * (legend.length - i);
    out.push(`<line x1="${x}" x2="${x + 18}" y1="${top - 14}" y2="${top - 14}" stroke="${s.color}" stroke-width="2"${s.dash === undefined ? '' : ` stroke-dasharray="${s.dash}"`}/>`);
    out.push(`<text x="${x + 22}" y="${top - 10}" font-size="11">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

/** The SVG document for a run's timeline; `title` goes on top, the first `warmupS` seconds are shaded. */
export function renderChart(samples: readonly TimelineSample[], title: string, warmupS = 0): string {
  const height = TOP + 2 * PANEL + GAP + 50;
  const plotW = WIDTH - LEFT - RIGHT;
  const tMax = Math.max(1, ...samples.map((s) => s.t_s));
  const x = (t: number): number => LEFT + (t / tMax) * plotW;
  // Each sample covers the second before its timestamp; plot it at the middle of that interval.
  const xs = samples.map((s, i) => x((s.t_s + (i === 0 ? 0 : samples[i - 1]!.t_s)) / 2));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" font-size="14" text-anchor="middle">${esc(title)}</text>`,
  ];
  const latencyTop = TOP + PANEL + GAP;
  if (warmupS > 0) {
    const end = x(Math.min(warmupS, tMax));
    for (const top of [TOP, latencyTop]) out.push(`<rect x="${LEFT}" y="${top}" width="${(end - LEFT).toFixed(1)}" height="${PANEL}" fill="#f2f2f2"/>`);
    out.push(`<text x="${LEFT + 4}" y="${TOP + 14}" font-size="10" fill="#777">warm-up</text>`);
  }
  out.push(
    panel(
      TOP,
      'Throughput per second',
      xs,
      [{ name: 'ops/s', color: '#1f77b4', values: samples.map((s) => s.ops_per_s) }],
      'operations per second',
      { name: 'MiB/s', color: '#ff7f0e', values: samples.map((s) => s.mib_per_s), dash: '5 3' },
      'MiB per second',
    ),
  );
  out.push(
    panel(
      latencyTop,
      'Latency per second (ms)',
      xs,
      [
        { name: 'p50', color: '#2ca02c', values: samples.map((s) => s.p50_ms) },
        { name: 'p99', color: '#d62728', values: samples.map((s) => s.p99_ms) },
        { name: 'max', color: '#7f7f7f', values: samples.map((s) => s.max_ms), dash: '2 3' },
      ],
      'milliseconds',
    ),
  );
  const bottom = latencyTop + PANEL;
  samples.forEach((s, i) => {
    if (s.errors > 0) out.push(`<rect x="${(xs[i]! - 2).toFixed(1)}" y="${bottom - 8}" width="4" height="8" fill="#d62728"><title>${s.errors} errors</title></rect>`);
  });
  const step = niceScale(tMax, 10).step;
  for (let t = 0; t <= tMax + 1e-9; t += step) {
    for (const b of [TOP + PANEL, bottom]) out.push(`<text x="${x(t).toFixed(1)}" y="${b + 16}" font-size="11" text-anchor="middle">${label(t)}</text>`);
  }
  out.push(
    `<text x="${LEFT + plotW / 2}" y="${bottom + 36}" font-size="11" text-anchor="middle">seconds since start${samples.some((s) => s.errors > 0) ? ' (red marks: seconds with errors)' : ''}</text>`,
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}
