/**
 * Streaming decoder of `Content-Encoding: aws-chunked` request bodies:
 * `<hex-size>[;chunk-signature=<sig>]\r\n<data>\r\n … 0[;chunk-signature=<sig>]\r\n[trailers]\r\n`.
 * It verifies chained chunk signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]), parses
 * trailing headers (and verifies `x-amz-trailer-signature`), checks the decoded length, and
 * never holds more than one framing line in memory: data is passed on as it arrives, before its
 * chunk's signature is checked, so a consumer must not commit anything from a stream that errored.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from '../errors.js';
import { chunkStringToSign, sign, trailerStringToSign, type SigningSeed } from '../sigv4/signing.js';
import { signaturesEqual } from '../sigv4/verify.js';

/** Options of the aws-chunked decoder. */
export interface AwsChunkedOptions {
  /** Verify chunk signatures chained from this seed (the streaming-signed modes); omit for unsigned chunks. */
  readonly seed?: SigningSeed;
  /** Trailing headers are expected (the *-TRAILER modes); when false, any trailer is an error. */
  readonly trailer: boolean;
  /** `x-amz-decoded-content-length`: the decoded byte count must equal it. */
  readonly decodedLength?: number;
}

const MAX_LINE = 4096;
/**
 * Trailing header lines accepted after the last chunk. A trailer carries a checksum and its
 * signature; without a cap a client could stream trailer lines for ever into the decoder's
 * memory (300,000 lines once grew a gateway by 108 MiB).
 */
const MAX_TRAILER_LINES = 16;
const TRAILER_SIGNATURE = 'x-amz-trailer-signature';

type State = 'header' | 'data' | 'data-crlf' | 'trailer' | 'done';

/** A Transform from an aws-chunked body to the decoded object bytes. */
export class AwsChunkedDecoder extends Transform {
  readonly #seed: SigningSeed | undefined;
  readonly #trailerExpected: boolean;
  readonly #decodedLength: number | undefined;
  #state: State = 'header';
  #line: Buffer[] = [];
  #lineLength = 0;
  #remaining = 0;
  #crlfSeen = 0;
  #chunkSignature = '';
  #chunkHash: Hash | undefined;
  #previousSignature: string;
  #decoded = 0;
  // No prototype: a trailer named `__proto__` is just a name.
  #trailers: Record<string, string> = Object.create(null) as Record<string, string>;
  #trailerLines = 0;
  #trailerOrder: string[] = [];
  #trailerSignature: string | undefined;

  constructor(options: AwsChunkedOptions) {
    super();
    this.#seed = options.seed;
    this.#trailerExpected = options.trailer;
    this.#decodedLength = options.decodedLength;
    this.#previousSignature = options.seed?.signature ?? '';
  }

  /** Trailing headers (lower-case names, without `x-amz-trailer-signature`); complete once the stream has ended. */
  get trailers(): Readonly<Record<string, string>> {
    return this.#trailers;
  }

  /** Decoded bytes passed on so far. */
  get decodedBytes(): number {
    return this.#decoded;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#consume(chunk);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      // Some clients end the body right after the last trailer line, without the empty line.
      if (this.#state === 'trailer' && this.#lineLength === 0) this.#finish();
      if (this.#state !== 'done') throw new S3Error('IncompleteBody', 'The aws-chunked body ended before its final chunk.');
      if (this.#decodedLength !== undefined && this.#decoded !== this.#decodedLength) {
        throw new S3Error('IncompleteBody', `The decoded body has ${this.#decoded} bytes but x-amz-decoded-content-length is ${this.#decodedLength}.`);
      }
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  #consume(buf: Buffer): void {
    let i = 0;
    while (i < buf.length) {
      switch (this.#state) {
        case 'header':
        case 'trailer': {
          const nl = buf.indexOf(10, i);
          const end = nl < 0 ? buf.length : nl;
          if (this.#lineLength + (end - i) > MAX_LINE) throw new S3Error('InvalidRequest', 'aws-chunked framing line too long.');
          if (end > i) {
            this.#line.push(buf.subarray(i, end));
            this.#lineLength += end - i;
          }
          i = end;
          if (nl >= 0) {
            i = nl + 1;
            let line = Buffer.concat(this.#line, this.#lineLength).toString('latin1');
            this.#line = [];
            this.#lineLength = 0;
            if (line.endsWith('\r')) line = line.slice(0, -1);
            if (this.#state === 'header') this.#chunkHeader(line);
            else this.#trailerLine(line);
          }
          break;
        }
        case 'data': {
          const n = Math.min(this.#remaining, buf.length - i);
          const data = buf.subarray(i, i + n);
          this.#chunkHash?.update(data);
          this.#decoded += n;
          if (this.#decodedLength !== undefined && this.#decoded > this.#decodedLength) {
            throw new S3Error('IncompleteBody', `The decoded body is longer than x-amz-decoded-content-length (${this.#decodedLength}).`);
          }
          this.push(data);
          this.#remaining -= n;
          i += n;
          if (this.#remaining === 0) this.#state = 'data-crlf';
          break;
        }
        case 'data-crlf': {
          const expected = this.#crlfSeen === 0 ? 13 : 10;
          if (buf[i] !== expected) throw new S3Error('InvalidRequest', 'aws-chunked chunk data is not followed by CRLF.');
          i++;
          if (++this.#crlfSeen === 2) {
            this.#crlfSeen = 0;
            this.#verifyChunk();
            this.#state = 'header';
          }
          break;
        }
        case 'done':
          // Tolerate trailing CR/LF only; anything else means the framing is wrong.
          for (; i < buf.length; i++) {
            if (buf[i] !== 13 && buf[i] !== 10) throw new S3Error('InvalidRequest', 'aws-chunked body has data after its final chunk.');
          }
          break;
      }
    }
  }

  #chunkHeader(line: string): void {
    const parts = line.split(';');
    const sizeHex = parts[0]!.trim();
    if (!/^[0-9a-fA-F]{1,13}$/.test(sizeHex)) throw new S3Error('InvalidRequest', 'Malformed aws-chunked chunk size.');
    const size = Number.parseInt(sizeHex, 16);
    let signature: string | undefined;
    for (const ext of parts.slice(1)) {
      const eq = ext.indexOf('=');
      if (eq > 0 && ext.slice(0, eq).trim() === 'chunk-signature') signature = ext.slice(eq + 1).trim();
    }
    if (this.#seed !== undefined) {
      if (signature === undefined) throw new S3Error('SignatureDoesNotMatch', 'aws-chunked chunk without chunk-signature in a signed streaming upload.');
      this.#chunkSignature = signature;
      this.#chunkHash = createHash('sha256');
    }
    if (size === 0) {
      this.#verifyChunk();
      this.#state = 'trailer';
    } else {
      this.#remaining = size;
      this.#state = 'data';
    }
  }

  #verifyChunk(): void {
    const seed = this.#seed;
    if (seed === undefined || this.#chunkHash === undefined) return;
    const digest = this.#chunkHash.digest('hex');
    this.#chunkHash = undefined;
    const toSign = chunkStringToSign(seed.amzDate, seed.scope, this.#previousSignature, digest);
    const expected = sign(seed.signingKey, toSign);
    if (!signaturesEqual(expected, this.#chunkSignature)) {
      throw new S3Error('SignatureDoesNotMatch', 'The chunk signature we calculated does not match the signature you provided.', {
        extra: { StringToSign: toSign, SignatureProvided: this.#chunkSignature },
      });
    }
    this.#previousSignature = expected;
  }

  #trailerLine(line: string): void {
    if (line === '') {
      this.#finish();
      return;
    }
    if (!this.#trailerExpected) throw new S3Error('MalformedTrailerError', 'Trailing headers were sent but none were declared (x-amz-trailer / x-amz-content-sha256).');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new S3Error('MalformedTrailerError');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (++this.#trailerLines > MAX_TRAILER_LINES) throw new S3Error('MalformedTrailerError', `More than ${MAX_TRAILER_LINES} trailing header lines.`);
    if (name === TRAILER_SIGNATURE ? this.#trailerSignature !== undefined : Object.hasOwn(this.#trailers, name)) {
      throw new S3Error('MalformedTrailerError', `The trailing header ${name} was sent twice.`);
    }
    if (name === TRAILER_SIGNATURE) {
      this.#trailerSignature = value;
    } else {
      this.#trailers[name] = value;
      this.#trailerOrder.push(name);
    }
  }

  #finish(): void {
    const seed = this.#seed;
    if (seed !== undefined && this.#trailerExpected) {
      const provided = this.#trailerSignature;
      if (provided === undefined) throw new S3Error('SignatureDoesNotMatch', 'Missing x-amz-trailer-signature in a signed trailer upload.');
      const canonical = this.#trailerOrder.map((n) => `${n}:${this.#trailers[n] ?? ''}\n`).join('');
      const toSign = trailerStringToSign(seed.amzDate, seed.scope, this.#previousSignature, canonical);
      const expected = sign(seed.signingKey, toSign);
      if (!signaturesEqual(expected, provided)) {
        throw new S3Error('SignatureDoesNotMatch', 'The trailer signature we calculated does not match the signature you provided.', {
          extra: { StringToSign: toSign, SignatureProvided: provided },
        });
      }
    }
    this.#state = 'done';
  }
}

/** Options of the client-side aws-chunked encoder. */
export interface AwsChunkedEncodeOptions {
  /** Decoded bytes per chunk (AWS minimum 8 KiB except the last); default 64 KiB. */
  readonly chunkSize?: number;
  /** Sign chunks (and the trailer) chained from this request signature. */
  readonly seed?: SigningSeed;
  /** Trailing headers to send after the final chunk (e.g. `x-amz-checksum-crc32`). */
  readonly trailers?: Readonly<Record<string, string>>;
}

/**
 * Encodes a whole body as aws-chunked (the client side: tests and the bench tool). With a
 * `seed` the chunks carry chained signatures; with `trailers` a trailer block follows.
 */
export function encodeAwsChunked(data: Uint8Array, options: AwsChunkedEncodeOptions = {}): Buffer {
  const chunkSize = options.chunkSize ?? 65_536;
  const seed = options.seed;
  const out: Buffer[] = [];
  let previous = seed?.signature ?? '';
  const header = (chunk: Uint8Array): string => {
    if (seed === undefined) return `${chunk.length.toString(16)}\r\n`;
    previous = sign(seed.signingKey, chunkStringToSign(seed.amzDate, seed.scope, previous, createHash('sha256').update(chunk).digest('hex')));
    return `${chunk.length.toString(16)};chunk-signature=${previous}\r\n`;
  };
  for (let off = 0; off < data.length; off += chunkSize) {
    const chunk = data.subarray(off, Math.min(off + chunkSize, data.length));
    out.push(Buffer.from(header(chunk)), Buffer.from(chunk), Buffer.from('\r\n'));
  }
  out.push(Buffer.from(header(new Uint8Array(0))));
  if (options.trailers !== undefined) {
    const canonical = Object.entries(options.trailers)
      .map(([n, v]) => `${n.toLowerCase()}:${v}\n`)
      .join('');
    out.push(Buffer.from(canonical.replaceAll('\n', '\r\n')));
    if (seed !== undefined) {
      const signature = sign(seed.signingKey, trailerStringToSign(seed.amzDate, seed.scope, previous, canonical));
      out.push(Buffer.from(`${TRAILER_SIGNATURE}:${signature}\r\n`));
    }
  }
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}
