/** The repair admin routes over a fake worker: which pass serves a request, waiting, and a disabled worker. */
import { describe, expect, it } from 'vitest';
import { repairRoutes, type RepairControl } from '../../../src/admin/repair-route.js';
import type { AntiEntropyProgress } from '../../../src/antientropy/worker.js';
import { formatRepairLine, repairTotals } from '../../../src/cli/commands/repair.js';

function progress(over: Partial<AntiEntropyProgress> = {}): AntiEntropyProgress {
  return {
    passes: 3,
    running: false,
    partitionsTotal: 131_072,
    partitionsCompared: 131_072,
    partitionsDiffering: 0,
    keysRepaired: 0,
    bytesRepaired: 0,
    bytesMoved: 0,
    repairFailures: 0,
    peersSkipped: 0,
    peersFailed: 0,
    peersCompared: 2,
    comparedPeers: ['n2', 'n3'],
    unreachedPeers: [],
    partitionsPerSecond: 0,
    bytesPerSecond: 0,
    queued: 0,
    ...over,
  };
}

function fake(state: AntiEntropyProgress): RepairControl & { asked: number } {
  return {
    asked: 0,
    progress: () => state,
    repairNow() {
      this.asked++;
      return Promise.resolve({ ...state, passes: state.passes + 1, keysRepaired: 7 });
    },
  };
}

const route = (routes: ReturnType<typeof repairRoutes>, method: 'GET' | 'POST') => routes.find((r) => r.method === method)!;

describe('repair routes', () => {
  it('POST asks for a pass: the next one, or the one after when a pass is running', async () => {
    const idle = fake(progress());
    await expect(route(repairRoutes('n1', idle), 'POST').handle({ query: {}, body: {} })).resolves.toMatchObject({ node: 'n1', untilPass: 4 });
    const busy = fake(progress({ running: true }));
    await expect(route(repairRoutes('n1', busy), 'POST').handle({ query: {}, body: {} })).resolves.toMatchObject({ untilPass: 5 });
    expect(idle.asked + busy.asked).toBe(2);
  });

  it('POST {wait: true} answers with the finished pass; GET reports progress', async () => {
    const control = fake(progress());
    await expect(route(repairRoutes('n2', control), 'POST').handle({ query: {}, body: { wait: true } })).resolves.toMatchObject({ progress: { passes: 4, keysRepaired: 7 } });
    expect(route(repairRoutes('n2', control), 'GET').handle({ query: {}, body: {} })).toMatchObject({ node: 'n2', progress: { passes: 3 } });
  });

  it('answers ServiceUnavailable when anti-entropy is disabled, InvalidArgument for a bad flag', async () => {
    expect(() => route(repairRoutes('n1', undefined), 'GET').handle({ query: {}, body: {} })).toThrow(expect.objectContaining({ code: 'ServiceUnavailable' }));
    await expect(route(repairRoutes('n1', fake(progress())), 'POST').handle({ query: {}, body: { wait: 'soon' } })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('the CLI progress line sums the nodes and takes the longest ETA', () => {
    const line = formatRepairLine(
      repairTotals([
        { node: 'n1', address: 'a', done: true, progress: progress({ keysRepaired: 10, bytesRepaired: 10 * 1024 * 1024 }) },
        {
          node: 'n2',
          address: 'b',
          done: false,
          progress: progress({ running: true, partitionsCompared: 65_536, keysRepaired: 5, bytesRepaired: 1024, bytesPerSecond: 2 * 1024 * 1024, etaMs: 90_000 }),
        },
      ]),
    );
    expect(line).toBe('1/2 nodes done  partitions 196608/262144 (75.0%)  keys 15  bytes 10.0 MiB  2.0 MiB/s  0 partitions/s  ETA 1m30s');
  });
});
