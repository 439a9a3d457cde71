/**
 * Streams one body to several replicas at once without holding it in memory: every chunk
 * is written to each replica's stream, and the next chunk is read only when every live
 * replica has taken the previous one (the slowest live replica sets the pace). A replica
 * that fails is dropped; the fan-out fails once fewer than `needed` replicas are left.
 */
import { PassThrough } from 'node:stream';
import type { ReplicaApi, StagedBody } from '../store/types.js';
import { QuorumTracker } from './quorum.js';

/** A replica to stream to. */
export interface FanoutTarget {
  readonly id: string;
  readonly api: ReplicaApi;
}

/** Replicas that durably staged the body. */
export type StagedTargets = Array<{ target: FanoutTarget; staged: StagedBody }>;

/** The outcome of a fan-out: W (or more) replicas staged, and the rest when they finish. */
export interface StageOutcome {
  readonly staged: StagedTargets;
  /** Replicas that staged after the first W; never rejects. */
  readonly late: Promise<StagedTargets>;
}

const STREAM_BUFFER = 1024 * 1024;
const ignore = (): void => {};
/** Bytes gathered from the source before they are written to the replicas. */
const COALESCE_BYTES = 1024 * 1024;

/**
 * Stages `chunks` (a prefix already read) followed by the rest of `source` on every target.
 * Resolves as soon as `needed` targets have staged it (the others follow in `late`).
 * If the source fails (bad checksum, client gone), every replica's upload is aborted and
 * the source's error is thrown: nothing is staged.
 */
export async function stageOnReplicas(
  op: string,
  targets: readonly FanoutTarget[],
  needed: number,
  head: readonly Uint8Array[],
  source: AsyncIterator<Uint8Array>,
  signal: AbortSignal | undefined,
): Promise<StageOutcome> {
  const tracker = new QuorumTracker<StagedBody>(op, needed, targets.length);
  const lanes = targets.map((target) => {
    const stream = new PassThrough({ highWaterMark: STREAM_BUFFER });
    // The lane may be destroyed (bad checksum, client gone) before its replica starts reading
    // it, e.g. while the local stage still opens its file: an 'error' event nobody listens to
    // would be an uncaught exception. The stage sees the error when it iterates.
    stream.on('error', ignore);
    const lane = { target, stream, failed: false, done: undefined as unknown as Promise<void> };
    lane.done = target.api.stage(stream, signal).then(
      (staged) => void tracker.succeed(target.id, staged),
      (err: unknown) => {
        lane.failed = true;
        tracker.fail(target.id, err);
        stream.destroy();
      },
    );
    return lane;
  });

  const write = async (chunk: Uint8Array): Promise<void> => {
    const waits: Promise<void>[] = [];
    for (const lane of lanes) {
      if (lane.failed) continue;
      if (!lane.stream.write(chunk)) {
        waits.push(
          new Promise<void>((resolve) => {
            const done = (): void => {
              lane.stream.off('drain', done);
              lane.stream.off('close', done);
              resolve();
            };
            lane.stream.on('drain', done);
            lane.stream.on('close', done);
            void lane.done.then(done);
          }),
        );
      }
    }
    if (waits.length > 0) await Promise.all(waits);
    if (tracker.state === 'failed') throw tracker.error();
  };

  try {
    // Socket-sized chunks (~64 KiB) are gathered into ≥ 1 MiB writes: every chunk costs a
    // fixed amount in each lane, in the RPC client and on every replica, so fewer is cheaper.
    let batch: Uint8Array[] = [...head];
    let batched = head.reduce((n, c) => n + c.byteLength, 0);
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const data = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batched);
      batch = [];
      batched = 0;
      await write(data);
    };
    for (;;) {
      const next = await source.next();
      if (next.done) break;
      batch.push(next.value);
      batched += next.value.byteLength;
      if (batched >= COALESCE_BYTES) await flush();
    }
    await flush();
  } catch (err) {
    for (const lane of lanes) lane.stream.destroy(err instanceof Error ? err : new Error(String(err)));
    await Promise.all(lanes.map((l) => l.done));
    await discardAll([...tracker.successes].map(([id, staged]) => ({ target: lanes.find((l) => l.target.id === id)!.target, staged })));
    throw err;
  }
  for (const lane of lanes) if (!lane.failed) lane.stream.end();
  // Go on as soon as W replicas have staged the body; the slower ones follow in `late`.
  await new Promise<void>((resolve) => {
    let open = lanes.length;
    const check = (): void => {
      if (tracker.state !== 'pending' || open === 0) resolve();
    };
    for (const lane of lanes) {
      void lane.done.then(() => {
        open--;
        check();
      });
    }
    check();
  });
  const stagedNow = (): StagedTargets =>
    lanes.flatMap((lane) => {
      const staged = tracker.successes.get(lane.target.id);
      return staged ? [{ target: lane.target, staged }] : [];
    });
  if (tracker.state !== 'reached') {
    await Promise.all(lanes.map((l) => l.done));
    await discardAll(stagedNow());
    throw tracker.error();
  }
  const early = stagedNow();
  const earlyIds = new Set(early.map((s) => s.target.id));
  const late = Promise.all(lanes.map((l) => l.done)).then(() => stagedNow().filter((s) => !earlyIds.has(s.target.id)));
  return { staged: early, late };
}

/** Best-effort removal of staged bodies that will not be committed. */
export async function discardAll(staged: StagedTargets): Promise<void> {
  await Promise.allSettled(staged.map(({ target, staged: s }) => target.api.discard(s.id)));
}
