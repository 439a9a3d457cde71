/**
 * What every S3 handler receives: the request (koa context), its id and verified identity,
 * and the services of the node it runs on.
 */
import type { ReadinessState } from '../util/readiness.js';
import type { Context } from 'koa';
import type { Config } from '../config/schema.js';
import type { Coordinator } from '../replication/coordinator.js';
import type { Buckets } from '../model/buckets.js';
import type { Multipart } from '../model/multipart.js';
import type { AccessKeys } from '../model/keys.js';
import type { Metrics } from '../metrics/definitions.js';
import type { Clock, Timers } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { Logger } from '../util/logger.js';
import type { AuthResult } from './sigv4/verify.js';
import type { Identity } from './authorize.js';

/** The node services an S3 gateway calls. */
export interface S3Services {
  readonly coordinator: Coordinator;
  readonly buckets: Buckets;
  readonly multipart: Multipart;
  /** Stored access keys and grants (the root key from config is not among them). */
  readonly keys: AccessKeys;
  readonly config: Config;
  readonly clock: Clock;
  /** Timers of the body idle guards (on `clock`'s time). */
  readonly timers: Timers;
  readonly random: Random;
  readonly logger: Logger;
  readonly metrics: Metrics | null;
  /** Readiness for `/ready`. */
  readonly health: { readiness(): ReadinessState };
}

/** One authenticated S3 request being served. */
export interface S3Call {
  readonly ctx: Context;
  readonly requestId: string;
  readonly auth: AuthResult;
  /** Who signed it. */
  readonly identity: Identity;
  readonly log: Logger;
  readonly services: S3Services;
}

/** The owner reported in ListBuckets and listings: the key that signed the request. */
export function ownerOf(call: S3Call): { id: string; displayName: string } {
  return { id: call.identity.accessKeyId, displayName: call.identity.displayName };
}

/** The owner of a bucket (its `owner` field: `''` is the root key) as ACLs report it. */
export async function bucketOwnerOf(call: S3Call, owner: string): Promise<{ id: string; displayName: string }> {
  if (owner === '') return { id: call.services.config.s3.accessKey, displayName: call.services.config.s3.accessKey };
  if (owner === call.identity.accessKeyId) return ownerOf(call);
  const key = await call.services.keys.find(owner);
  return { id: owner, displayName: key?.name ?? owner };
}
