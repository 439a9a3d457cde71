import { describe, it, expect, afterEach } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HighWaterFile } from '../../../src/store/clock-high-water.js';
import { HybridClock } from '../../../src/util/clock.js';

describe('HighWaterFile', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  async function path(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'ringstore-hw-'));
    dirs.push(dir);
    return join(dir, 'clock-high-water');
  }

  it('starts at 0 without a file, and persists a window ahead of what it covers', async () => {
    const p = await path();
    const { file, floorMs } = await HighWaterFile.open(p, { windowMs: 1000, fsync: true });
    expect(floorMs).toBe(0);
    await file.cover(5_000);
    expect(file.durableMs).toBe(6_000);
    expect(await readFile(p, 'utf8')).toBe('{"wallMs":6000}\n');
  });

  it('writes once per half window, not once per version', async () => {
    const p = await path();
    const { file } = await HighWaterFile.open(p, { windowMs: 1000, fsync: false });
    const marks = new Set<number>();
    for (let wall = 10_000; wall < 12_000; wall += 1) {
      await file.cover(wall);
      marks.add(file.durableMs);
    }
    // 2000 ms of versions, a write each 500 ms: about 4 marks (plus the first).
    expect(marks.size).toBeLessThanOrEqual(6);
    expect(file.durableMs).toBeGreaterThan(11_999);
  });

  it('after a restart the clock begins above every version issued before, even with the wall clock set back', async () => {
    const p = await path();
    const before = await HighWaterFile.open(p, { windowMs: 1000, fsync: true });
    const wall = {
      t: 50_000,
      now() {
        return this.t;
      },
    };
    const clock = new HybridClock('n1', wall, { highWater: before.file });
    const issued = [];
    for (let i = 0; i < 20; i++) {
      wall.t += 37;
      issued.push(await clock.issue());
    }
    const last = issued[issued.length - 1]!.hlc;

    await before.file.close();
    wall.t = 40_000; // the wall clock stepped back 10 s while the node was down
    const after = await HighWaterFile.open(p, { windowMs: 1000, fsync: true });
    const restarted = new HybridClock('n1', wall, { floorMs: after.floorMs, highWater: after.file });
    expect((await restarted.issue()).hlc).toBeGreaterThan(last);
    expect(restarted.behindFloorMs()).toBeGreaterThan(10_000);
  });

  it('refuses a file that is not a high-water mark instead of starting from 0', async () => {
    const p = await path();
    await writeFile(p, 'garbage');
    await expect(HighWaterFile.open(p, { windowMs: 1000, fsync: false })).rejects.toThrow(/not a clock high-water mark/);
  });
});
