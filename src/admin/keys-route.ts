/**
 * The access-key routes of the admin API: create, list, show and delete keys, and allow or deny
 * their rights on buckets. A key is named in a path by its access key id or by its name (when
 * exactly one key has it). Secrets are answered only at creation and with `?showSecret=true`.
 *
 * - `POST /keys` `{name, allowCreateBucket?}` → the key with its secret
 * - `GET /keys` → `{keys: [...]}` (no secrets)
 * - `GET /keys/:key[?showSecret=true]` → the key, its grants and the buckets it owns
 * - `DELETE /keys/:key` → `{deleted}` (its grants go too; buckets it owns stay, reachable by the root key)
 * - `POST /keys/:key/allow`, `POST /keys/:key/deny` `{bucket, read?, write?, owner?}` → the grant as it now is
 */
import { RingstoreError } from '../util/errors.js';
import type { AccessKey, AccessKeys, Grant } from '../model/keys.js';
import type { Buckets } from '../model/buckets.js';
import { flag, type AdminRequest, type AdminRoute } from './admin-api.js';

/** A key as the admin API answers it; `secretAccessKey` only when asked for. */
export interface KeyAnswer {
  readonly accessKeyId: string;
  readonly name: string;
  readonly allowCreateBucket: boolean;
  readonly createdMs: number;
  readonly secretAccessKey?: string;
}

/** `GET /keys/:key`'s answer. */
export interface KeyInfoAnswer extends KeyAnswer {
  readonly grants: ReadonlyArray<Omit<Grant, 'accessKeyId'>>;
  readonly ownedBuckets: readonly string[];
}

function answer(key: AccessKey, withSecret: boolean): KeyAnswer {
  const base = { accessKeyId: key.accessKeyId, name: key.name, allowCreateBucket: key.allowCreateBucket, createdMs: key.createdMs };
  return withSecret ? { ...base, secretAccessKey: key.secretAccessKey } : base;
}

function body(request: AdminRequest): Record<string, unknown> {
  if (typeof request.body !== 'object' || request.body === null || Array.isArray(request.body)) throw new RingstoreError('InvalidArgument', 'the body must be a JSON object');
  return request.body as Record<string, unknown>;
}

async function resolveKey(keys: AccessKeys, ref: string | undefined): Promise<AccessKey> {
  if (ref === undefined || ref === '') throw new RingstoreError('InvalidArgument', 'name a key by its access key id or its name');
  const byId = await keys.get(ref);
  if (byId !== undefined) return byId;
  const named = (await keys.list()).filter((k) => k.name === ref);
  if (named.length === 1) return named[0]!;
  if (named.length > 1)
    throw new RingstoreError('InvalidArgument', `${named.length} keys are named ${JSON.stringify(ref)} (${named.map((k) => k.accessKeyId).join(', ')}); name one by its access key id`);
  throw new RingstoreError('NoSuchKey', `no access key ${JSON.stringify(ref)} (neither an access key id nor a key name)`);
}

function grantChange(request: AdminRequest, mode: 'allow' | 'deny'): { bucket: string; change: { read: boolean; write: boolean; owner: boolean } } {
  const b = body(request);
  const bucket = b['bucket'];
  if (typeof bucket !== 'string' || bucket === '') throw new RingstoreError('InvalidArgument', 'bucket must be a bucket name');
  const change = { read: flag(b['read'], 'read'), write: flag(b['write'], 'write'), owner: flag(b['owner'], 'owner') };
  if (!change.read && !change.write && !change.owner) throw new RingstoreError('InvalidArgument', `say what to ${mode}: read, write and/or owner`);
  return { bucket, change };
}

/** The key routes over the key store and the buckets. */
export function keyRoutes(keys: AccessKeys, buckets: Buckets): AdminRoute[] {
  const change =
    (mode: 'allow' | 'deny') =>
    async (request: AdminRequest): Promise<Grant> => {
      const key = await resolveKey(keys, request.params?.['key']);
      const { bucket, change: flags } = grantChange(request, mode);
      // Allowing needs the bucket; denying on a bucket that has gone is still allowed (it clears the grant).
      if (mode === 'allow') await buckets.assertExists(bucket);
      return keys.changeGrant(key.accessKeyId, bucket, flags, mode);
    };
  return [
    {
      method: 'POST',
      path: '/keys',
      async handle(request) {
        const b = body(request);
        return answer(await keys.create(b['name'] as string, flag(b['allowCreateBucket'], 'allowCreateBucket')), true);
      },
    },
    {
      method: 'GET',
      path: '/keys',
      async handle() {
        return { keys: (await keys.list()).map((k) => answer(k, false)) };
      },
    },
    {
      method: 'GET',
      path: '/keys/:key',
      async handle(request): Promise<KeyInfoAnswer> {
        const key = await resolveKey(keys, request.params?.['key']);
        const grants = (await keys.grantsOf(key.accessKeyId)).map(({ bucket, read, write, owner }) => ({ bucket, read, write, owner }));
        const ownedBuckets = (await buckets.list()).filter((b) => b.owner === key.accessKeyId).map((b) => b.name);
        return { ...answer(key, flag(request.query['showSecret'], 'showSecret')), grants, ownedBuckets };
      },
    },
    {
      method: 'DELETE',
      path: '/keys/:key',
      async handle(request) {
        const key = await resolveKey(keys, request.params?.['key']);
        await keys.delete(key.accessKeyId);
        return { deleted: key.accessKeyId };
      },
    },
    { method: 'POST', path: '/keys/:key/allow', handle: change('allow') },
    { method: 'POST', path: '/keys/:key/deny', handle: change('deny') },
  ];
}
