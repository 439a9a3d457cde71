/**
 * Parses S3 request bodies (CreateBucketConfiguration, CompleteMultipartUpload, Delete) with
 * fast-xml-parser. Anything that is not well-formed or misses a required element is
 * `MalformedXML`; DOCTYPEs are refused outright (no entity expansion from clients).
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error } from './errors.js';

/** Highest part number S3 accepts. */
export const MAX_PART_NUMBER = 10_000;
/** Most keys a DeleteObjects request may name. */
export const MAX_DELETE_OBJECTS = 1000;
/** Largest XML request body handlers should read before parsing (10000 parts fit comfortably). */
export const MAX_XML_BODY_BYTES = 2 * 1024 * 1024;

const ARRAY_ELEMENTS = new Set(['Part', 'Object', 'Grant']);
const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  // Keys may start or end with spaces: keep text exactly as sent.
  trimValues: false,
  processEntities: true,
  // Needed for numeric character references (&#xD; …) that SDKs use for control characters in keys.
  htmlEntities: true,
  isArray: (name) => ARRAY_ELEMENTS.has(name),
});

type Node = Record<string, unknown>;

function malformed(detail?: string): S3Error {
  return new S3Error('MalformedXML', detail === undefined ? undefined : `The XML you provided was not well-formed or did not validate against our published schema: ${detail}`);
}

/**
 * Most entity and character references a request body may hold. Each one costs the parser
 * far more than a plain character (400,000 `&amp;` took 3.2 s of one core, blocking every other
 * request); the largest legitimate body, 10,000 parts with quoted ETags, holds 20,000.
 */
export const MAX_XML_REFERENCES = 40_000;

/** How often `needle` occurs in `haystack`, stopping once it passes `limit`. */
function countUpTo(haystack: string, needle: string, limit: number): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at >= 0 && count <= limit; at = haystack.indexOf(needle, at + needle.length)) count++;
  return count;
}

/**
 * Parses `xml` and returns the object under the required root element. `repeated` caps an
 * element that may repeat (counted before parsing, so an oversized list costs no parse).
 */
function parseRoot(xml: string, root: string, repeated?: { readonly element: string; readonly max: number }): Node {
  if (/<!DOCTYPE/i.test(xml)) throw malformed('DOCTYPE is not allowed');
  if (countUpTo(xml, '&', MAX_XML_REFERENCES) > MAX_XML_REFERENCES) throw malformed(`more than ${MAX_XML_REFERENCES} entity references`);
  if (repeated !== undefined && countUpTo(xml, `<${repeated.element}>`, repeated.max) > repeated.max) throw malformed(`more than ${repeated.max} <${repeated.element}> elements`);
  if (XMLValidator.validate(xml) !== true) throw malformed();
  let parsed: Node;
  try {
    parsed = parser.parse(xml) as Node;
  } catch {
    throw malformed();
  }
  const node = parsed[root];
  if (node === '') return {};
  if (typeof node !== 'object' || node === null || Array.isArray(node)) throw malformed(`expected a <${root}> root element`);
  return node as Node;
}

function text(node: Node, name: string): string | undefined {
  const v = node[name];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw malformed(`<${name}> must be text`);
}

function children(node: Node, name: string): Node[] {
  const v = node[name];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((c) => {
    if (c === '') return {};
    if (typeof c !== 'object' || c === null) throw malformed(`<${name}> must contain elements`);
    return c as Node;
  });
}

/** A parsed CreateBucketConfiguration. */
export interface CreateBucketConfiguration {
  readonly locationConstraint?: string;
}

/**
 * CreateBucket's optional body; an empty body means no configuration.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html
 */
export function parseCreateBucketConfiguration(xml: string): CreateBucketConfiguration {
  if (xml.trim() === '') return {};
  const root = parseRoot(xml, 'CreateBucketConfiguration');
  const location = text(root, 'LocationConstraint')?.trim();
  return location === undefined || location === '' ? {} : { locationConstraint: location };
}

/** One part named in CompleteMultipartUpload. */
export interface CompletedPart {
  readonly partNumber: number;
  /** ETag without surrounding quotes. */
  readonly etag: string;
  /** Part checksums the client sent (`ChecksumCRC32` → `CRC32`). */
  readonly checksums: Readonly<Record<string, string>>;
}

/** Strips the quotes around an ETag (`"abc"` → `abc`); clients send either form. */
export function unquoteEtag(etag: string): string {
  const t = etag.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/** Parses and range-checks a part number (1..10000) → InvalidArgument. */
export function parsePartNumber(value: string): number {
  const v = value.trim();
  const n = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= MAX_PART_NUMBER)) {
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, { extra: { ArgumentName: 'partNumber', ArgumentValue: value } });
  }
  return n;
}

/**
 * CompleteMultipartUpload's part list. At least one part, part numbers strictly ascending
 * (→ InvalidPartOrder), each with an ETag.
 */
export function parseCompleteMultipartUpload(xml: string): CompletedPart[] {
  const root = parseRoot(xml, 'CompleteMultipartUpload', { element: 'Part', max: MAX_PART_NUMBER });
  const parts = children(root, 'Part').map((p): CompletedPart => {
    const num = text(p, 'PartNumber');
    const etag = text(p, 'ETag');
    if (num === undefined || etag === undefined) throw malformed('every <Part> needs <PartNumber> and <ETag>');
    const checksums: Record<string, string> = {};
    for (const [name, value] of Object.entries(p)) {
      if (name.startsWith('Checksum') && name !== 'ChecksumType' && typeof value === 'string') checksums[name.slice('Checksum'.length)] = value.trim();
    }
    return { partNumber: parsePartNumber(num), etag: unquoteEtag(etag), checksums };
  });
  if (parts.length === 0) throw malformed('the part list is empty');
  for (let i = 1; i < parts.length; i++) {
    if (parts[i]!.partNumber <= parts[i - 1]!.partNumber) throw new S3Error('InvalidPartOrder');
  }
  return parts;
}

/** A parsed DeleteObjects request. */
export interface DeleteRequest {
  readonly quiet: boolean;
  readonly objects: ReadonlyArray<{ readonly key: string; readonly versionId?: string }>;
}

/** DeleteObjects' body: 1..1000 `<Object><Key/>[<VersionId/>]</Object>`, optional `<Quiet>`. */
export function parseDeleteObjects(xml: string): DeleteRequest {
  const root = parseRoot(xml, 'Delete', { element: 'Object', max: MAX_DELETE_OBJECTS });
  const quiet = text(root, 'Quiet')?.trim().toLowerCase() === 'true';
  const objects = children(root, 'Object').map((o) => {
    const key = text(o, 'Key');
    if (key === undefined || key === '') throw malformed('every <Object> needs a non-empty <Key>');
    const versionId = text(o, 'VersionId')?.trim();
    return versionId === undefined || versionId === '' ? { key } : { key, versionId };
  });
  if (objects.length === 0 || objects.length > MAX_DELETE_OBJECTS) throw malformed(`a Delete request names 1 to ${MAX_DELETE_OBJECTS} objects`);
  return { quiet, objects };
}

/** One grant of an AccessControlPolicy body. */
export interface AclGrant {
  /** The grantee's canonical user ID, when it names one (not a group URI or e-mail address). */
  readonly granteeId?: string;
  readonly permission: string;
}

/**
 * PutBucketAcl / PutObjectAcl's body: the grants of an AccessControlPolicy.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html
 */
export function parseAccessControlPolicy(xml: string): AclGrant[] {
  const root = parseRoot(xml, 'AccessControlPolicy', { element: 'Grant', max: 100 });
  const list = children(root, 'AccessControlList')[0] ?? {};
  const grants = children(list, 'Grant');
  return grants.map((g) => {
    const grantee = children(g, 'Grantee')[0] ?? {};
    const id = text(grantee, 'ID');
    const permission = text(g, 'Permission');
    if (permission === undefined) throw malformed('<Grant> needs a <Permission>');
    return { ...(id === undefined || text(grantee, 'URI') !== undefined || text(grantee, 'EmailAddress') !== undefined ? {} : { granteeId: id.trim() }), permission: permission.trim() };
  });
}
