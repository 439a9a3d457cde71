/**
 * `GET/POST /admin/v1/scrub` over a real scrub worker (MemoryStore, virtual time), driven through
 * the admin API and through the `ringstore scrub` CLI command: POST starts a pass, `wait` answers
 * once that pass has ended, GET reports progress; a node with scrub disabled says so.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { Router } from '@koa/router';
import { afterEach, describe, expect, it } from 'vitest';
import { mountAdminApi } from '../../../src/admin/admin-api.js';
import { scrubRoutes, type ScrubAnswer } from '../../../src/admin/scrub-route.js';
import { ScrubWorker } from '../../../src/antientropy/scrub.js';
import { formatScrubProgress } from '../../../src/cli/commands/scrub.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { silentLogger } from '../../../src/util/logger.js';
import { bodyOf, fixedRandom, plant } from '../../helpers/replica-faults.js';
import { VirtualTime } from '../antientropy/virtual-time.js';

const TOKEN = 'admin-token-0123456789abcdef';
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(routes: ReturnType<typeof scrubRoutes>): Promise<string> {
  const app = new Koa();
  const router = new Router();
  mountAdminApi(router, TOKEN, routes);
  app.use(router.routes());
  const handle = app.callback();
  const server = createServer((req, res) => void handle(req, res));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/v1/scrub`;
}

const call = async (url: string, method: 'GET' | 'POST', body?: unknown): Promise<{ status: number; json: ScrubAnswer & { code?: string } }> => {
  const res = await fetch(url, { method, headers: { authorization: `Bearer ${TOKEN}` }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, json: (await res.json()) as ScrubAnswer & { code?: string } };
};

describe('scrub admin routes', () => {
  it('POST starts a pass, {wait:true} answers when it has ended, GET reports progress', async () => {
    const store = new MemoryStore({ inlineThreshold: 1024, random: fixedRandom(1) });
    await store.open();
    for (let i = 0; i < 8; i++) await plant(store, `k${i}`, 100 + i, bodyOf(4000, i));
    const time = new VirtualTime(1_800_000_000_000);
    const worker = new ScrubWorker({
      source: store,
      clock: time,
      timers: time,
      logger: silentLogger,
      metrics: null,
      settings: { intervalMs: 86_400_000, maxBytesPerSecond: 1e9 },
      onCorrupt: () => {},
    });
    const signal = new AbortController().signal;
    await time.run(worker.runOnce(signal));
    const url = await serve(scrubRoutes(worker));

    const started = await call(url, 'POST', {});
    expect(started.status).toBe(200);
    expect(started.json).toMatchObject({ started: true, progress: { passes: 1, requested: 1 } });

    const waiting = call(url, 'POST', { wait: true });
    // Both requests are served by the next pass.
    while (worker.progress().requested < 2) await new Promise((r) => setImmediate(r));
    await time.run(worker.runOnce(signal));
    const waited = await waiting;
    expect(waited.status).toBe(200);
    expect(waited.json.progress).toMatchObject({ running: false, objectsChecked: 8, bytesChecked: 32_000, corruptions: 0 });
    expect(waited.json.progress.passes).toBe(2);

    const now = await call(url, 'GET');
    expect(now.json).toMatchObject({ started: false, progress: { partitionsDone: 65_536, partitionsTotal: 65_536 } });
    expect(formatScrubProgress('n1', now.json.progress)).toMatch(/^n1: idle pass \d+ 100\.0% partitions, 8 objects, 0\.0 MiB checked, 0 corrupt, /);
  });

  it('answers 503 when scrub is disabled on the node', async () => {
    const url = await serve(scrubRoutes(undefined));
    expect(await call(url, 'GET')).toMatchObject({ status: 503, json: { code: 'ServiceUnavailable' } });
    expect((await call(url, 'POST', { wait: true })).status).toBe(503);
  });
});
