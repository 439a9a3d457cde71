/**
 * The LevelDB record layout (record-codec.ts): values round-trip exactly, keys sort in UTF-8
 * byte order within one bucket's contiguous range, list bounds select exactly the keys a listing
 * asks for, and a truncated or garbled value is refused with CorruptBody, never read as a record.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blockCrcsOf, type BlockCrcs } from '../../../src/store/block-crcs.js';
import { allObjectsBounds, bucketPrefix, decodeValue, encodeValue, listBounds, listingKey, objectKey } from '../../../src/store/record-codec.js';
import type { ObjectRecord } from '../../../src/store/types.js';
import { compareUtf8 } from '../../../src/util/utf8-order.js';
import { RingstoreError } from '../../../src/util/errors.js';
import { validKey } from '../../helpers/arbitraries.js';

// A fixed seed: the same inputs on every run (mutation testing needs a deterministic suite).
const SEED = 13;
const name = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
const stringMap = fc.dictionary(name, fc.string({ unit: 'grapheme', maxLength: 20 }), { maxKeys: 4 });
const bucket = validKey;
const version = fc.record({ hlc: fc.maxSafeNat(), node: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }) });
const blobId = fc.stringMatching(/^[0-9a-f]{32}$/);
const part = fc.record({ bucket: name, key: validKey, version, size: fc.maxSafeNat(), etag: name });
const blockCrcs: fc.Arbitrary<BlockCrcs> = fc
  .record({ blockBytes: fc.integer({ min: 1, max: 1 << 24 }), crcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 6 }) })
  .map(({ blockBytes, crcs }) => ({ blockBytes, crcs: Uint32Array.from(crcs) }));

/** A record as toRecord builds one: optional fields absent, never undefined. */
function record(storage: ObjectRecord['storage']): fc.Arbitrary<ObjectRecord> {
  return fc
    .record(
      {
        bucket,
        key: validKey,
        version,
        tombstone: fc.boolean(),
        size: fc.maxSafeNat(),
        etag: fc.string({ maxLength: 40 }),
        contentType: fc.string({ maxLength: 40 }),
        userMeta: stringMap,
        crc32: fc.integer({ min: 0, max: 0xffffffff }),
        headers: stringMap,
        checksums: stringMap,
        parts: fc.array(part, { minLength: 1, maxLength: 3 }),
      },
      { requiredKeys: ['bucket', 'key', 'version', 'tombstone', 'size', 'etag', 'contentType', 'userMeta', 'crc32'] },
    )
    .map((r) => ({ ...r, storage }));
}

function crcsOf(b: BlockCrcs | undefined): [number, number[]] | undefined {
  return b === undefined ? undefined : [b.blockBytes, [...b.crcs]];
}

function corruptBody(fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(RingstoreError);
  expect(thrown).toMatchObject({ code: 'CorruptBody' });
}

describe('record codec', () => {
  it('round-trips an inline record and its body exactly; the listing copy holds no body', () => {
    fc.assert(
      fc.property(record('inline'), fc.uint8Array({ maxLength: 300 }), (r, body) => {
        const back = decodeValue(r.bucket, r.key, encodeValue(r, undefined, body));
        expect(back.record).toEqual(r);
        expect(back.blobId).toBeUndefined();
        expect(back.blockCrcs).toBeUndefined();
        expect(Buffer.from(back.inline ?? new Uint8Array(9)).equals(Buffer.from(body))).toBe(true);
        const listed = decodeValue(r.bucket, r.key, encodeValue(r, undefined, undefined));
        expect(listed.record).toEqual(r);
        expect(listed.inline?.byteLength).toBe(0);
      }),
      { numRuns: 200, seed: SEED },
    );
  });

  it('round-trips a blob record with its blob id and block CRCs; the listing copy has no block CRCs', () => {
    fc.assert(
      fc.property(record('blob'), blobId, fc.option(blockCrcs, { nil: undefined }), (r, id, blocks) => {
        const back = decodeValue(r.bucket, r.key, encodeValue(r, id, undefined, blocks));
        expect(back.record).toEqual(r);
        expect(back.blobId).toBe(id);
        expect(back.inline).toBeUndefined();
        expect(crcsOf(back.blockCrcs)).toEqual(crcsOf(blocks));
        const listed = decodeValue(r.bucket, r.key, encodeValue(r, id, undefined));
        expect(listed.record).toEqual(r);
        expect(listed.blobId).toBe(id);
        expect(listed.blockCrcs).toBeUndefined();
      }),
      { numRuns: 200, seed: SEED },
    );
  });

  it('round-trips a quarantine mark: the version and metadata stay, no body location does', () => {
    fc.assert(
      fc.property(record('quarantined'), fc.option(blobId, { nil: undefined }), (r, id) => {
        const back = decodeValue(r.bucket, r.key, encodeValue(r, id, undefined));
        expect(back).toEqual({ record: r });
      }),
      { numRuns: 100, seed: SEED },
    );
  });

  it('takes bucket and key from the DB key, not from the value', () => {
    const r: ObjectRecord = { bucket: 'b', key: 'k', version: { hlc: 1, node: 'n' }, tombstone: false, size: 1, etag: 'e', contentType: 't', userMeta: {}, crc32: 7, storage: 'inline' };
    const back = decodeValue('other-bucket', 'other-key', encodeValue(r, undefined, Buffer.from('x')));
    expect(back.record).toEqual({ ...r, bucket: 'other-bucket', key: 'other-key' });
  });

  it('lays a value out as format byte 1, u32be header length, header JSON, then the inline body', () => {
    const r: ObjectRecord = { bucket: 'b', key: 'k', version: { hlc: 5, node: 'n1' }, tombstone: false, size: 3, etag: 'e', contentType: 'x/y', userMeta: { a: 'b' }, crc32: 9, storage: 'inline' };
    const value = encodeValue(r, undefined, Buffer.from('abc'));
    const json = '[5,"n1",0,3,"e","x/y",{"a":"b"},0,9,0]';
    expect(value[0]).toBe(1);
    expect(value.readUInt32BE(1)).toBe(json.length);
    expect(value.toString('utf8', 5, 5 + json.length)).toBe(json);
    expect(value.subarray(5 + json.length).toString()).toBe('abc');
    const tombstone = encodeValue({ ...r, tombstone: true, size: 0 }, undefined, new Uint8Array(0));
    expect(tombstone.toString('utf8', 5)).toBe('[5,"n1",1,0,"e","x/y",{"a":"b"},0,9,0]');
    // Trailing optional fields get 0 placeholders for the absent ones before them.
    const quarantined = encodeValue({ ...r, storage: 'quarantined' }, undefined, undefined);
    expect(quarantined.toString('utf8', 5)).toBe('[5,"n1",0,3,"e","x/y",{"a":"b"},0,9,0,0,0,0,1]');
    const withBlocks = encodeValue({ ...r, storage: 'blob' }, 'ab'.repeat(16), undefined, { blockBytes: 4, crcs: Uint32Array.from([1, 0xffffffff]) });
    expect(withBlocks.toString('utf8', 5)).toBe(`[5,"n1",0,3,"e","x/y",{"a":"b"},0,9,"${'ab'.repeat(16)}",0,0,[4,"AAAAAf////8="]]`);
    const withHeaders = encodeValue({ ...r, headers: { h: 'v' } }, undefined, undefined);
    expect(withHeaders.toString('utf8', 5)).toBe('[5,"n1",0,3,"e","x/y",{"a":"b"},0,9,0,{"h":"v"}]');
    const withChecksums = encodeValue({ ...r, checksums: { crc32: 'AAAAAA==' } }, undefined, undefined);
    expect(withChecksums.toString('utf8', 5)).toBe('[5,"n1",0,3,"e","x/y",{"a":"b"},{"crc32":"AAAAAA=="},9,0]');
  });

  it('reads a record written before the optional trailing fields existed', () => {
    const header = Buffer.from('[7,"n",0,2,"e","t",{},0,42,0]');
    const value = Buffer.concat([Buffer.from([1, 0, 0, 0, header.length]), header, Buffer.from('hi')]);
    expect(decodeValue('b', 'k', value)).toEqual({
      record: { bucket: 'b', key: 'k', version: { hlc: 7, node: 'n' }, tombstone: false, size: 2, etag: 'e', contentType: 't', userMeta: {}, crc32: 42, storage: 'inline' },
      inline: Buffer.from('hi'),
    });
    // Malformed block CRCs are dropped, not trusted: such a blob is read with its whole CRC.
    const blob = Buffer.from(`[7,"n",0,2,"e","t",{},0,42,"${'cd'.repeat(16)}",0,0,[0,"x"]]`);
    const stored = decodeValue('b', 'k', Buffer.concat([Buffer.from([1, 0, 0, 0, blob.length]), blob]));
    expect(stored.blobId).toBe('cd'.repeat(16));
    expect(stored.blockCrcs).toBeUndefined();
    expect(stored.record.storage).toBe('blob');
  });

  it('refuses a truncated value with CorruptBody wherever it is cut inside the header', () => {
    fc.assert(
      fc.property(record('blob'), blobId, fc.nat(), (r, id, at) => {
        const value = encodeValue(r, id, undefined, blockCrcsOf(Buffer.from('some body'), 4));
        const cut = at % value.length;
        corruptBody(() => decodeValue(r.bucket, r.key, value.subarray(0, cut)));
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  it('decodes a value cut inside its inline body to a body shorter than the record says (which reads then refuse)', () => {
    const r: ObjectRecord = { bucket: 'b', key: 'k', version: { hlc: 1, node: 'n' }, tombstone: false, size: 10, etag: 'e', contentType: 't', userMeta: {}, crc32: 0, storage: 'inline' };
    const value = encodeValue(r, undefined, Buffer.from('0123456789'));
    expect(Buffer.from(decodeValue('b', 'k', value.subarray(0, value.length - 4)).inline!).toString()).toBe('012345');
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['shorter than the fixed prefix', Buffer.from([1, 0, 0, 0])],
    ['an unknown format byte', Buffer.concat([Buffer.from([2, 0, 0, 0, 2]), Buffer.from('[]')])],
    ['a header length past the end', Buffer.concat([Buffer.from([1, 0, 0, 1, 0]), Buffer.from('[1,"n",0,0,"","",{},0,0,0]')])],
    ['a header that is not JSON', Buffer.concat([Buffer.from([1, 0, 0, 0, 5]), Buffer.from('[1,"n')])],
    ['a JSON object for a header', Buffer.concat([Buffer.from([1, 0, 0, 0, 2]), Buffer.from('{}')])],
    ['a JSON null for a header', Buffer.concat([Buffer.from([1, 0, 0, 0, 4]), Buffer.from('null')])],
    ['a header array too short', Buffer.concat([Buffer.from([1, 0, 0, 0, 7]), Buffer.from('[1,"n"]')])],
    ['bytes that are not a record', Buffer.from('garbage that is long enough')],
  ])('refuses %s with CorruptBody', (_name, value) => {
    corruptBody(() => decodeValue('b', 'k', value));
  });

  it('never fails with anything but CorruptBody, whatever byte of a value is garbled', () => {
    fc.assert(
      fc.property(record('inline'), fc.uint8Array({ maxLength: 20 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (r, body, at, xor) => {
        const value = Buffer.from(encodeValue(r, undefined, body));
        const i = at % value.length;
        value[i] = value[i]! ^ xor;
        try {
          decodeValue(r.bucket, r.key, value);
        } catch (err) {
          expect(err).toBeInstanceOf(RingstoreError);
          expect(err).toMatchObject({ code: 'CorruptBody' });
        }
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  describe('keys', () => {
    it('puts every record of a bucket under its prefix and no record of another bucket there', () => {
      fc.assert(
        fc.property(bucket, bucket, validKey, (a, b, key) => {
          const prefix = bucketPrefix(a);
          expect(objectKey(a, key).subarray(0, prefix.length).equals(prefix)).toBe(true);
          expect(listingKey(a, key).subarray(0, prefix.length).equals(bucketPrefix(a, true))).toBe(true);
          if (a !== b) expect(objectKey(b, key).subarray(0, prefix.length).equals(prefix)).toBe(false);
          expect(objectKey(a, key).toString('utf8', prefix.length)).toBe(key);
        }),
        { seed: SEED },
      );
    });

    it('orders the keys of one bucket in UTF-8 byte order', () => {
      fc.assert(
        fc.property(bucket, validKey, validKey, (b, x, y) => {
          expect(Math.sign(Buffer.compare(objectKey(b, x), objectKey(b, y)))).toBe(Math.sign(compareUtf8(x, y)));
          expect(Math.sign(Buffer.compare(listingKey(b, x), listingKey(b, y)))).toBe(Math.sign(compareUtf8(x, y)));
        }),
        { seed: SEED },
      );
    });

    it('keeps object records and the listing index apart, each inside its own bounds', () => {
      const { gte, lt } = allObjectsBounds();
      fc.assert(
        fc.property(bucket, validKey, (b, key) => {
          const o = objectKey(b, key);
          const m = listingKey(b, key);
          expect(Buffer.compare(o, gte) >= 0 && Buffer.compare(o, lt) < 0).toBe(true);
          expect(Buffer.compare(m, gte) >= 0 && Buffer.compare(m, lt) < 0).toBe(false);
          expect([o[0], m[0], o[1], m[1]]).toEqual([0x6f, 0x6d, 0, 0]);
        }),
        { seed: SEED },
      );
    });

    it('bounds a listing to exactly the keys with the prefix that sort after startAfter', () => {
      const piece = fc.constantFrom('', 'a', 'b', 'a/', 'ab', 'é', '😀', '\uE000', '\u0001', 'z');
      const short = fc.array(piece, { maxLength: 3 }).map((p) => p.join(''));
      fc.assert(
        fc.property(short, fc.option(short, { nil: undefined }), short, (prefix, startAfter, key) => {
          const bounds = listBounds('b', prefix, startAfter);
          const k = listingKey('b', key);
          const low = 'gt' in bounds ? Buffer.compare(k, bounds.gt) > 0 : Buffer.compare(k, bounds.gte) >= 0;
          const inside = low && Buffer.compare(k, bounds.lt) < 0;
          const wanted = key.startsWith(prefix) && (startAfter === undefined || compareUtf8(key, startAfter) > 0);
          expect(inside, JSON.stringify({ prefix, startAfter, key })).toBe(wanted);
          // Never a key of a neighbouring bucket.
          expect(Buffer.compare(listingKey('b', key), listBounds('a', prefix, startAfter).lt) < 0).toBe(false);
        }),
        { numRuns: 500, seed: SEED },
      );
    });
  });
});
