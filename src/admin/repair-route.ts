/**
 * `POST /admin/v1/repair` and `GET /admin/v1/repair`: start a full anti-entropy pass on this node
 * now (`{wait: true}` answers once it ends), and report the progress of the current or last pass
 * (partitions compared of the total, keys and bytes repaired, rate, ETA). `ringstore repair` calls
 * these on every member and polls GET until each node's pass has ended.
 */
import type { AntiEntropyProgress } from '../antientropy/worker.js';
import { RingstoreError } from '../util/errors.js';
import { flag, type AdminRoute } from './admin-api.js';

export type { AntiEntropyProgress };

/** What the routes drive: the node's anti-entropy worker. */
export interface RepairControl {
  progress(): AntiEntropyProgress;
  repairNow(): Promise<AntiEntropyProgress>;
}

/** The answer of both routes. */
export interface RepairStatus {
  readonly node: string;
  /** POST only: the pass that serves this request ends when `progress.passes` reaches this number. */
  readonly untilPass?: number;
  readonly progress: AntiEntropyProgress;
}

/** The two repair routes of node `nodeId`; `control` is undefined when `antiEntropy.enabled` is false. */
export function repairRoutes(nodeId: string, control: RepairControl | undefined): AdminRoute[] {
  const worker = (): RepairControl => {
    if (control === undefined) throw new RingstoreError('ServiceUnavailable', `anti-entropy is disabled on ${nodeId} (antiEntropy.enabled = false)`);
    return control;
  };
  return [
    {
      method: 'GET',
      path: '/repair',
      handle: (): RepairStatus => ({ node: nodeId, progress: worker().progress() }),
    },
    {
      method: 'POST',
      path: '/repair',
      async handle(request): Promise<RepairStatus> {
        const body = typeof request.body === 'object' && request.body !== null ? (request.body as Record<string, unknown>) : {};
        const wait = flag(body['wait'] ?? request.query['wait'], 'wait');
        const w = worker();
        const before = w.progress();
        // A pass already running started before this request: the next one serves it.
        const untilPass = before.passes + (before.running ? 2 : 1);
        const done = w.repairNow();
        if (wait) return { node: nodeId, untilPass, progress: await done };
        // The pass may be aborted by a stop; nobody waits for it here.
        done.catch(() => {});
        return { node: nodeId, untilPass, progress: w.progress() };
      },
    },
  ];
}
