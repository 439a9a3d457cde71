/**
 * Background work contract (the Garage `Worker` idea): each long-running job is a named
 * worker with a status and a `runOnce` step, driven by `startWorker` on an interval.
 * Tests call `runOnce` directly instead of waiting for timers.
 */
import { systemTimers, type Timer, type Timers } from './clock.js';

/** A background job. */
export interface Worker {
  readonly name: string;
  /** One step of work; resolves when done. Should honour the signal promptly. */
  runOnce(signal: AbortSignal): Promise<void>;
  /** A short human-readable status for `worker list`. */
  status(): Record<string, unknown>;
}

/** A running worker loop; `stop()` aborts the current step and waits for it. */
export interface WorkerHandle {
  readonly worker: Worker;
  stop(): Promise<void>;
}

/**
 * Runs `worker.runOnce` every `intervalMs` (on `timers`) until stopped; a failing step is
 * reported, not fatal.
 */
export function startWorker(worker: Worker, intervalMs: number, onError: (err: unknown) => void, timers: Timers = systemTimers): WorkerHandle {
  const controller = new AbortController();
  let current: Promise<void> = Promise.resolve();
  let timer: Timer | undefined;
  const tick = (): void => {
    current = worker
      .runOnce(controller.signal)
      .catch((err: unknown) => {
        if (!controller.signal.aborted) onError(err);
      })
      .finally(() => {
        if (!controller.signal.aborted) {
          timer = timers.setTimeout(tick, intervalMs);
          timer.unref?.();
        }
      });
  };
  timer = timers.setTimeout(tick, 0);
  timer.unref?.();
  return {
    worker,
    async stop() {
      controller.abort();
      if (timer) timers.clearTimeout(timer);
      await current;
    },
  };
}
