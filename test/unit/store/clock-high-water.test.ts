import { describe, it, expect, afterEach } from 'vitest';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
  it('persists the floor and restores it on open', async () => {
    const p = await path();
    const first = await HighWaterFile.open(p, { windowMs: 1000, fsync: true });
    await first.file.cover(5_000);
    await first.file.close();
    const again = await HighWaterFile.open(p, { windowMs: 1000, fsync: true });
    expect(again.floorMs).toBe(6_000);
    expect(again.file.durableMs).toBe(6_000);
    // A cover below the restored floor needs no write.
    await again.file.cover(5_400);
    await again.file.close();
    expect(await readFile(p, 'utf8')).toBe('{"wallMs":6000}\n');
  });

  it('reserves the next window only once versions get within half a window of the mark', async () => {
    const p = await path();
    const { file } = await HighWaterFile.open(p, { windowMs: 1000, fsync: false });
    await file.cover(5_000);
    await file.cover(5_499);
    await file.close();
    expect(file.durableMs).toBe(6_000);
    expect(await readFile(p, 'utf8')).toBe('{"wallMs":6000}\n');
    await file.cover(5_500);
    await file.close();
    expect(file.durableMs).toBe(6_500);
    expect(await readFile(p, 'utf8')).toBe('{"wallMs":6500}\n');
    expect(await readdir(dirname(p))).toEqual(['clock-high-water']);
  });

  it('resolves cover only once the mark on disk is above the wall time', async () => {
    const p = await path();
    const { file } = await HighWaterFile.open(p, { windowMs: 10, fsync: true });
    await file.cover(1_000_000);
    expect(file.durableMs).toBe(1_000_010);
    expect(await readFile(p, 'utf8')).toBe('{"wallMs":1000010}\n');
    await file.cover(1_000_010);
    expect(file.durableMs).toBeGreaterThan(1_000_010);
    expect(JSON.parse(await readFile(p, 'utf8'))).toEqual({ wallMs: file.durableMs });
  });

  it('fails a cover it cannot persist with ServiceUnavailable, and persists on the next one once it can', async () => {
    const p = join(await path(), 'missing-dir', 'clock-high-water');
    const { file, floorMs } = await HighWaterFile.open(p, { windowMs: 1000, fsync: true });
    expect(floorMs).toBe(0);
    await expect(file.cover(100)).rejects.toMatchObject({ code: 'ServiceUnavailable', message: expect.stringContaining(p) });
    expect(file.durableMs).toBe(0);
    await mkdir(dirname(p), { recursive: true });
    await file.cover(100);
    expect(file.durableMs).toBe(1_100);
    expect(await readFile(p, 'utf8')).toBe('{"wallMs":1100}\n');
  });

  it.each([
    ['{"wallMs":123}', 123],
    ['{"wallMs":123}\n', 123],
    ['{"wallMs":0}\n', 0],
    ['{"wallMs":1234567890123456}\n', 1234567890123456],
  ])('reads the mark %j', async (text, floor) => {
    const p = await path();
    await writeFile(p, text);
    expect((await HighWaterFile.open(p, { windowMs: 1000, fsync: false })).floorMs).toBe(floor);
  });

  it.each(['{"wallMs":12345678901234567}\n', '{"wallMs":-1}\n', ' {"wallMs":1}\n', '{"wallMs":1}\n\n', '{"wallMs":1,"x":2}\n', '{"wallMs":"1"}\n', ''])('refuses the mark %j', async (text) => {
    const p = await path();
    await writeFile(p, text);
    await expect(HighWaterFile.open(p, { windowMs: 1000, fsync: false })).rejects.toMatchObject({ code: 'InvalidArgument', details: { path: p } });
  });

  it('passes on a read error other than a missing file', async () => {
    const p = await path();
    await mkdir(p);
    await expect(HighWaterFile.open(p, { windowMs: 1000, fsync: false })).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
