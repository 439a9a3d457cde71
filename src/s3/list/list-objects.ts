/**
 * S3 listing semantics over a source of key-ordered pages: prefix, delimiter (CommonPrefixes),
 * max-keys and continuation. No I/O of its own: the page source is injected, so this is
 * unit-tested alone. https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 */
import type { ObjectRecord } from '../../store/types.js';

/** Fetches live records with keys > startAfter (and the prefix), in key order. */
export type PageSource = (startAfter: string | undefined, limit: number) => Promise<{ records: ObjectRecord[]; exhausted: boolean }>;

/** A listing request after parsing. */
export interface ListParams {
  readonly prefix: string;
  readonly delimiter?: string;
  readonly maxKeys: number;
  /** Exclusive lower bound (start-after, marker or the decoded continuation token). */
  readonly startAfter?: string;
}

/** A listing answer before XML shaping. */
export interface ListOutcome {
  readonly contents: ObjectRecord[];
  readonly commonPrefixes: string[];
  readonly isTruncated: boolean;
  /** Where the next page starts (exclusive); set when truncated. */
  readonly nextStartAfter?: string;
  /** The last key or common prefix returned (ListObjects v1 NextMarker). */
  readonly lastReturned?: string;
}

/** The most keys one listing answer holds (S3's cap on max-keys). */
const MAX_PAGE = 1000;

// The largest code point: every key that starts with a common prefix P sorts at or before P + MAX_CHAR.
const MAX_CHAR = '\u{10FFFF}';

/** Lists one page of S3 results, grouping keys under CommonPrefixes when a delimiter is given. */
export async function listObjects(source: PageSource, params: ListParams): Promise<ListOutcome> {
  const { prefix, delimiter, maxKeys } = params;
  const contents: ObjectRecord[] = [];
  const commonPrefixes: string[] = [];
  if (maxKeys <= 0) return { contents, commonPrefixes, isTruncated: false };
  let cursor = params.startAfter;
  // A marker that is a common prefix, or lies inside one (a v1 NextMarker is the last prefix
  // returned), resumes after that whole group: its keys roll up into a prefix that sorts at
  // or before the marker, which was already returned.
  const markerGroup = delimiter && cursor !== undefined && cursor.startsWith(prefix) ? commonPrefixOf(cursor, prefix, delimiter) : undefined;
  if (markerGroup !== undefined) cursor = markerGroup + MAX_CHAR;
  let lastPrefix: string | undefined;
  let lastReturned: string | undefined;
  let resume: string | undefined;
  const count = (): number => contents.length + commonPrefixes.length;

  for (;;) {
    // One entry beyond max-keys tells whether the listing is truncated without another round.
    const page = await source(cursor, Math.min(MAX_PAGE + 1, Math.max(100, maxKeys - count() + 1)));
    for (const record of page.records) {
      const group = delimiter ? commonPrefixOf(record.key, prefix, delimiter) : undefined;
      if (group !== undefined && group === lastPrefix) continue;
      if (count() === maxKeys) return { contents, commonPrefixes, isTruncated: true, nextStartAfter: resume!, lastReturned: lastReturned! };
      if (group !== undefined) {
        commonPrefixes.push(group);
        lastPrefix = group;
        lastReturned = group;
        resume = group + MAX_CHAR;
      } else {
        contents.push(record);
        lastReturned = record.key;
        resume = record.key;
      }
    }
    if (page.exhausted || page.records.length === 0) return { contents, commonPrefixes, isTruncated: false, ...(lastReturned !== undefined && { lastReturned }) };
    const lastKey = page.records[page.records.length - 1]!.key;
    // Skip the rest of a common prefix in one step instead of paging through its keys.
    cursor = lastPrefix !== undefined && lastKey.startsWith(lastPrefix) ? lastPrefix + MAX_CHAR : lastKey;
  }
}

/** The CommonPrefix a key rolls up into, or undefined when it is listed as itself. */
export function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  const at = key.indexOf(delimiter, prefix.length);
  return at < 0 ? undefined : key.slice(0, at + delimiter.length);
}

/** Continuation tokens are opaque to clients: base64url of the exclusive start key. */
export function encodeContinuationToken(startAfter: string): string {
  return Buffer.from(startAfter, 'utf8').toString('base64url');
}

/** Decodes a continuation token; undefined when it is not one of ours. */
export function decodeContinuationToken(token: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(token)) return undefined;
  return Buffer.from(token, 'base64url').toString('utf8');
}
