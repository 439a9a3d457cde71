import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { formatProfile, readProfiles, selfTimes, summarizeProfiles, type CpuProfile } from '../../../src/bench/profile.js';

// A tiny profile: root → (idle), root → handle → hash, root → (garbage collector).
// Samples at 0, 100, 200, 400, 900 and 950 µs; each lasts until the next (the last until endTime):
//   hash 100, hash 100, handle 200, (idle) 500, (gc) 50, hash 100
function profile(): CpuProfile {
  const frame = (functionName: string, url = '', lineNumber = -1) => ({ functionName, url, lineNumber, columnNumber: 0 });
  return {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 5] },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('handle', 'file:///srv/app/dist/s3/handler.js', 9), children: [4] },
      { id: 4, callFrame: frame('hash', 'node:internal/crypto/hash', 100) },
      { id: 5, callFrame: frame('(garbage collector)') },
    ],
    startTime: 1_000_000,
    endTime: 1_001_050,
    samples: [4, 4, 3, 2, 5, 4],
    timeDeltas: [0, 100, 100, 200, 500, 50],
  };
}

describe('selfTimes', () => {
  it('gives each sample the time until the next one', () => {
    const times = selfTimes(profile(), '/srv/app');
    const us = (name: string): number => [...times.values()].find((e) => e.name === name)?.selfUs ?? 0;
    expect(us('hash')).toBe(100 + 100 + 100);
    expect(us('handle')).toBe(200);
    expect(us('(idle)')).toBe(500);
    expect(us('(garbage collector)')).toBe(50);
    expect([...times.values()].find((e) => e.name === 'handle')?.location).toBe('dist/s3/handler.js:10');
  });

  it('counts only samples inside a window', () => {
    const times = selfTimes(profile(), '/srv/app', { startUs: 1_000_150, endUs: 1_000_450 });
    const us = (name: string): number => [...times.values()].find((e) => e.name === name)?.selfUs ?? 0;
    // The samples at 200 µs (handle, 200 µs long) and 400 µs (idle, 500 µs long).
    expect(us('hash')).toBe(0);
    expect(us('handle')).toBe(200);
    expect(us('(idle)')).toBe(500);
  });

  it('falls back to hit counts for profiles without timestamps', () => {
    const p = profile();
    const old: CpuProfile = { nodes: p.nodes.map((n) => ({ ...n, hitCount: n.id === 4 ? 3 : n.id === 3 ? 1 : 0 })), startTime: 0, endTime: 400 };
    const times = selfTimes(old);
    expect([...times.values()].find((e) => e.name === 'hash')?.selfUs).toBe(300);
  });
});

describe('summarizeProfiles', () => {
  it('ranks functions by self time as a share of busy time, leaving idle out', () => {
    const s = summarizeProfiles([profile()], 10, '/srv/app');
    expect(s.total_ms).toBe(1);
    expect(s.idle_pct).toBe(47.6);
    expect(s.top.map((f) => f.function)).toEqual(['hash', 'handle', '(garbage collector)']);
    expect(s.top[0]).toEqual({ function: 'hash', location: 'node:internal/crypto/hash:101', self_ms: 0.3, self_pct: 54.5 });
    expect(s.top[1]).toEqual({ function: 'handle', location: 'dist/s3/handler.js:10', self_ms: 0.2, self_pct: 36.4 });
    expect(s.top.reduce((sum, f) => sum + f.self_pct, 0)).toBeCloseTo(100, 0);
  });

  it('adds up the same function across profiles (nodes) and keeps the top N', () => {
    const s = summarizeProfiles([profile(), profile()], 2, '/srv/app');
    expect(s.top).toHaveLength(2);
    expect(s.top[0]?.self_ms).toBe(0.6);
  });

  it('prints one line per function', () => {
    const text = formatProfile('all nodes', summarizeProfiles([profile()], 10, '/srv/app'));
    expect(text.split('\n')[0]).toContain('all nodes');
    expect(text).toMatch(/36\.4\s+0\.2\s+handle \(dist\/s3\/handler\.js:10\)/);
  });
});

describe('readProfiles', () => {
  it('reads every .cpuprofile in a directory and names the unreadable ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-profile-test-'));
    try {
      await writeFile(join(dir, 'n1.cpuprofile'), JSON.stringify(profile()));
      await writeFile(join(dir, 'n2.cpuprofile'), '{"not":"a profile"}');
      await writeFile(join(dir, 'notes.txt'), 'ignored');
      const { profiles, skipped } = await readProfiles(dir);
      expect([...profiles.keys()]).toEqual(['n1.cpuprofile']);
      expect(skipped).toEqual(['n2.cpuprofile']);
      expect((await readProfiles(join(dir, 'missing'))).profiles.size).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
