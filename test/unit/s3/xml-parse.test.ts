import { describe, expect, it } from 'vitest';
import { parseCompleteMultipartUpload, parseCreateBucketConfiguration, parseDeleteObjects, unquoteEtag, MAX_XML_REFERENCES } from '../../../src/s3/xml-parse.js';

const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

describe('parseCreateBucketConfiguration', () => {
  it.each([
    ['', {}],
    ['   ', {}],
    [`<CreateBucketConfiguration ${NS}><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`, { locationConstraint: 'eu-west-1' }],
    [
      `<?xml version="1.0" encoding="UTF-8"?>\n<CreateBucketConfiguration ${NS}>\n  <LocationConstraint> us-west-2 </LocationConstraint>\n</CreateBucketConfiguration>`,
      { locationConstraint: 'us-west-2' },
    ],
    ['<CreateBucketConfiguration/>', {}],
    ['<CreateBucketConfiguration><LocationConstraint></LocationConstraint></CreateBucketConfiguration>', {}],
  ])('%j → %j', (xml, config) => {
    expect(parseCreateBucketConfiguration(xml)).toEqual(config);
  });
});

describe('parseCompleteMultipartUpload', () => {
  it('parses the AWS example, unquoting ETags and keeping part checksums', () => {
    const xml = `<CompleteMultipartUpload ${NS}>
  <Part><PartNumber>1</PartNumber><ETag>"a54357aff0632cce46d942af68356b38"</ETag></Part>
  <Part><PartNumber>2</PartNumber><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag><ChecksumCRC32>DUoRhQ==</ChecksumCRC32></Part>
  <Part><PartNumber>3</PartNumber><ETag>acbd18db4cc2f85cedef654fccc4a4d8</ETag></Part>
</CompleteMultipartUpload>`;
    expect(parseCompleteMultipartUpload(xml)).toEqual([
      { partNumber: 1, etag: 'a54357aff0632cce46d942af68356b38', checksums: {} },
      { partNumber: 2, etag: '0c78aef83f66abc1fa1e8477f296d394', checksums: { CRC32: 'DUoRhQ==' } },
      { partNumber: 3, etag: 'acbd18db4cc2f85cedef654fccc4a4d8', checksums: {} },
    ]);
  });

  it('parses a single part (no array in the XML)', () => {
    expect(parseCompleteMultipartUpload('<CompleteMultipartUpload><Part><ETag>e</ETag><PartNumber>7</PartNumber></Part></CompleteMultipartUpload>')).toEqual([
      { partNumber: 7, etag: 'e', checksums: {} },
    ]);
  });

  it.each([
    ['not xml at all', 'MalformedXML'],
    ['<CompleteMultipartUpload><Part></CompleteMultipartUpload>', 'MalformedXML'],
    ['<CompleteMultipartUpload></CompleteMultipartUpload>', 'MalformedXML'],
    ['<Other><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part></Other>', 'MalformedXML'],
    ['<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>', 'MalformedXML'],
    ['<!DOCTYPE x [<!ENTITY a "b">]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&a;</ETag></Part></CompleteMultipartUpload>', 'MalformedXML'],
    ['<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>', 'InvalidArgument'],
    ['<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>', 'InvalidArgument'],
    ['<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>e</ETag></Part><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>', 'InvalidPartOrder'],
    ['<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>', 'InvalidPartOrder'],
  ])('%j → %s', (xml, code) => {
    expect(() => parseCompleteMultipartUpload(xml)).toThrow(expect.objectContaining({ code }));
  });
});

describe('parseDeleteObjects', () => {
  it('parses keys exactly, including spaces, entities and character references', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<Delete ${NS}>
  <Quiet>true</Quiet>
  <Object><Key>sample1.txt</Key></Object>
  <Object><Key> spaced key </Key><VersionId>OYcLXagmS.WaD..oyH4KRguB95_YhLs7</VersionId></Object>
  <Object><Key>a&amp;b&lt;c&#x0D;&#x0A;d&#233;</Key></Object>
</Delete>`;
    expect(parseDeleteObjects(xml)).toEqual({
      quiet: true,
      objects: [{ key: 'sample1.txt' }, { key: ' spaced key ', versionId: 'OYcLXagmS.WaD..oyH4KRguB95_YhLs7' }, { key: 'a&b<c\r\ndé' }],
    });
  });

  it('defaults to verbose mode', () => {
    expect(parseDeleteObjects('<Delete><Object><Key>k</Key></Object></Delete>').quiet).toBe(false);
  });

  it.each([
    ['<Delete></Delete>'],
    ['<Delete><Object><Key></Key></Object></Delete>'],
    ['<Delete><Object><VersionId>v</VersionId></Object></Delete>'],
    [`<Delete>${'<Object><Key>k</Key></Object>'.repeat(1001)}</Delete>`],
    ['<Delete><Object><Key>k</Key></Object>'],
  ])('%j → MalformedXML', (xml) => {
    expect(() => parseDeleteObjects(xml)).toThrow(expect.objectContaining({ code: 'MalformedXML' }));
  });
});

describe('unquoteEtag', () => {
  it.each([
    ['"abc"', 'abc'],
    ['abc', 'abc'],
    [' "abc-3" ', 'abc-3'],
    ['"', '"'],
  ])('%j → %j', (etag, out) => {
    expect(unquoteEtag(etag)).toBe(out);
  });
});

// Guards the XML bounds: entity references and repeated elements were once unbounded;
// 400,000 `&amp;` kept one core busy for 3.2 s, and 50,000 <Object>s were parsed before being refused.
describe('bounded XML bodies', () => {
  const codeOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (err) {
      return (err as { code?: string }).code;
    }
    return undefined;
  };

  it('refuses more entity references than a legitimate body holds, before parsing', () => {
    const xml = `<Delete><Object><Key>${'&amp;'.repeat(MAX_XML_REFERENCES + 1)}</Key></Object></Delete>`;
    const started = performance.now();
    expect(codeOf(() => parseDeleteObjects(xml))).toBe('MalformedXML');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('accepts the largest legitimate body: 10,000 parts with quoted ETags', () => {
    const parts = Array.from({ length: 10_000 }, (_, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>&quot;${'a'.repeat(32)}&quot;</ETag></Part>`).join('');
    expect(parseCompleteMultipartUpload(`<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`)).toHaveLength(10_000);
  });

  it('refuses more than 10,000 parts and more than 1,000 objects', () => {
    const parts = Array.from({ length: 10_001 }, () => '<Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>').join('');
    expect(codeOf(() => parseCompleteMultipartUpload(`<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`))).toBe('MalformedXML');
    const objects = '<Object><Key>k</Key></Object>'.repeat(1001);
    expect(codeOf(() => parseDeleteObjects(`<Delete>${objects}</Delete>`))).toBe('MalformedXML');
    expect(parseDeleteObjects(`<Delete>${'<Object><Key>k</Key></Object>'.repeat(1000)}</Delete>`).objects).toHaveLength(1000);
  });
});
