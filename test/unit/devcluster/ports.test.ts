/** The kit's port probes: a bound port is not free, a planned range is free when handed out. */
import { createServer, type Server } from 'node:net';
import { describe, it, expect } from 'vitest';
import { freeBasePort, freePort, portFree } from '../../../src/devcluster/ports.js';

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('devcluster ports', () => {
  it('portFree is false while something listens on the port, true once it closed', async () => {
    const port = await freePort();
    const server = await listen(port);
    expect(await portFree(`127.0.0.1:${port}`)).toBe(false);
    await new Promise<void>((r) => server.close(() => r()));
    expect(await portFree(`127.0.0.1:${port}`)).toBe(true);
  });

  it('freePort picks ports below the ephemeral range, where no outgoing connection can take them', async () => {
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(32_768);
    }
  });

  it('freeBasePort skips a base whose RPC range (base+100…) is taken', async () => {
    const taken = await freePort();
    const server = await listen(taken);
    try {
      // The first candidate puts n2's RPC port on the taken one; the second is wherever.
      const candidates = [(taken - 100 - 1 - 10_000 + 0.5) / (32_000 - 100 - 3 - 10_000), 0.5];
      const base = await freeBasePort(3, () => candidates.shift() ?? Math.random());
      expect(base).not.toBe(taken - 101);
      for (let i = 0; i < 3; i++) {
        expect(await portFree(`127.0.0.1:${base + i}`)).toBe(true);
        expect(await portFree(`127.0.0.1:${base + 100 + i}`)).toBe(true);
      }
    } finally {
      server.close();
    }
  });
});
