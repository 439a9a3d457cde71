/**
 * The access key id a request claims, read before its signature is verified so that its secret
 * can be looked up (the stored keys are records: an asynchronous read). Pure; a request whose
 * credential cannot be parsed yields undefined and is then refused by the verifier itself.
 */
import { headerValue, parseRawQuery, type HeaderBag } from './canonical.js';

/** The id in `Authorization: AWS4-HMAC-SHA256 Credential=ID/…`, `X-Amz-Credential=ID/…` or SigV2's `AWSAccessKeyId=ID`. */
export function claimedAccessKeyId(headers: HeaderBag, rawQuery: string): string | undefined {
  const authorization = headerValue(headers, 'authorization');
  if (authorization !== undefined) {
    const m = /Credential=([^/,\s]+)\//.exec(authorization);
    return m?.[1];
  }
  if (rawQuery === '') return undefined;
  const query = new Map(parseRawQuery(rawQuery));
  const credential = query.get('X-Amz-Credential');
  if (credential !== undefined) return credential.split('/')[0] || undefined;
  const v2 = query.get('AWSAccessKeyId');
  return v2 === '' ? undefined : v2;
}
