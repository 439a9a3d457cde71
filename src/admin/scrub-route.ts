/**
 * `GET /admin/v1/scrub` (the scrub worker's progress) and `POST /admin/v1/scrub` (start a full
 * pass now; with `{"wait": true}` the answer comes once that pass has ended), for `ringstore scrub`.
 */
import type { ScrubProgress } from '../antientropy/scrub.js';
import { RingstoreError } from '../util/errors.js';
import { flag, type AdminRoute } from './admin-api.js';

export type { ScrubProgress } from '../antientropy/scrub.js';

/** What the routes drive (the ScrubWorker); absent when scrub is disabled on this node. */
export interface ScrubControl {
  progress(): ScrubProgress;
  scrubNow(): Promise<ScrubProgress>;
}

/** The answer of both routes. */
export interface ScrubAnswer {
  /** True when this call asked for a pass. */
  readonly started: boolean;
  /** With wait: the finished pass; otherwise the progress right now. */
  readonly progress: ScrubProgress;
}

export function scrubRoutes(scrub: ScrubControl | undefined): AdminRoute[] {
  const control = (): ScrubControl => {
    if (scrub === undefined) throw new RingstoreError('ServiceUnavailable', 'scrub is disabled on this node (scrub.enabled = false)');
    return scrub;
  };
  return [
    { method: 'GET', path: '/scrub', handle: (): ScrubAnswer => ({ started: false, progress: control().progress() }) },
    {
      method: 'POST',
      path: '/scrub',
      async handle(request): Promise<ScrubAnswer> {
        const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>;
        const wait = flag(body['wait'] ?? request.query['wait'], 'wait');
        const worker = control();
        const done = worker.scrubNow();
        if (wait) return { started: true, progress: await done };
        // Without wait nobody awaits the pass; a stop that abandons it is not an error here.
        done.catch(() => {});
        return { started: true, progress: worker.progress() };
      },
    },
  ];
}
