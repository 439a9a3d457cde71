/**
 * Streams one body to several replicas at once without holding it in memory: every chunk
 * is written to each replica's stream, and the next chunk is read only when every live
 * replica has taken the previous one (the slowest live replica sets the pace). A replica
 * that fails is dropped; the fan-out fails once fewer than `needed` replicas are left (in each
 * owner set; a fallback's stage counts for its down owner only under a sloppy quorum).
 */
import { PassThrough } from 'node:stream';
import type { ReplicaApi, StagedBody } from '../store/types.js';
import { quorumCall } from './quorum-call.js';

/** A replica to stream to. */
export interface FanoutTarget {
  readonly id: string;
  readonly api: ReplicaApi;
  /** Set on a fallback written for a down owner: it commits the write with a hint for that owner. */
  readonly hintFor?: string;
}

/** What a write's acks are counted over: the owners' sets, and the fallbacks standing in for down owners. */
export interface WriteCounting {
  readonly sets: readonly (readonly string[])[];
  /** Fallback id → the owner it stands in for. */
  readonly standIns: ReadonlyMap<string, string>;
  /** Whether a stand-in's ack counts for its owner (replication.sloppyQuorum). */
  readonly sloppy: boolean;
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
  counting?: WriteCounting,
): Promise<StageOutcome> {
  const lanes = new Map<string, { readonly target: FanoutTarget; readonly stream: PassThrough; failed: boolean }>(
    targets.map((target) => {
      const stream = new PassThrough({ highWaterMark: STREAM_BUFFER });
      // The lane may be destroyed (bad checksum, client gone) before its replica starts reading
      // it, e.g. while the local stage still opens its file: an 'error' event nobody listens to
      // would be an uncaught exception. The stage sees the error when it iterates.
      stream.on('error', ignore);
      return [target.id, { target, stream, failed: false }];
    }),
  );
  const staging = quorumCall<FanoutTarget, StagedBody>({
    op,
    targets,
    needed,
    ...(counting && { sets: counting.sets, standIns: counting.standIns, sloppy: counting.sloppy }),
    call: (target) => target.api.stage(lanes.get(target.id)!.stream, signal),
    onFailure: (target) => {
      const lane = lanes.get(target.id)!;
      lane.failed = true;
      lane.stream.destroy();
    },
  });
  const { tracker } = staging;
  // The quorum is awaited below, once the whole body is written; until then its outcome is read from the tracker.
  staging.quorum.catch(ignore);
  const done = new Map(staging.calls.map((call, i) => [targets[i]!.id, call.then(ignore, ignore)]));

  const write = async (chunk: Uint8Array): Promise<void> => {
    const waits: Promise<void>[] = [];
    for (const lane of lanes.values()) {
      if (lane.failed) continue;
      if (!lane.stream.write(chunk)) {
        waits.push(
          new Promise<void>((resolve) => {
            const finished = (): void => {
              lane.stream.off('drain', finished);
              lane.stream.off('close', finished);
              resolve();
            };
            lane.stream.on('drain', finished);
            lane.stream.on('close', finished);
            void done.get(lane.target.id)!.then(finished);
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
    for (const lane of lanes.values()) lane.stream.destroy(err instanceof Error ? err : new Error(String(err)));
    await staging.settled();
    await discardAll(stagedOf(lanes, tracker.successes));
    throw err;
  }
  for (const lane of lanes.values()) if (!lane.failed) lane.stream.end();
  // Go on as soon as W replicas have staged the body; the slower ones follow in `late`.
  const reached = await staging.quorum.then(
    () => true,
    () => false,
  );
  if (!reached) {
    await staging.settled();
    await discardAll(stagedOf(lanes, tracker.successes));
    throw tracker.error();
  }
  const early = stagedOf(lanes, tracker.successes);
  const earlyIds = new Set(early.map((s) => s.target.id));
  const late = staging.settled().then(() => stagedOf(lanes, tracker.successes).filter((s) => !earlyIds.has(s.target.id)));
  return { staged: early, late };
}

/** The lanes whose replica staged the body, in target order. */
function stagedOf(lanes: ReadonlyMap<string, { readonly target: FanoutTarget }>, successes: ReadonlyMap<string, StagedBody>): StagedTargets {
  return [...lanes.values()].flatMap(({ target }) => {
    const staged = successes.get(target.id);
    return staged ? [{ target, staged }] : [];
  });
}

/** Best-effort removal of staged bodies that will not be committed. */
export async function discardAll(staged: StagedTargets): Promise<void> {
  await Promise.allSettled(staged.map(({ target, staged: s }) => target.api.discard(s.id)));
}
