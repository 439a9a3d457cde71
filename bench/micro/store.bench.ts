/**
 * The store's hot call: one commit per PUT on every replica. 4 KiB inline bodies into a
 * LevelStore (no fsync, so LevelDB's own work is measured, not the disk), 64 commits in flight
 * per round, and the same on the MemoryStore. `npm run bench:micro`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { LevelStore } from '../../src/store/level-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { LocalStore, ObjectMeta } from '../../src/store/types.js';
import { cryptoRandom } from '../../src/util/random.js';

const body = new Uint8Array(4096).fill(7);
const dir = await mkdtemp(join(tmpdir(), 'ringstore-bench-store-'));
const level = new LevelStore({ dir, fsync: false, random: cryptoRandom });
await level.open();
const memory = new MemoryStore();
await memory.open();
afterAll(async () => {
  await level.close();
  await rm(dir, { recursive: true, force: true });
});

let hlc = 1;
function meta(key: string): ObjectMeta {
  return { bucket: 'bench', key, version: { hlc: hlc++, node: 'n1' }, tombstone: false, size: body.byteLength, etag: 'e', contentType: 'application/octet-stream', userMeta: {} };
}

async function round(store: LocalStore): Promise<void> {
  // 64 concurrent commits over 10,000 keys: new keys and overwrites both happen.
  await Promise.all(Array.from({ length: 64 }, (_, i) => store.commit(meta(`k/${(hlc + i * 157) % 10_000}`), { kind: 'inline', data: body })));
}

describe('LocalStore.commit, 4 KiB inline, 64 in flight', () => {
  bench('LevelStore (no fsync)', () => round(level), { time: 4000 });
  bench('MemoryStore', () => round(memory), { time: 4000 });
});
