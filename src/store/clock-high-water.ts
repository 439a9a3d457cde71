/**
 * The hybrid clock's high-water mark on disk: one small file in the data dir holding a wall
 * time every version this node has issued lies below. It is written ahead, a window at a time
 * (`windowMs` past the newest version, rewritten once versions get within half a window of
 * it), so a busy node pays one small fsync'd write per half window, not one per version. On
 * start the clock begins above the mark, so it never goes backwards across a restart, even
 * when the wall clock stepped back while the node was down.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { HighWaterMark } from '../util/clock.js';
import { RingstoreError, describeError } from '../util/errors.js';

/** Options of the high-water file. */
export interface HighWaterFileOptions {
  /** How far past the newest version each write reserves. */
  readonly windowMs: number;
  /** fsync the file and its directory (off only for throwaway test clusters). */
  readonly fsync: boolean;
}

/** The persisted high-water mark of one node's clock. */
export class HighWaterFile implements HighWaterMark {
  readonly #path: string;
  readonly #o: HighWaterFileOptions;
  /** Persisted: every version issued so far is below it. */
  #durableMs: number;
  /** What the next write persists. */
  #targetMs: number;
  #writing: Promise<void> | undefined;

  private constructor(path: string, floorMs: number, options: HighWaterFileOptions) {
    this.#path = path;
    this.#o = options;
    this.#durableMs = floorMs;
    this.#targetMs = floorMs;
  }

  /** Opens (or starts) the mark at `path`; `floorMs` is the loaded mark, 0 when there was none. */
  static async open(path: string, options: HighWaterFileOptions): Promise<{ file: HighWaterFile; floorMs: number }> {
    let floorMs = 0;
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      const parsed = /^\{"wallMs":(\d{1,16})\}\n?$/.exec(text);
      if (parsed === null) {
        throw new RingstoreError('InvalidArgument', `${path} is not a clock high-water mark ({"wallMs":<ms>}); restore it or, if the node's data is gone too, remove it`, { path });
      }
      floorMs = Number(parsed[1]);
    }
    return { file: new HighWaterFile(path, floorMs, options), floorMs };
  }

  /** The persisted mark (wall ms). */
  get durableMs(): number {
    return this.#durableMs;
  }

  async cover(wallMs: number): Promise<void> {
    // Reserve the next window early, so versions rarely wait for the write.
    if (wallMs + this.#o.windowMs / 2 >= this.#targetMs) {
      this.#targetMs = wallMs + this.#o.windowMs;
      // Whoever needs the write awaits it below and sees its failure; this is only a head start.
      this.#kick().catch(() => undefined);
    }
    while (wallMs >= this.#durableMs) await this.#kick();
  }

  /** Waits for a write in flight (a reservation made ahead), so the process can stop cleanly. */
  async close(): Promise<void> {
    await this.#writing?.catch(() => undefined);
  }

  #kick(): Promise<void> {
    this.#writing ??= this.#flush();
    return this.#writing;
  }

  /** Writes the target until it is durable (later targets ride along); one write at a time. */
  async #flush(): Promise<void> {
    try {
      while (this.#durableMs < this.#targetMs) {
        const target = this.#targetMs;
        await this.#write(target);
        this.#durableMs = target;
      }
    } catch (err) {
      throw new RingstoreError('ServiceUnavailable', `cannot persist the clock high-water mark ${this.#path}: ${describeError(err)}`, { path: this.#path });
    } finally {
      this.#writing = undefined;
    }
  }

  async #write(wallMs: number): Promise<void> {
    const tmp = `${this.#path}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(`{"wallMs":${wallMs}}\n`);
      if (this.#o.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.#path);
    if (this.#o.fsync) {
      const dir = await open(dirname(this.#path), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    }
  }
}
