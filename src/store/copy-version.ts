/**
 * The one step every repair takes to give a replica a version another replica holds (read
 * repair, a corrupt copy's replacement, anti-entropy, hint delivery): commit the record under its
 * own version, with its body. Tombstones and multipart manifests carry no body of their own (a
 * manifest's parts are keys of their own); a body that came along inline is committed as it is;
 * otherwise the source's body is staged on the target and committed only when its size and CRC32
 * match the record, so the target ends up byte-identical. A staged body nothing commits is
 * discarded (it would hold the target's disk until its GC).
 */
import { RingstoreError } from '../util/errors.js';
import { relayBody } from '../util/relay-body.js';
import type { ObjectRecord, ReplicaApi } from './types.js';

/** Where the copy comes from: a replica's head answer (record, and the body when it was inline). */
export interface CopySource {
  readonly record: ObjectRecord;
  readonly inlineBody?: Uint8Array | undefined;
}

/** What a copy did. */
export interface CopyOutcome {
  /** The target committed the version (false: it already held it or newer). */
  readonly applied: boolean;
  /** Body bytes that reached the target; undefined for a record with no body of its own. */
  readonly moved: number | undefined;
}

/** Whether copying `held` needs a read of the source's body (it has one, and it did not come along). */
export function needsSourceBody(held: CopySource): boolean {
  return !held.record.tombstone && held.record.parts === undefined && held.inlineBody === undefined;
}

/**
 * Commits `held` on `target`, reading its body from `source` when `needsSourceBody(held)` (then
 * `source` must be given; `sourceId` names it in the error). Throws ChecksumMismatch when the
 * body read differs from the record.
 */
export async function copyVersion(held: CopySource, target: ReplicaApi, source: ReplicaApi | undefined, signal?: AbortSignal, sourceId = 'the source'): Promise<CopyOutcome> {
  const { record } = held;
  if (record.tombstone || record.parts !== undefined) {
    const result = await target.commit(record, { kind: 'inline', data: new Uint8Array(0) }, signal);
    return { applied: result.applied, moved: undefined };
  }
  if (held.inlineBody !== undefined) {
    const result = await target.commit(record, { kind: 'inline', data: held.inlineBody }, signal);
    return { applied: result.applied, moved: held.inlineBody.length };
  }
  if (source === undefined) throw new RingstoreError('InvalidArgument', 'copying a body needs a source replica', { bucket: record.bucket });
  const staged = await relayBody(await source.read(record.bucket, record.key, record.version, undefined, signal), (body) => target.stage(body, signal));
  try {
    if (staged.size !== record.size || staged.crc32 !== record.crc32) {
      throw new RingstoreError('ChecksumMismatch', `the body copied from ${sourceId} differs from its record`, { source: sourceId, size: staged.size, expected: record.size });
    }
    const result = await target.commit(record, { kind: 'staged', id: staged.id }, signal);
    return { applied: result.applied, moved: staged.size };
  } catch (err) {
    await target.discard(staged.id).catch(() => {});
    throw err;
  }
}
