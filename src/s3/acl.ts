/**
 * ACLs, as far as ringstore has them: every bucket and object is private to its bucket's owner
 * (FULL_CONTROL), and access for other keys comes from grants (`ringstore key allow`), not ACLs.
 * So the canned ACL `private` (and `bucket-owner-full-control`, which says the same here) is
 * accepted as a no-op; any other canned ACL, any `x-amz-grant-*` header and any ACL body granting
 * more than the owner's FULL_CONTROL is 501 NotImplemented, never silently ignored. Pure.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl
 */
import { S3Error } from './errors.js';
import type { AclGrant } from './xml-parse.js';

/** Canned ACLs that change nothing in ringstore's model. */
export const ACCEPTED_CANNED_ACLS: readonly string[] = ['private', 'bucket-owner-full-control'];

const GRANT_HEADERS = ['x-amz-grant-full-control', 'x-amz-grant-read', 'x-amz-grant-read-acp', 'x-amz-grant-write', 'x-amz-grant-write-acp'];

/** Operations that take `x-amz-acl` / `x-amz-grant-*` headers. */
const TAKES_ACL_HEADERS = new Set(['PutObject', 'CreateBucket', 'CreateMultipartUpload', 'CopyObject', 'PutBucketAcl', 'PutObjectAcl']);

/** Throws NotImplemented when `op`'s ACL headers ask for anything but the owner's FULL_CONTROL. */
export function checkAclHeaders(op: string, headers: Readonly<Record<string, string | string[] | undefined>>): void {
  if (!TAKES_ACL_HEADERS.has(op)) return;
  const canned = headers['x-amz-acl'];
  if (canned !== undefined) {
    const value = String(canned).trim().toLowerCase();
    if (!ACCEPTED_CANNED_ACLS.includes(value)) {
      throw new S3Error(
        'NotImplemented',
        `The canned ACL "${String(canned)}" is not implemented: ringstore keeps every bucket and object private to its owner; give other keys access with "ringstore key allow". Only x-amz-acl: private is accepted.`,
        {
          extra: { Header: 'x-amz-acl' },
        },
      );
    }
  }
  for (const name of GRANT_HEADERS) {
    if (headers[name] !== undefined) {
      throw new S3Error('NotImplemented', `${name} is not implemented: ringstore keeps every bucket and object private to its owner; give other keys access with "ringstore key allow".`, {
        extra: { Header: name },
      });
    }
  }
}

/** Throws NotImplemented unless an ACL body grants exactly FULL_CONTROL to `ownerId` and nothing else. */
export function checkAclGrants(grants: readonly AclGrant[], ownerId: string): void {
  const onlyOwner = grants.length > 0 && grants.every((g) => g.granteeId === ownerId && g.permission === 'FULL_CONTROL');
  if (!onlyOwner) {
    throw new S3Error(
      'NotImplemented',
      `ACLs other than the owner's FULL_CONTROL (owner ID ${ownerId}) are not implemented: ringstore keeps every bucket and object private to its owner; give other keys access with "ringstore key allow".`,
    );
  }
}
