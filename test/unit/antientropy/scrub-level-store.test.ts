/**
 * Scrub on a real LevelStore: a byte flipped in a blob file on disk is found by the scrub pass
 * (the store's checked read quarantines the copy), and the repair it triggers (a coordinator head
 * of all three replicas, then read repair) puts back a byte-identical body under the same version,
 * well within 60 s. A read through the coordinator meanwhile never serves the corrupt bytes.
 */
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ScrubWorker } from '../../../src/antientropy/scrub.js';
import { Membership } from '../../../src/cluster/membership.js';
import { Coordinator } from '../../../src/replication/coordinator.js';
import { createHasher } from '../../../src/ring/hasher.js';
import { LevelStore } from '../../../src/store/level-store.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { LocalStore } from '../../../src/store/types.js';
import { HybridClock, systemClock, systemTimers } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';
import { cryptoRandom } from '../../../src/util/random.js';
import { bodyOf, fixedRandom, putInput, readAll } from '../../helpers/replica-faults.js';

const dirs: string[] = [];
const stores: LocalStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function filesOfSize(root: string, size: number): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if ((await stat(path)).size === size) out.push(path);
  }
  return out;
}

async function flipByte(path: string, offset: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = b[0]! ^ 0x5a;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

async function cluster() {
  const dir = await mkdtemp(join(tmpdir(), 'rs-scrub-'));
  dirs.push(dir);
  const level = new LevelStore({ dir, fsync: false, directIo: false, inlineThreshold: 1024, random: cryptoRandom, logger: silentLogger });
  await level.open();
  const n2 = new MemoryStore({ inlineThreshold: 1024, random: fixedRandom(2) });
  const n3 = new MemoryStore({ inlineThreshold: 1024, random: fixedRandom(3) });
  await n2.open();
  await n3.open();
  stores.push(level, n2, n3);
  const replicas: Record<string, LocalStore> = { n1: level, n2, n3 };
  const layout = { version: 1, members: ['n1', 'n2', 'n3'].map((id, i) => ({ id, address: `sim:${i}`, zone: `z${i}`, capacity: 1, state: 'active' as const })) };
  const membership = new Membership({ selfId: 'n1', layout, hasher: await createHasher(), vnodesPerUnit: 16 });
  const coordinator = new Coordinator({
    membership,
    replicaFor: (m) => replicas[m.id]!,
    clock: new HybridClock('n1', systemClock, { maxAheadMs: 250 }),
    timers: systemTimers,
    logger: silentLogger,
    metrics: null,
    n: 3,
    r: 2,
    w: 3,
    random: fixedRandom(7),
    readRepairChance: 0,
    inlineThreshold: 1024,
  });
  return { dir, level, coordinator };
}

describe('scrub on a LevelStore', () => {
  it('finds a byte flipped in a blob file and has the copy replaced from a good replica within 60 s', async () => {
    const { dir, level, coordinator } = await cluster();
    const data = bodyOf(300_000, 11);
    const meta = await coordinator.putObject(putInput('big', data));
    const [blob] = await filesOfSize(join(dir, 'blobs'), data.byteLength);
    expect(blob).toBeDefined();
    await flipByte(blob!, 200_000);

    const repairs: Promise<void>[] = [];
    const found: number[] = [];
    const scrub = new ScrubWorker({
      source: level,
      clock: systemClock,
      timers: systemTimers,
      logger: silentLogger,
      metrics: null,
      settings: { intervalMs: 86_400_000, maxBytesPerSecond: 1024 ** 3 },
      onCorrupt: (bucket, key) => {
        found.push(systemClock.now());
        repairs.push(coordinator.repairKey(bucket, key));
      },
    });
    await scrub.runOnce(new AbortController().signal);
    expect(scrub.progress()).toMatchObject({ corruptions: 1, objectsChecked: 0 });
    await Promise.all(repairs);
    const repairedAfterMs = systemClock.now() - found[0]!;
    expect(repairedAfterMs).toBeLessThan(60_000);
    const record = (await level.head('b', 'big'))!.record;
    expect(record.version).toEqual(meta.version);
    expect(record.storage).toBe('blob');
    expect((await readAll(await level.read('b', 'big', meta.version))).equals(data)).toBe(true);
    // The next pass finds nothing wrong.
    const again = new ScrubWorker({
      source: level,
      clock: systemClock,
      timers: systemTimers,
      logger: silentLogger,
      metrics: null,
      settings: { intervalMs: 1, maxBytesPerSecond: 1024 ** 3 },
      onCorrupt: () => {},
    });
    await again.runOnce(new AbortController().signal);
    expect(again.progress()).toMatchObject({ corruptions: 0, objectsChecked: 1, bytesChecked: data.byteLength });
  });

  it('a corrupt copy on disk is never served: a read through the coordinator returns the original bytes', async () => {
    const { dir, coordinator } = await cluster();
    const data = bodyOf(300_000, 12);
    await coordinator.putObject(putInput('big', data));
    for (const offset of [10, 150_000, 299_999]) {
      // Each read repairs the copy it found corrupt, into a new blob file.
      const blobs = await filesOfSize(join(dir, 'blobs'), data.byteLength);
      expect(blobs).toHaveLength(1);
      await flipByte(blobs[0]!, offset);
      const found = await coordinator.headObject('b', 'big');
      expect(found.holders[0]?.id).toBe('n1');
      expect((await readAll(await coordinator.openBody(found))).equals(data)).toBe(true);
      await coordinator.drain();
    }
  });
});
