import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelStore } from '../../src/store/level-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { cryptoRandom } from '../../src/util/random.js';
import { storeContract } from './store.contract.js';

storeContract('LevelStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstore-store-'));
  const store = new LevelStore({ dir, fsync: false, random: cryptoRandom });
  await store.open();
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

storeContract('LevelStore (fsync, 1 KiB inline threshold)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstore-store-'));
  const store = new LevelStore({ dir, fsync: true, inlineThreshold: 1024, random: cryptoRandom });
  await store.open();
  return {
    store,
    inlineThreshold: 1024,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

storeContract('MemoryStore', async () => {
  const store = new MemoryStore();
  await store.open();
  return { store, cleanup: () => store.close() };
});
