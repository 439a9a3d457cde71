/**
 * ListMultipartUploads' delimiter: in-progress uploads rolled up under CommonPrefixes exactly as
 * keys are in ListObjects, with max-uploads counting uploads and prefixes together. No I/O: the
 * page source (the model's upload listing) is injected.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html
 */
import { commonPrefixOf } from './list-objects.js';

/** An in-progress upload as listed. */
export interface ListedUpload {
  readonly key: string;
  readonly uploadId: string;
}

/**
 * Uploads after a marker in (key, upload id) order, at most `max`: with `uploadIdMarker`, the
 * marker key's uploads after that id come first; without it every upload of the marker key is skipped.
 */
export type UploadPageSource<U extends ListedUpload> = (keyMarker: string, max: number, uploadIdMarker?: string) => Promise<{ uploads: U[]; truncated: boolean }>;

/** A ListMultipartUploads request after parsing. */
export interface ListUploadsParams {
  readonly prefix: string;
  readonly delimiter?: string;
  readonly keyMarker: string;
  /** Used only with a key marker, as the reference defines. */
  readonly uploadIdMarker?: string;
  readonly maxUploads: number;
}

/** A ListMultipartUploads answer before XML shaping. */
export interface ListUploadsOutcome<U extends ListedUpload> {
  readonly uploads: U[];
  readonly commonPrefixes: string[];
  readonly truncated: boolean;
  /** Set when truncated: the last key (or common prefix) returned. */
  readonly nextKeyMarker?: string;
  /** Set when truncated and the last entry returned is an upload. */
  readonly nextUploadIdMarker?: string;
}

const MAX_CHAR = '\u{10FFFF}';
/** Source calls one listing may make (each skips at least one key or group). */
const MAX_ROUNDS = 1000;

/** Lists one page of uploads, grouping keys under CommonPrefixes when a delimiter is given. */
export async function listUploads<U extends ListedUpload>(source: UploadPageSource<U>, params: ListUploadsParams): Promise<ListUploadsOutcome<U>> {
  const { prefix, delimiter, maxUploads } = params;
  const uploadIdMarker = params.keyMarker !== '' && params.uploadIdMarker ? params.uploadIdMarker : undefined;
  if (!delimiter) {
    const { uploads, truncated } = await source(params.keyMarker, maxUploads, uploadIdMarker);
    const last = uploads[uploads.length - 1];
    return { uploads, commonPrefixes: [], truncated, ...(truncated && last && { nextKeyMarker: last.key, nextUploadIdMarker: last.uploadId }) };
  }
  const uploads: U[] = [];
  const commonPrefixes: string[] = [];
  if (maxUploads <= 0) return { uploads, commonPrefixes, truncated: false };
  // A key marker inside a group (a previous page's NextKeyMarker) resumes after that group.
  const markerGroup = params.keyMarker.startsWith(prefix) ? commonPrefixOf(params.keyMarker, prefix, delimiter) : undefined;
  let marker = markerGroup === undefined ? params.keyMarker : markerGroup + MAX_CHAR;
  let lastGroup: string | undefined;
  let next: { key: string; uploadId?: string } | undefined;
  const truncatedAt = (): ListUploadsOutcome<U> => ({
    uploads,
    commonPrefixes,
    truncated: true,
    nextKeyMarker: next!.key,
    ...(next!.uploadId !== undefined && { nextUploadIdMarker: next!.uploadId }),
  });
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const page = await source(marker, maxUploads, round === 0 && markerGroup === undefined ? uploadIdMarker : undefined);
    for (const upload of page.uploads) {
      const group = commonPrefixOf(upload.key, prefix, delimiter);
      if (group !== undefined && group === lastGroup) continue;
      if (uploads.length + commonPrefixes.length === maxUploads) return truncatedAt();
      if (group !== undefined) {
        commonPrefixes.push(group);
        lastGroup = group;
        next = { key: group };
      } else {
        uploads.push(upload);
        next = { key: upload.key, uploadId: upload.uploadId };
      }
    }
    const lastKey = page.uploads[page.uploads.length - 1]?.key;
    if (!page.truncated || lastKey === undefined) return { uploads, commonPrefixes, truncated: false };
    // Skip the rest of a group in one step instead of paging through its uploads.
    marker = lastGroup !== undefined && lastKey.startsWith(lastGroup) ? lastGroup + MAX_CHAR : lastKey;
  }
  return next === undefined ? { uploads, commonPrefixes, truncated: false } : truncatedAt();
}
