import { constants } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BlobDir } from '../../../src/store/blob-dir.js';
import { SimDisk } from '../../helpers/sim-disk.js';
import { seededRandom } from '../../helpers/sim.js';
import { xorshift32 } from '../../helpers/data.js';

const bytes = (text: string): Buffer => Buffer.from(text);

async function writeFile(disk: SimDisk, path: string, text: string, sync: boolean): Promise<void> {
  const fh = await disk.open(path, 'wx');
  await fh.write(bytes(text));
  if (sync) await fh.datasync();
  await fh.close();
}

async function readText(disk: SimDisk, path: string): Promise<string> {
  const fh = await disk.open(path, 'r');
  try {
    return (await fh.readFile()).toString();
  } finally {
    await fh.close();
  }
}

/** A disk with a durable /d directory. */
async function diskWithDir(): Promise<SimDisk> {
  const disk = new SimDisk();
  await disk.mkdirp('/d');
  await disk.syncDir('/');
  return disk;
}

describe('SimDisk', () => {
  it('reads back what was written before any power cut', async () => {
    const disk = await diskWithDir();
    await writeFile(disk, '/d/a', 'hello', false);
    expect(await readText(disk, '/d/a')).toBe('hello');
    expect(await disk.readdir('/d')).toEqual(['a']);
    expect((await disk.stat('/d/a')).size).toBe(5);
  });

  it('loses file data that was never synced, keeps data that was', async () => {
    const disk = await diskWithDir();
    await writeFile(disk, '/d/synced', 'kept', true);
    await writeFile(disk, '/d/unsynced', 'lost', false);
    await disk.syncDir('/d');
    const after = disk.powerCut('strict');
    expect(await readText(after, '/d/synced')).toBe('kept');
    // The entry was made durable, its data was not.
    expect(await readText(after, '/d/unsynced')).toBe('');
  });

  it('loses a new file whose directory was not synced, even when the file was', async () => {
    const disk = await diskWithDir();
    await writeFile(disk, '/d/a', 'data', true);
    const after = disk.powerCut('strict');
    await expect(after.open('/d/a', 'r')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await after.readdir('/d')).toEqual([]);
  });

  it('undoes an unsynced rename and brings back an unsynced unlink', async () => {
    const disk = await diskWithDir();
    await writeFile(disk, '/d/tmp', 'one', true);
    await writeFile(disk, '/d/gone', 'two', true);
    await disk.syncDir('/d');
    await disk.rename('/d/tmp', '/d/final');
    await disk.remove('/d/gone');
    expect(disk.files('/d')).toEqual(['/d/final']);
    const after = disk.powerCut('strict');
    expect(after.files('/d')).toEqual(['/d/gone', '/d/tmp']);
    expect(await readText(after, '/d/tmp')).toBe('one');
  });

  it('keeps a rename once its directory is synced', async () => {
    const disk = await diskWithDir();
    await writeFile(disk, '/d/tmp', 'one', true);
    await disk.rename('/d/tmp', '/d/final');
    await disk.syncDir('/d');
    const after = disk.powerCut('strict');
    expect(after.files('/d')).toEqual(['/d/final']);
    expect(await readText(after, '/d/final')).toBe('one');
  });

  it('loses a directory whose parent was not synced, with everything in it', async () => {
    const disk = new SimDisk();
    expect(await disk.mkdirp('/a/b')).toBe('/a');
    await writeFile(disk, '/a/b/f', 'x', true);
    await disk.syncDir('/a/b');
    await disk.syncDir('/a');
    const after = disk.powerCut('strict');
    expect(after.files()).toEqual([]);
  });

  it('in random mode leaves every outcome a real disk could: nothing, all, a torn prefix, or the size without the data', async () => {
    const seen = new Set<string>();
    const full = 'x'.repeat(1000);
    for (let seed = 1; seed <= 200; seed++) {
      const disk = await diskWithDir();
      const fh = await disk.open('/d/f', 'wx');
      await disk.syncDir('/d');
      for (let i = 0; i < 10; i++) await fh.write(bytes(full.slice(i * 100, i * 100 + 100)));
      const random = seededRandom(seed);
      const text = await readText(disk.powerCut('random', random.float), '/d/f');
      if (text === '') seen.add('lost');
      else if (text === full) seen.add('complete');
      else if (/^x+$/.test(text)) seen.add('torn');
      else if (/^\0+$/.test(text) && text.length === full.length) seen.add('size only');
      else throw new Error(`not a state a disk could be in: ${JSON.stringify(text.slice(0, 40))}…`);
    }
    expect([...seen].sort()).toEqual(['complete', 'lost', 'size only', 'torn']);
  });

  it('in random mode keeps a prefix of the unsynced namespace changes, each rename whole', async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 100; seed++) {
      const disk = await diskWithDir();
      await writeFile(disk, '/d/a.tmp', 'a', true);
      await disk.rename('/d/a.tmp', '/d/a');
      await writeFile(disk, '/d/b.tmp', 'b', true);
      await disk.rename('/d/b.tmp', '/d/b');
      const files = disk.powerCut('random', seededRandom(seed).float).files('/d');
      const state = files.map((f) => f.slice(3)).join(',');
      expect(['', 'a.tmp', 'a', 'a,b.tmp', 'a,b']).toContain(state);
      seen.add(state);
    }
    expect(seen.size).toBe(5);
  });

  it('dies after failAfter(n) operations: every later one fails with EIO, and the cut keeps only what was durable by then', async () => {
    const disk = await diskWithDir();
    await writeFile(disk, '/d/a', 'a', true);
    await disk.syncDir('/d');
    const fh = await disk.open('/d/b', 'wx');
    disk.failAfter(1);
    await fh.write(bytes('b'));
    await expect(fh.datasync()).rejects.toMatchObject({ code: 'EIO' });
    expect(disk.dead).toBe(true);
    await expect(disk.syncDir('/d')).rejects.toMatchObject({ code: 'EIO' });
    await expect(disk.open('/d/a', 'r')).rejects.toMatchObject({ code: 'EIO' });
    const after = disk.powerCut('strict');
    expect(after.files('/d')).toEqual(['/d/a']);
    expect(await readText(after, '/d/a')).toBe('a');
    // The old disk stays dead after the reboot.
    await expect(fh.write(bytes('more'))).rejects.toMatchObject({ code: 'EIO' });
  });

  it('holds O_DIRECT writes to block alignment, and refuses O_DIRECT when told to', async () => {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT;
    const disk = await diskWithDir();
    const fh = await disk.open('/d/direct', flags);
    await fh.write(Buffer.alloc(4096), 0, 4096, 0);
    await expect(fh.write(Buffer.alloc(4096), 0, 100, 4096)).rejects.toMatchObject({ code: 'EINVAL' });
    const refusing = new SimDisk({ directIo: false });
    await refusing.mkdirp('/d');
    await expect(refusing.open('/d/direct', flags)).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('open with wx refuses an existing file; with w truncates it', async () => {
    const disk = await diskWithDir();
    await writeFile(disk, '/d/a', 'abc', true);
    await expect(disk.open('/d/a', 'wx')).rejects.toMatchObject({ code: 'EEXIST' });
    const fh = await disk.open('/d/a', 'w');
    await fh.close();
    expect(await readText(disk, '/d/a')).toBe('');
  });

  describe('under a BlobDir', () => {
    const random = {
      float: Math.random,
      hex: (n: number) =>
        Array.from({ length: n }, () =>
          Math.floor(Math.random() * 256)
            .toString(16)
            .padStart(2, '0'),
        ).join(''),
    };
    const body = (): Buffer => {
      const next = xorshift32(7);
      return Buffer.from(Array.from({ length: 300_000 }, () => next() & 0xff));
    };

    for (const directIo of [false, true]) {
      it(`a blob written with fsync survives a strict power cut whole (directIo ${directIo})`, async () => {
        const disk = new SimDisk();
        const blobs = new BlobDir('/data/blobs', { fsync: true, directIo, fs: disk }, random);
        await blobs.init();
        expect(blobs.directIo).toBe(directIo);
        const data = body();
        const written = await blobs.writeBuffer(data);
        const after = disk.powerCut('strict');
        expect(after.contents(blobs.pathOf(written.id))?.equals(data)).toBe(true);
      });
    }

    it('a direct probe left behind by a crash does not turn O_DIRECT off at the next start', async () => {
      const disk = new SimDisk();
      await disk.mkdirp('/data/blobs');
      await writeFile(disk, '/data/blobs/direct-probe.tmp', 'left by a crash', false);
      const blobs = new BlobDir('/data/blobs', { fsync: true, directIo: true, fs: disk }, random);
      await blobs.init();
      expect(blobs.directIoRefusal).toBeUndefined();
      expect(blobs.directIo).toBe(true);
      expect(disk.files('/data/blobs')).toEqual([]);
    });

    it('a blob written without fsync is gone after a strict power cut (the sim is not a no-op)', async () => {
      const disk = new SimDisk();
      const blobs = new BlobDir('/data/blobs', { fsync: false, fs: disk }, random);
      await blobs.init();
      const written = await blobs.writeBuffer(body());
      expect(disk.contents(blobs.pathOf(written.id))?.length).toBe(300_000);
      expect(disk.unsyncedChanges).toBeGreaterThan(0);
      expect(disk.powerCut('strict').contents(blobs.pathOf(written.id))).toBeUndefined();
    });
  });
});
