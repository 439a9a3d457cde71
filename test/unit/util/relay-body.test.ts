/**
 * relayBody: a body handed to a call that has not read it yet keeps its error for the reader
 * (an unheard 'error' event would end the process), and is closed when the call gives up.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { relayBody } from '../../../src/util/relay-body.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('relayBody', () => {
  it('holds an error of the source for a reader that starts late, and the reader sees it', async () => {
    const source = new Readable({ read() {} });
    const seen = await relayBody(source, async (body) => {
      source.destroy(new Error('source node down'));
      await turn(); // the error event fires with no reader attached: no uncaught exception
      try {
        for await (const chunk of body) void chunk;
        return 'no error';
      } catch (err) {
        return (err as Error).message;
      }
    });
    expect(seen).toBe('source node down');
  });

  it('closes a body the call never read when the call fails', async () => {
    const source = Readable.from([Buffer.from('abc')]);
    await expect(relayBody(source, () => Promise.reject(new Error('stage refused')))).rejects.toThrow('stage refused');
    expect(source.destroyed).toBe(true);
  });

  it('passes the call result through after the body was read', async () => {
    const source = Readable.from([Buffer.from('ab'), Buffer.from('c')]);
    const size = await relayBody(source, async (body) => {
      let n = 0;
      for await (const chunk of body) n += (chunk as Buffer).length;
      return n;
    });
    expect(size).toBe(3);
  });
});
