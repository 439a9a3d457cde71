/** startWorker and the failure detector's ping deadline run on the injected Timers, not the global ones. */
import { describe, expect, it } from 'vitest';
import { startWorker, type Worker } from '../../../src/util/worker.js';
import { VirtualClock } from '../../helpers/virtual-clock.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('startWorker on injected timers', () => {
  it('steps on the injected clock: first at once, then every interval after the last step ended', async () => {
    const clock = new VirtualClock(0);
    const ran: number[] = [];
    const worker: Worker = { name: 'w', status: () => ({}), runOnce: async () => void ran.push(clock.now()) };
    const handle = startWorker(worker, 100, () => undefined, clock);
    await turn();
    expect(ran).toEqual([]);
    for (let i = 0; i < 3; i++) {
      clock.step();
      await turn();
    }
    expect(ran).toEqual([1, 101, 201]);
    await handle.stop();
    expect(clock.pending()).toBe(0);
  });
});
