/**
 * GetObject / HeadObject `partNumber=N`: "effectively performs a ranged GET for the part
 * specified". On a multipart object part N is the N-th part of its manifest (1-based, in
 * object order); on any other object part 1 is the whole object and every other number is 416
 * InvalidPartNumber. A Range header beside partNumber is 400 InvalidRequest.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax
 */
import type { ByteRange, ObjectMeta } from '../store/types.js';
import { S3Error } from './errors.js';

/** The bytes a partNumber request selects: a range, or nothing at all (an empty part or object). */
export type PartSelection = { readonly kind: 'range'; readonly range: ByteRange } | { readonly kind: 'empty' };

/** Refuses a Range header sent with partNumber (S3 allows one or the other). */
export function assertNoRangeWithPart(rangeHeader: string | undefined): void {
  if (rangeHeader !== undefined) throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
}

/** The bytes of part `partNumber` of an object; InvalidPartNumber (416) past its last part. */
export function partSelection(record: Pick<ObjectMeta, 'size' | 'parts'>, partNumber: number): PartSelection {
  const count = partsCountOf(record);
  if (partNumber > count) throw new S3Error('InvalidPartNumber', undefined, { extra: { PartNumberRequested: String(partNumber), ActualPartCount: String(count) } });
  let start = 0;
  let size = record.size;
  if (record.parts) {
    for (let i = 0; i < partNumber - 1; i++) start += record.parts[i]!.size;
    size = record.parts[partNumber - 1]!.size;
  }
  return size === 0 ? { kind: 'empty' } : { kind: 'range', range: { start, end: start + size - 1 } };
}

/** How many parts an object has for partNumber: its manifest's count, or 1. */
export function partsCountOf(record: Pick<ObjectMeta, 'parts'>): number {
  return record.parts?.length ?? 1;
}
