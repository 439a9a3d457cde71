/**
 * Reads V8 `.cpuprofile` files (what `node --cpu-prof` writes on exit) and finds the hottest
 * functions by self time, per file and over all of them. Self time is attributed the way the
 * Chrome DevTools do it: sample i lasts until sample i+1 (`timeDeltas[i+1]`).
 *
 * @see https://chromedevtools.github.io/devtools-protocol/tot/Profiler/#type-Profile
 */
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** The parts of a V8 CPU profile this module reads. */
export interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number; readonly columnNumber?: number };
    readonly hitCount?: number;
    readonly children?: readonly number[];
  }>;
  /** Microseconds. */
  readonly startTime: number;
  readonly endTime: number;
  /** Node id of each sample. */
  readonly samples?: readonly number[];
  /** Microseconds before each sample. */
  readonly timeDeltas?: readonly number[];
}

/** One function's self time. */
export interface HotFunction {
  /** Function name, `(anonymous)`, or a V8 pseudo-frame like `(garbage collector)`. */
  readonly function: string;
  /** `file:line` (1-based), shortened; '' for pseudo-frames. */
  readonly location: string;
  readonly self_ms: number;
  /** Percent of the busy (non-idle) sampled time. */
  readonly self_pct: number;
}

/** The hottest functions of one or more profiles. */
export interface ProfileSummary {
  /** Sampled time in ms, idle included. */
  readonly total_ms: number;
  /** Sampled time not idle, in ms. */
  readonly busy_ms: number;
  readonly idle_pct: number;
  readonly top: readonly HotFunction[];
}

interface Entry {
  readonly name: string;
  readonly location: string;
  selfUs: number;
}

function shortUrl(url: string, cwd: string): string {
  let path = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  if (path.startsWith('/')) {
    const rel = relative(cwd, path);
    if (!rel.startsWith('..')) path = rel;
    const nm = path.lastIndexOf('node_modules/');
    if (nm !== -1) path = path.slice(nm);
  }
  return path;
}

/**
 * A time window in µs of the monotonic clock V8 stamps profiles with (the clock of
 * `process.hrtime.bigint()`, so another process on the machine can name it).
 */
export interface ProfileWindow {
  readonly startUs: number;
  readonly endUs: number;
}

/** Self time in µs per function (name + location) of one profile, idle included; only samples inside `window` when given. */
export function selfTimes(profile: CpuProfile, cwd = process.cwd(), window?: ProfileWindow): Map<string, Entry> {
  const byId = new Map<number, Entry>();
  const byKey = new Map<string, Entry>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName === '' ? '(anonymous)' : functionName;
    const location = url === '' ? '' : `${shortUrl(url, cwd)}:${lineNumber + 1}`;
    const key = `${name}\0${location}`;
    let entry = byKey.get(key);
    if (entry === undefined) {
      entry = { name, location, selfUs: 0 };
      byKey.set(key, entry);
    }
    byId.set(node.id, entry);
  }
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0 && deltas.length === samples.length) {
    let t = profile.startTime;
    for (let i = 0; i < samples.length; i++) {
      t += deltas[i]!;
      const duration = i + 1 < samples.length ? deltas[i + 1]! : profile.endTime - t;
      const entry = byId.get(samples[i]!);
      if (window !== undefined && (t < window.startUs || t >= window.endUs)) continue;
      if (entry !== undefined && duration > 0) entry.selfUs += duration;
    }
  } else {
    // Old-style profiles carry only hit counts: spread the profile's duration over the hits.
    const hits = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
    const perHit = hits > 0 ? (profile.endTime - profile.startTime) / hits : 0;
    for (const node of profile.nodes) {
      const entry = byId.get(node.id);
      if (entry !== undefined) entry.selfUs += (node.hitCount ?? 0) * perHit;
    }
  }
  return byKey;
}

/**
 * The `top` hottest functions over one or more profiles (times added up per function), counting
 * only samples inside `window` when given (old-style profiles without timestamps: all of them).
 */
export function summarizeProfiles(profiles: readonly CpuProfile[], top = 10, cwd = process.cwd(), window?: ProfileWindow): ProfileSummary {
  const merged = new Map<string, Entry>();
  for (const profile of profiles) {
    for (const [key, entry] of selfTimes(profile, cwd, window)) {
      const m = merged.get(key);
      if (m === undefined) merged.set(key, { ...entry });
      else m.selfUs += entry.selfUs;
    }
  }
  let total = 0;
  let idle = 0;
  for (const entry of merged.values()) {
    total += entry.selfUs;
    if (entry.name === '(idle)') idle += entry.selfUs;
  }
  const busy = total - idle;
  const hot = [...merged.values()]
    .filter((e) => e.name !== '(idle)' && e.selfUs > 0)
    .sort((a, b) => b.selfUs - a.selfUs)
    .slice(0, top)
    .map((e) => ({ function: e.name, location: e.location, self_ms: Math.round(e.selfUs / 100) / 10, self_pct: busy > 0 ? Math.round((e.selfUs / busy) * 1000) / 10 : 0 }));
  return { total_ms: Math.round(total / 1000), busy_ms: Math.round(busy / 1000), idle_pct: total > 0 ? Math.round((idle / total) * 1000) / 10 : 0, top: hot };
}

/** Every `*.cpuprofile` in `dir`, by file name (unreadable or malformed files are skipped and named). */
export async function readProfiles(dir: string): Promise<{ profiles: Map<string, CpuProfile>; skipped: string[] }> {
  const profiles = new Map<string, CpuProfile>();
  const skipped: string[] = [];
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  } catch {
    return { profiles, skipped };
  }
  for (const file of files) {
    try {
      const parsed = JSON.parse(await readFile(join(dir, file), 'utf8')) as Partial<CpuProfile>;
      if (!Array.isArray(parsed.nodes) || typeof parsed.startTime !== 'number' || typeof parsed.endTime !== 'number') throw new Error('not a CPU profile');
      profiles.set(file, parsed as CpuProfile);
    } catch {
      skipped.push(file);
    }
  }
  return { profiles, skipped };
}

/** The profile summary as text: one line per function. */
export function formatProfile(title: string, summary: ProfileSummary): string {
  const lines = [`${title} — ${(summary.busy_ms / 1000).toFixed(1)} s CPU sampled, ${summary.idle_pct}% of the sampled time idle`];
  lines.push(`  ${'self %'.padStart(6)}  ${'self ms'.padStart(9)}  function (location)`);
  for (const f of summary.top) {
    lines.push(`  ${f.self_pct.toFixed(1).padStart(6)}  ${f.self_ms.toFixed(1).padStart(9)}  ${f.function}${f.location === '' ? '' : ` (${f.location})`}`);
  }
  if (summary.top.length === 0) lines.push('  (no samples)');
  return lines.join('\n');
}
