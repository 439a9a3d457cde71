/**
 * Free loopback ports for local clusters (dev, bench, tests): the one place that probes them.
 * A port found free may be taken again before the node binds it; callers fail loudly then.
 */
import { createServer } from 'node:net';
import { parseHostPort } from '../util/http-server.js';

/** Whether `listen` ("host:port") could be bound right now. */
export function portFree(listen: string): Promise<boolean> {
  const { host, port } = parseHostPort(listen);
  return new Promise((done) => {
    const server = createServer();
    server.unref();
    server.once('error', () => done(false));
    server.listen(port, host, () => server.close(() => done(true)));
  });
}

/**
 * Candidates lie below Linux's ephemeral range (32768–60999 by default), from which every outgoing
 * connection takes its local port: a port picked there can be taken by a client socket before the
 * node binds it (seen as EADDRINUSE under load), one below it only by another listener.
 */
const LOW_PORT = 10_000;
const HIGH_PORT = 32_000;

function randomPort(random: () => number): number {
  return LOW_PORT + Math.floor(random() * (HIGH_PORT - LOW_PORT));
}

/** A TCP port on 127.0.0.1, free right now, outside the ephemeral range when one can be found there. */
export async function freePort(random: () => number = Math.random): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = randomPort(random);
    if (await portFree(`127.0.0.1:${port}`)) return port;
  }
  return kernelPort();
}

/** A port the kernel handed out as free a moment ago (from the ephemeral range). */
function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

/**
 * A base port for a planned dev-style cluster (S3 ports base…, RPC ports base+100…, see
 * `planDevCluster`) whose ports are all free right now. `random` picks candidates (0 ≤ x < 1).
 */
export async function freeBasePort(nodes: number, random: () => number = Math.random): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = LOW_PORT + Math.floor(random() * (HIGH_PORT - 100 - nodes - LOW_PORT));
    const ports = Array.from({ length: nodes }, (_, i) => [base + i, base + 100 + i]).flat();
    let free = true;
    for (const port of ports) {
      if (!(await portFree(`127.0.0.1:${port}`))) {
        free = false;
        break;
      }
    }
    if (free) return base;
  }
  throw new Error(`no free range of ${nodes} + ${nodes} loopback ports found`);
}
