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

/** A TCP port on 127.0.0.1 that the kernel handed out as free a moment ago. */
export function freePort(): Promise<number> {
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
    const base = 20_000 + Math.floor(random() * 35_000);
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
