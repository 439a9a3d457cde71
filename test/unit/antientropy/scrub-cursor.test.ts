/**
 * The scrub position persisted in a real LevelStore (temp dir): a pass stopped half-way resumes
 * after the store is closed and reopened by a new worker (a node restart) instead of starting
 * over, keeping its start time; the next pass is due `intervalMs` after the persisted start, not
 * after the restart; an unreadable saved position starts a new pass.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SCRUB_CURSOR_META, ScrubWorker, decodeScrubCursor, encodeScrubCursor } from '../../../src/antientropy/scrub.js';
import { LevelStore } from '../../../src/store/level-store.js';
import { silentLogger } from '../../../src/util/logger.js';
import { cryptoRandom } from '../../../src/util/random.js';
import { bodyOf, plant } from '../../helpers/replica-faults.js';
import { VirtualTime } from './virtual-time.js';

const START = 1_800_000_000_000;
const WEEK = 7 * 86_400_000;
const KEYS = 60;

const dirs: string[] = [];
const open: LevelStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function openStore(dir: string): Promise<LevelStore> {
  const store = new LevelStore({ dir, fsync: false, directIo: false, inlineThreshold: 1024, random: cryptoRandom, logger: silentLogger });
  await store.open();
  open.push(store);
  return store;
}

async function closeStore(store: LevelStore): Promise<void> {
  open.splice(open.indexOf(store), 1);
  await store.close();
}

async function filledDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rs-scrub-cursor-'));
  dirs.push(dir);
  const store = await openStore(dir);
  for (let i = 0; i < KEYS; i++) await plant(store, `k${i}`, 1000 + i, bodyOf(500, i));
  await closeStore(store);
  return dir;
}

function scrubber(store: LevelStore, time: VirtualTime, maxBytesPerSecond = 1024 * 1024 * 1024): ScrubWorker {
  return new ScrubWorker({ source: store, clock: time, timers: time, logger: silentLogger, metrics: null, settings: { intervalMs: WEEK, maxBytesPerSecond }, onCorrupt: () => {} });
}

describe('scrub cursor persisted in the store', () => {
  it('a pass stopped half-way resumes after a restart, keeping its start; the two halves read each object about once', async () => {
    const dir = await filledDir();
    const time = new VirtualTime(START);
    let store = await openStore(dir);
    // ~3 objects per virtual second (each charged a 64 KiB seek): the cursor is saved as it goes.
    const first = scrubber(store, time, 200_000);
    const stop = new AbortController();
    const step = first.runOnce(stop.signal).catch((err: unknown) => (err as Error).message);
    await time.run(
      (async () => {
        while (first.progress().objectsChecked < 25) await new Promise((r) => setImmediate(r));
        stop.abort(new Error('stopped'));
      })(),
    );
    expect(await step).toBe('stopped');
    const half = first.progress();
    expect(half.partitionsDone).toBeGreaterThan(0);
    await closeStore(store);

    time.advance(3_600_000);
    store = await openStore(dir);
    const saved = decodeScrubCursor((await store.getMeta(SCRUB_CURSOR_META))!);
    expect(saved).toMatchObject({ startedMs: START, partition: half.partitionsDone });
    expect(saved?.finishedMs).toBeUndefined();
    const second = scrubber(store, time);
    await time.run(second.runOnce(new AbortController().signal));
    const p = second.progress();
    expect(p.passes).toBe(1);
    expect(p.startedMs).toBe(START);
    // Only what the first half had not read (at most the page in progress again).
    expect(half.objectsChecked + p.objectsChecked).toBeGreaterThanOrEqual(KEYS);
    expect(p.objectsChecked).toBeLessThan(KEYS - 20);
    expect(decodeScrubCursor((await store.getMeta(SCRUB_CURSOR_META))!)).toMatchObject({ startedMs: START, partition: 65_536, finishedMs: p.finishedMs });
  });

  it('after a restart the next pass is due intervalMs after the persisted start, not after the restart', async () => {
    const dir = await filledDir();
    const time = new VirtualTime(START);
    let store = await openStore(dir);
    await time.run(scrubber(store, time).runOnce(new AbortController().signal));
    await closeStore(store);

    time.advance(WEEK - 1000);
    store = await openStore(dir);
    const worker = scrubber(store, time);
    await time.run(worker.runOnce(new AbortController().signal));
    expect(worker.progress()).toMatchObject({ passes: 0, running: false, objectsChecked: 0 });
    time.advance(1000);
    await time.run(worker.runOnce(new AbortController().signal));
    expect(worker.progress()).toMatchObject({ passes: 1, startedMs: START + WEEK, objectsChecked: KEYS });
  });

  it('an unreadable saved position starts a new pass', async () => {
    const dir = await filledDir();
    const time = new VirtualTime(START);
    const store = await openStore(dir);
    await store.putMeta(SCRUB_CURSOR_META, Buffer.from('{"format":1,"startedMs":"soon"'));
    const worker = scrubber(store, time);
    await time.run(worker.runOnce(new AbortController().signal));
    expect(worker.progress()).toMatchObject({ passes: 1, startedMs: START, objectsChecked: KEYS });
  });

  it('decodes what it encodes and rejects what it did not write', () => {
    for (const c of [
      { startedMs: 5, partition: 0 },
      { startedMs: 5, partition: 17, after: 'b\0k' },
      { startedMs: 5, partition: 65_536, finishedMs: 9 },
    ]) {
      expect(decodeScrubCursor(encodeScrubCursor(c))).toEqual(c);
    }
    for (const bad of [
      '',
      'null',
      '{"format":2,"startedMs":1,"partition":0}',
      '{"format":1,"startedMs":1,"partition":65537}',
      '{"format":1,"startedMs":1,"partition":1.5}',
      '{"format":1,"startedMs":1,"partition":0,"after":3}',
    ]) {
      expect(decodeScrubCursor(Buffer.from(bad)), bad).toBeUndefined();
    }
  });
});
