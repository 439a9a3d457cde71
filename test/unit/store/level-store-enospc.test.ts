/**
 * LevelStore on a full disk: a real 8 MiB tmpfs (needs root; skipped otherwise). A stage that
 * does not fit fails with InsufficientStorage and leaves no file, the store reports that it
 * cannot write, reads go on, and the report clears by itself once space is freed.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LevelStore } from '../../../src/store/level-store.js';
import { cryptoRandom } from '../../../src/util/random.js';

const MiB = 1024 * 1024;
// Mounting needs root; the mount happens in beforeAll, so a filtered run leaves none behind.
const mounted = process.getuid?.() === 0;

async function* chunks(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.byteLength; i += size) yield data.subarray(i, Math.min(i + size, data.byteLength));
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

describe.skipIf(!mounted)('LevelStore on a full disk', () => {
  let mountPoint = '';
  beforeAll(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), 'ringstore-enospc-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint], { stdio: 'ignore' });
  });
  afterAll(async () => {
    if (mountPoint === '') return;
    execFileSync('umount', [mountPoint]);
    await rm(mountPoint, { recursive: true, force: true });
  });

  it('fails a stage that does not fit with InsufficientStorage, leaves no file, and recovers when space is freed', async () => {
    const dir = join(mountPoint, 'store');
    const store = new LevelStore({ dir, fsync: true, random: cryptoRandom, spaceProbeIntervalMs: 1000 });
    await store.open();
    try {
      const kept = randomBytes(1 * MiB);
      const staged = await store.stage(chunks(kept, 64 * 1024));
      const meta = { bucket: 'b', key: 'kept', version: { hlc: 1, node: 'n1' }, tombstone: false, size: kept.length, etag: 'e', contentType: 'x/y', userMeta: {} };
      await store.commit(meta, { kind: 'staged', id: staged.id });
      expect(store.writeProblem()).toBeUndefined();

      const { bavail, bsize } = await statfs(mountPoint);
      const filler = join(mountPoint, 'filler');
      // Less room than the 1 MiB space probe needs, so the probe cannot clear the report before
      // the assertions below (with 2 MiB left it did, on a loaded machine).
      await writeFile(filler, Buffer.alloc(Math.max(0, bavail * bsize - MiB / 2)));
      await expect(store.stage(chunks(randomBytes(4 * MiB), 64 * 1024))).rejects.toMatchObject({ code: 'InsufficientStorage' });
      const files = (await readdir(join(dir, 'blobs'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
      expect(files).toEqual([staged.id]);
      expect(store.writeProblem()).toMatch(/^cannot write \(ENOSPC at \d{4}-/);
      expect((await readAll(await store.read('b', 'kept', meta.version))).equals(kept)).toBe(true);

      await rm(filler);
      // The probe runs every second (not faster, so it cannot clear the report before the checks above).
      const deadline = Date.now() + 5000;
      while (store.writeProblem() !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(store.writeProblem()).toBeUndefined();
      expect((await store.stage(chunks(randomBytes(4 * MiB), 64 * 1024))).size).toBe(4 * MiB);
    } finally {
      await store.close();
    }
  });
});
