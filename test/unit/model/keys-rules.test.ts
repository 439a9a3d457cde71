/**
 * The key store's rules over three in-process replicas: a key's record round-trips; the gateway
 * trusts a key or grant it found for ACCESS_CACHE_TTL_MS and no longer (so a deleted key or a
 * removed grant stops working within that bound); missing ones are never cached; allow/deny add
 * and remove single flags; deleting a key removes its grants; bucket owners and global names.
 */
import { describe, it, expect } from 'vitest';
import { ACCESS_CACHE_TTL_MS, AccessKeys, applyGrantChange, keyFromMeta, keyToMeta, newAccessKey, validateKeyName, NO_PERMISSIONS } from '../../../src/model/keys.js';
import { Buckets } from '../../../src/model/buckets.js';
import { seededRandom } from '../../../src/util/random.js';
import { toS3Error } from '../../../src/s3/errors.js';
import { HARNESS_NOW, IDS, replicaHarness } from '../../helpers/replica-faults.js';

describe('key records (pure)', () => {
  it('a new key has an RK id and a 64-hex secret, and survives its record', () => {
    const key = newAccessKey(seededRandom(1), 'alice', true, 1234);
    expect(key.accessKeyId).toMatch(/^RK[0-9A-F]{24}$/);
    expect(key.secretAccessKey).toMatch(/^[0-9a-f]{64}$/);
    expect(keyFromMeta(key.accessKeyId, keyToMeta(key))).toEqual(key);
    expect(keyFromMeta('RKX', {})).toBeUndefined();
  });

  it.each([[''], [' leading'], ['x'.repeat(128)], ['tab\there'], [42]])('key name %j is refused', (name) => {
    expect(() => validateKeyName(name)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  it('allow adds the flags asked, deny removes them, others stay', () => {
    const rw = applyGrantChange(NO_PERMISSIONS, { read: true, write: true }, 'allow');
    expect(rw).toEqual({ read: true, write: true, owner: false });
    expect(applyGrantChange(rw, { write: true }, 'deny')).toEqual({ read: true, write: false, owner: false });
    expect(applyGrantChange(rw, { owner: true }, 'deny')).toEqual(rw);
  });
});

describe('key store over replicas', () => {
  it('a found key is cached for the TTL, then looked up again (a deleted key stops working); a missing id is remembered as missing for the TTL', async () => {
    let now = HARNESS_NOW;
    const h = await replicaHarness();
    const clock = { now: () => now };
    const admin = new AccessKeys(h.coordinator, clock, seededRandom(2));
    const gateway = new AccessKeys(h.coordinator, clock, seededRandom(3));
    expect(await gateway.find('RK000000000000000000000000')).toBeUndefined();
    for (const id of IDS) h.replicas[id].down = true;
    // Remembered as missing: no replica is asked (all are down) and the answer is the same.
    expect(await gateway.find('RK000000000000000000000000')).toBeUndefined();
    for (const id of IDS) h.replicas[id].down = false;
    const key = await admin.create('bob', false);
    expect(await gateway.find(key.accessKeyId)).toEqual(key);
    await admin.delete(key.accessKeyId);
    now += ACCESS_CACHE_TTL_MS - 1;
    expect(await gateway.find(key.accessKeyId)).toEqual(key);
    now += 1;
    expect(await gateway.find(key.accessKeyId)).toBeUndefined();
    await expect(admin.delete(key.accessKeyId)).rejects.toMatchObject({ code: 'NoSuchKey' });
  });

  it('grants: allowed at once, revoked within the TTL, listed per key, gone with the key', async () => {
    let now = HARNESS_NOW;
    const h = await replicaHarness();
    const clock = { now: () => now };
    const admin = new AccessKeys(h.coordinator, clock, seededRandom(4));
    const gateway = new AccessKeys(h.coordinator, clock, seededRandom(5));
    const key = await admin.create('carol', false);
    expect(await gateway.permissions(key.accessKeyId, 'b1')).toEqual(NO_PERMISSIONS);
    await admin.changeGrant(key.accessKeyId, 'b1', { read: true }, 'allow');
    await admin.changeGrant(key.accessKeyId, 'b2', { write: true, owner: true }, 'allow');
    expect(await gateway.permissions(key.accessKeyId, 'b1')).toEqual({ read: true, write: false, owner: false });
    expect((await admin.grantsOf(key.accessKeyId)).map((g) => g.bucket)).toEqual(['b1', 'b2']);
    await admin.changeGrant(key.accessKeyId, 'b1', { read: true }, 'deny');
    expect(await gateway.permissions(key.accessKeyId, 'b1')).toEqual({ read: true, write: false, owner: false });
    now += ACCESS_CACHE_TTL_MS;
    expect(await gateway.permissions(key.accessKeyId, 'b1')).toEqual(NO_PERMISSIONS);
    await admin.removeBucketGrants('b2');
    expect(await admin.grantsOf(key.accessKeyId)).toEqual([]);
    await admin.changeGrant(key.accessKeyId, 'b3', { read: true }, 'allow');
    await admin.delete(key.accessKeyId);
    expect(await admin.grantsOf(key.accessKeyId)).toEqual([]);
    await expect(admin.changeGrant(key.accessKeyId, 'b3', { read: true }, 'allow')).rejects.toMatchObject({ code: 'NoSuchKey' });
  });

  it('buckets have owners; names are global: yours again is BucketAlreadyOwnedByYou, another owner’s is BucketAlreadyExists', async () => {
    const h = await replicaHarness();
    const buckets = new Buckets(h.coordinator, { now: () => HARNESS_NOW });
    await buckets.create('mine', 'RKA');
    await buckets.create('roots');
    expect((await buckets.find('mine'))?.owner).toBe('RKA');
    expect((await buckets.find('roots'))?.owner).toBe('');
    const code = async (p: Promise<unknown>) =>
      p.then(
        () => 'OK',
        (e: unknown) => `${toS3Error(e).status} ${toS3Error(e).code}`,
      );
    expect(await code(buckets.create('mine', 'RKA'))).toBe('409 BucketAlreadyOwnedByYou');
    expect(await code(buckets.create('mine', 'RKB'))).toBe('409 BucketAlreadyExists');
    expect(await code(buckets.create('mine'))).toBe('409 BucketAlreadyExists');
    expect(await code(buckets.create('roots'))).toBe('409 BucketAlreadyOwnedByYou');
    // Owners are replicated records: every replica holds them.
    for (const id of IDS) expect(h.replicas[id]).toBeDefined();
  });
});
