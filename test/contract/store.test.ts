import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelStore } from '../../src/store/level-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { cryptoRandom } from '../../src/util/random.js';
import { ClassicLevel } from 'classic-level';
import { objectKey } from '../../src/store/record-codec.js';
import { storeContract } from './store.contract.js';

/**
 * Flips bytes of a LevelStore body behind its back: in the one blob file when there is one,
 * else at the tail of the key's inline record (the store is closed meanwhile: LevelDB locks its files).
 */
async function corruptLevelStore(store: LevelStore, dir: string, key: string, offset: number, length: number): Promise<void> {
  const blobs = (await readdir(join(dir, 'blobs'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && /^[0-9a-f]{32}$/.test(e.name));
  const head = await store.head('bucket', key);
  if (head?.record.storage === 'blob') {
    if (blobs.length !== 1) throw new Error(`expected one blob file, found ${blobs.length}`);
    const fh = await open(join(blobs[0]!.parentPath, blobs[0]!.name), 'r+');
    const bytes = Buffer.alloc(length);
    await fh.read(bytes, 0, length, offset);
    for (let i = 0; i < length; i++) bytes[i] = bytes[i]! ^ 0x5a;
    await fh.write(bytes, 0, length, offset);
    await fh.close();
    return;
  }
  await store.close();
  const db = new ClassicLevel<Buffer, Buffer>(join(dir, 'meta'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const k = objectKey('bucket', key);
  const value = Buffer.from((await db.get(k)) ?? Buffer.alloc(0));
  const at = value.length - (head?.record.size ?? 0) + offset;
  for (let i = at; i < at + length; i++) value[i] = value[i]! ^ 0x5a;
  await db.put(k, value);
  await db.close();
  await store.open();
}

storeContract('LevelStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstore-store-'));
  const store = new LevelStore({ dir, fsync: false, random: cryptoRandom });
  await store.open();
  return {
    store,
    corrupt: (key, offset, length) => corruptLevelStore(store, dir, key, offset, length),
    restart: async () => {
      await store.close();
      await store.open();
    },
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
    corrupt: (key, offset, length) => corruptLevelStore(store, dir, key, offset, length),
    restart: async () => {
      await store.close();
      await store.open();
    },
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

storeContract('MemoryStore', async () => {
  const store = new MemoryStore();
  await store.open();
  return {
    store,
    async corrupt(key, offset, length) {
      for (let i = offset; i < offset + length; i++) store.corruptForTest('bucket', key, i);
    },
    restart: async () => {
      await store.close();
      await store.open();
    },
    cleanup: () => store.close(),
  };
});
