/**
 * The gateway's side of keys and grants: finds the identity (and secret) a request claims before
 * its signature is verified, and checks what it may do before its handler runs, with the rules of
 * authorize.ts and the facts read through the model (cached there for a few seconds).
 */
import type { S3Services } from './context.js';
import { S3Error } from './errors.js';
import type { S3Op } from './router.js';
import { accessNeeded, permits, type BucketFacts, type Identity } from './authorize.js';
import { NO_PERMISSIONS } from '../model/keys.js';
import type { CredentialLookup } from './sigv4/verify.js';

/** The credentials of one request: a lookup knowing at most the key it claims, and who that is. */
export interface ResolvedCredentials {
  readonly lookup: CredentialLookup;
  identity(accessKeyId: string): Identity;
}

/** Resolves the claimed key: the root key from config, or a stored key (an unknown one is refused by the verifier as InvalidAccessKeyId). */
export async function resolveCredentials(services: Pick<S3Services, 'config' | 'keys'>, claimed: string | undefined): Promise<ResolvedCredentials> {
  const { accessKey, secretKey } = services.config.s3;
  const root: Identity = { accessKeyId: accessKey, displayName: accessKey, root: true, allowCreateBucket: true };
  const stored = claimed === undefined || claimed === accessKey ? undefined : await services.keys.find(claimed);
  return {
    lookup: { lookup: (id) => (id === accessKey ? secretKey : id === stored?.accessKeyId ? stored.secretAccessKey : undefined) },
    identity: (id) => (id === accessKey || stored === undefined ? root : { accessKeyId: stored.accessKeyId, displayName: stored.name, root: false, allowCreateBucket: stored.allowCreateBucket }),
  };
}

/** What authorization needs to know of `bucket` for `identity`. */
export async function bucketFacts(services: Pick<S3Services, 'buckets' | 'keys'>, identity: Identity, bucket: string): Promise<BucketFacts> {
  const info = await services.buckets.find(bucket);
  if (info === undefined || identity.root || info.owner === identity.accessKeyId) return { owner: info?.owner, grant: NO_PERMISSIONS };
  return { owner: info.owner, grant: await services.keys.permissions(identity.accessKeyId, bucket) };
}

/** Throws AccessDenied unless `identity` may run `op`. */
export async function authorizeOp(services: Pick<S3Services, 'buckets' | 'keys'>, identity: Identity, op: S3Op): Promise<void> {
  if (identity.root) return;
  for (const need of accessNeeded(op)) {
    if (need.kind === 'createBucket') {
      // An existing bucket is answered by the handler (BucketAlreadyExists / …OwnedByYou / 200).
      if (!identity.allowCreateBucket && (await services.buckets.find(need.bucket)) === undefined)
        throw new S3Error('AccessDenied', `The access key ${identity.accessKeyId} may not create buckets (ringstore key create --allow-create-bucket).`);
      continue;
    }
    if (!permits(identity, need.access, await bucketFacts(services, identity, need.bucket))) {
      throw new S3Error('AccessDenied', `Access Denied: the key ${identity.accessKeyId} has no ${need.access} access to bucket ${need.bucket}.`, { extra: { BucketName: need.bucket } });
    }
  }
}
