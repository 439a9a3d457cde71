/**
 * Which signature a request carries, and its verification: SigV4 (header or presigned), or a
 * SigV2 presigned URL when those are allowed. Pure, like the verifiers it picks between.
 */
import { isPresignedV2, verifyPresignedV2 } from './presigned-v2.js';
import { verifyRequest, type AuthResult, type CredentialLookup, type RequestToVerify } from './verify.js';

/** The settings authentication depends on (from `s3.*`). */
export interface AuthSettings {
  readonly region: string;
  /** `s3.allowSigV2Presigned`: off, a SigV2 URL is refused as SigV4 refuses it (InvalidRequest). */
  readonly allowSigV2Presigned: boolean;
}

/**
 * Verifies a request at `now`. `hostBucket` is the bucket its Host names under virtual-hosted
 * style (SigV2 signs it as part of the resource; SigV4 signs the Host header itself).
 */
export function authenticate(req: RequestToVerify, creds: CredentialLookup, now: number, settings: AuthSettings, hostBucket?: string): AuthResult {
  if (settings.allowSigV2Presigned && isPresignedV2(req.query, req.headers)) return verifyPresignedV2(req, creds, now, hostBucket);
  return verifyRequest(req, creds, now, settings.region);
}
