/**
 * The few S3 calls the bench makes, on undici's low-level `dispatch()` over one keep-alive
 * `Pool` (connections = concurrency), signed with the gateway's own SigV4 signer. Response
 * bodies are consumed chunk by chunk without a stream in between: a GET body is only counted
 * and fed to CRC32, which keeps the client's CPU per byte low.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { EMPTY_SHA256, UNSIGNED_PAYLOAD, uriEncode } from '../s3/sigv4/canonical.js';
import { sha256Hex, signRequest, type SignerCredentials } from '../s3/sigv4/signing.js';
import { crc32 } from '../util/crc.js';
import { TAG_HEADER } from './bodies.js';

/** An S3 endpoint and bucket to talk to. */
export interface S3Endpoint {
  /** `http://host:port` (path-style; a path prefix is kept). */
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
  readonly bucket: string;
}

/** Connection and request settings. */
export interface S3ClientOptions {
  /** Keep-alive connections (= requests in flight). */
  readonly connections: number;
  /** Whole-request deadline in ms. */
  readonly timeoutMs: number;
  /** Send the real SHA-256 of bodies instead of UNSIGNED-PAYLOAD. */
  readonly signPayload: boolean;
}

/** A failed request: an HTTP error status, a network error, a timeout or an abort. */
export class S3RequestError extends Error {
  /** HTTP status, when there was an answer. */
  readonly status: number | undefined;
  /** The S3 error code (`NoSuchKey`), a network error code (`ECONNRESET`), `TIMEOUT` or `ABORTED`. */
  readonly code: string;

  constructor(message: string, code: string, status?: number) {
    super(message);
    this.name = 'S3RequestError';
    this.code = code;
    this.status = status;
  }
}

/**
 * What the caller wants from a response body. A `reference` sink names, from the response
 * headers, the bytes the body should be: chunks are compared with it (memcmp, several GB/s)
 * and only if they differ, or there is no reference, does the body go through CRC32 instead.
 */
type Sink = 'discard' | 'crc' | 'text' | { readonly reference: (headers: IncomingHttpHeaders) => Buffer | undefined };

/** A successful (2xx) response. */
export interface S3Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Body bytes received. */
  readonly bytes: number;
  /** CRC32 of the body (sink `crc`, or a reference sink whose reference it did not match), else 0. */
  readonly crc: number;
  /** Whether the body was exactly the reference (reference sink only). */
  readonly matched: boolean;
  /** The body as text (sink `text`), else ''. */
  readonly text: string;
}

/** One page of ListObjectsV2. */
export interface ListPage {
  readonly keys: number;
  readonly truncated: boolean;
  readonly nextToken: string | undefined;
  readonly bytes: number;
}

interface InFlight {
  deadline: number;
  controller: Dispatcher.DispatchController | undefined;
  fail: (error: Error) => void;
}

const ERROR_BODY_MAX = 4096;

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'amp') return '&';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    return String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
  });
}

/** The text of the first `<tag>` element of an XML document, unescaped. */
export function xmlElement(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m === null ? undefined : unescapeXml(m[1] ?? '');
}

/** A minimal S3 client for load generation. */
export class BenchS3Client {
  readonly #target: S3Endpoint;
  readonly #options: S3ClientOptions;
  readonly #pool: Pool;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #creds: SignerCredentials;
  readonly #inFlight = new Set<InFlight>();
  readonly #timer: NodeJS.Timeout;

  constructor(target: S3Endpoint, options: S3ClientOptions) {
    this.#target = target;
    this.#options = options;
    const url = new URL(target.endpoint);
    this.#origin = url.origin;
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#creds = { accessKeyId: target.accessKey, secretAccessKey: target.secretKey, region: target.region };
    this.#pool = new Pool(this.#origin, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    // One timer checks every deadline, instead of one timer per request.
    this.#timer = setInterval(() => this.#expire(), Math.min(250, Math.max(10, options.timeoutMs / 4)));
    this.#timer.unref();
  }

  /** The bucket requests go to. */
  get bucket(): string {
    return this.#target.bucket;
  }

  #expire(): void {
    const now = performance.now();
    for (const entry of this.#inFlight) {
      if (entry.deadline <= now) entry.fail(new S3RequestError(`no complete response within ${this.#options.timeoutMs} ms`, 'TIMEOUT'));
    }
  }

  /** Fails every request in flight now (hard stop, Ctrl-C). */
  abortAll(reason: string): void {
    for (const entry of this.#inFlight) entry.fail(new S3RequestError(reason, 'ABORTED'));
  }

  /** Closes the connections. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.abortAll('client closed');
    await this.#pool.close().catch(() => undefined);
  }

  /**
   * Sends one signed request. `query` is `[name, value]` pairs; `payloadHash` defaults to
   * UNSIGNED-PAYLOAD (or the empty-body hash with `--sign-payload` and no body).
   */
  request(
    method: string,
    key: string | undefined,
    init: { query?: ReadonlyArray<readonly [string, string]>; headers?: Record<string, string>; body?: Buffer; payloadHash?: string; sink?: Sink } = {},
  ): Promise<S3Response> {
    const path = `${this.#basePath}/${uriEncode(this.#target.bucket)}${key === undefined ? '' : `/${uriEncode(key, true)}`}`;
    const query = init.query === undefined || init.query.length === 0 ? '' : `?${init.query.map(([k, v]) => (v === '' ? uriEncode(k) : `${uriEncode(k)}=${uriEncode(v)}`)).join('&')}`;
    const payloadHash = init.payloadHash ?? (init.body === undefined && this.#options.signPayload ? EMPTY_SHA256 : UNSIGNED_PAYLOAD);
    const signed = signRequest({ method, url: `${this.#origin}${path}${query}`, ...(init.headers !== undefined && { headers: init.headers }), payloadHash }, this.#creds);
    const sink = init.sink ?? 'discard';
    return new Promise<S3Response>((resolve, reject) => {
      let status = 0;
      let headers: IncomingHttpHeaders = {};
      let bytes = 0;
      let crc = 0;
      // Set while the body still equals it; cleared (and the body hashed instead) once it differs.
      let reference: Buffer | undefined;
      const hashes = sink === 'crc' || typeof sink === 'object';
      let chunks: Buffer[] | undefined;
      let done = false;
      const entry: InFlight = {
        deadline: performance.now() + this.#options.timeoutMs,
        controller: undefined,
        fail: (error) => {
          if (done) return;
          finish(error);
          // Aborting closes the connection, so a late answer cannot be taken for another request's.
          if (entry.controller !== undefined && !entry.controller.aborted) entry.controller.abort(error);
        },
      };
      const finish = (error: Error | undefined): void => {
        if (done) return;
        done = true;
        this.#inFlight.delete(entry);
        if (error !== undefined) return reject(error);
        const matched = reference !== undefined && bytes === reference.length;
        // A body that stopped short of its reference is that reference's prefix.
        if (reference !== undefined && !matched) crc = crc32(reference.subarray(0, bytes));
        resolve({ status, headers, bytes, crc, matched, text: chunks === undefined ? '' : Buffer.concat(chunks).toString('utf8') });
      };
      this.#inFlight.add(entry);
      this.#pool.dispatch(
        {
          origin: this.#origin,
          path: path + query,
          method: method as Dispatcher.HttpMethod,
          headers: signed.headers,
          body: init.body ?? null,
          headersTimeout: this.#options.timeoutMs,
          bodyTimeout: this.#options.timeoutMs,
        },
        {
          onRequestStart: (controller) => {
            entry.controller = controller;
            if (done) controller.abort(new S3RequestError('aborted before start', 'ABORTED'));
          },
          onResponseStart: (_controller, statusCode, responseHeaders) => {
            status = statusCode;
            headers = responseHeaders;
            if (status >= 300 || sink === 'text') chunks = [];
            else if (typeof sink === 'object') reference = sink.reference(responseHeaders);
          },
          onResponseData: (_controller, chunk) => {
            const offset = bytes;
            bytes += chunk.length;
            if (chunks !== undefined) {
              if (status < 300 || bytes <= ERROR_BODY_MAX) chunks.push(chunk);
              return;
            }
            if (reference !== undefined) {
              if (bytes <= reference.length && chunk.equals(reference.subarray(offset, bytes))) return;
              // Diverged: what came so far equals the reference's prefix, so hash from there on.
              crc = crc32(reference.subarray(0, offset));
              reference = undefined;
            }
            if (hashes) crc = crc32(chunk, crc);
          },
          onResponseEnd: () => {
            if (status >= 200 && status < 300) return finish(undefined);
            const text = chunks === undefined ? '' : Buffer.concat(chunks).toString('utf8');
            const code = xmlElement(text, 'Code') ?? `HTTP${status}`;
            const message = xmlElement(text, 'Message') ?? text.slice(0, 200).replace(/\s+/g, ' ');
            finish(new S3RequestError(`${method} ${path}${query} → ${status} ${code}${message === '' ? '' : `: ${message}`}`, code, status));
          },
          onResponseError: (_controller, error) => {
            const code = (error as { code?: unknown }).code;
            finish(error instanceof S3RequestError ? error : new S3RequestError(`${method} ${path}${query}: ${error.message}`, typeof code === 'string' ? code : error.name));
          },
        },
      );
    });
  }

  /** CreateBucket; an existing bucket (409) is fine. */
  async createBucket(): Promise<void> {
    try {
      await this.request('PUT', undefined);
    } catch (error) {
      if (!(error instanceof S3RequestError && error.status === 409)) throw error;
    }
  }

  /** PutObject with the bench's tag in user metadata. */
  async put(key: string, body: Buffer, payloadHash: string | undefined, tag: string): Promise<void> {
    await this.request('PUT', key, { body, headers: { 'content-type': 'application/octet-stream', [TAG_HEADER]: tag }, ...(payloadHash !== undefined && { payloadHash }) });
  }

  /**
   * GetObject: the body's length and whether it equals `reference(headers)` byte for byte;
   * if it does not (or there is no reference), its CRC32.
   */
  async get(key: string, reference: (headers: IncomingHttpHeaders) => Buffer | undefined = () => undefined): Promise<{ bytes: number; matched: boolean; crc: number }> {
    const res = await this.request('GET', key, { sink: { reference } });
    return { bytes: res.bytes, matched: res.matched, crc: res.crc };
  }

  /** HeadObject: Content-Length and the bench tag. */
  async head(key: string): Promise<{ length: number; tag: string | undefined }> {
    const res = await this.request('HEAD', key);
    return { length: Number(header(res.headers, 'content-length') ?? NaN), tag: header(res.headers, TAG_HEADER) };
  }

  /** DeleteObject. */
  async delete(key: string): Promise<void> {
    await this.request('DELETE', key);
  }

  /** One ListObjectsV2 page under `prefix`. */
  async listPage(prefix: string, maxKeys: number, token: string | undefined): Promise<ListPage> {
    const query: Array<[string, string]> = [
      ['list-type', '2'],
      ['prefix', prefix],
      ['max-keys', String(maxKeys)],
    ];
    if (token !== undefined) query.push(['continuation-token', token]);
    const res = await this.request('GET', undefined, { query, sink: 'text' });
    let keys = 0;
    for (let i = res.text.indexOf('<Key>'); i !== -1; i = res.text.indexOf('<Key>', i + 5)) keys++;
    const truncated = xmlElement(res.text, 'IsTruncated') === 'true';
    return { keys, truncated, nextToken: truncated ? xmlElement(res.text, 'NextContinuationToken') : undefined, bytes: res.bytes };
  }

  /** CreateMultipartUpload: the upload id. */
  async createMultipart(key: string, tag: string): Promise<string> {
    const res = await this.request('POST', key, { query: [['uploads', '']], headers: { 'content-type': 'application/octet-stream', [TAG_HEADER]: tag }, sink: 'text' });
    const uploadId = xmlElement(res.text, 'UploadId');
    if (uploadId === undefined || uploadId === '') throw new S3RequestError(`POST ${key}?uploads: no UploadId in the answer`, 'MalformedResponse', res.status);
    return uploadId;
  }

  /** UploadPart: the part's ETag. */
  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer, payloadHash: string | undefined): Promise<string> {
    const res = await this.request('PUT', key, {
      query: [
        ['partNumber', String(partNumber)],
        ['uploadId', uploadId],
      ],
      body,
      ...(payloadHash !== undefined && { payloadHash }),
    });
    const etag = header(res.headers, 'etag');
    if (etag === undefined) throw new S3RequestError(`UploadPart ${partNumber} of ${key}: no ETag`, 'MalformedResponse', res.status);
    return etag;
  }

  /**
   * CompleteMultipartUpload. S3 may answer 200 and still report an error in the body, so the
   * body is checked.
   *
   * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
   */
  async completeMultipart(key: string, uploadId: string, etags: readonly string[]): Promise<void> {
    const parts = etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</ETag></Part>`).join('');
    const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts}</CompleteMultipartUpload>`);
    const res = await this.request('POST', key, {
      query: [['uploadId', uploadId]],
      body,
      headers: { 'content-type': 'application/xml' },
      ...(this.#options.signPayload && { payloadHash: sha256Hex(body) }),
      sink: 'text',
    });
    if (res.text.includes('<Error>')) {
      const code = xmlElement(res.text, 'Code') ?? 'InternalError';
      throw new S3RequestError(`CompleteMultipartUpload ${key} → 200 with error ${code}: ${xmlElement(res.text, 'Message') ?? ''}`, code, res.status);
    }
  }

  /** AbortMultipartUpload (best effort after a failed upload). */
  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.request('DELETE', key, { query: [['uploadId', uploadId]] });
  }
}
