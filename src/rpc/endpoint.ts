/**
 * An RPC endpoint, declared once: its name, route, request and response codecs, which connection
 * pool carries it, and whether a stream rides on its request or its response. The koa server
 * (registry mounted by server.ts), the HTTP client (peer-link.ts) and the in-memory transport
 * (transport.ts) are generic over this one declaration, so a verb cannot mean one thing over
 * HTTP and another in the simulator. (The idea of Garage's `net/endpoint.rs`: a typed message
 * bound to a path, with its handler registered separately.)
 *
 * Codecs validate: `decode` throws RpcProtocol on anything unexpected, and `encode` copies only
 * the fields of the contract, so implementation-private fields never leak onto the wire.
 */
import type { Readable } from 'node:stream';

/** Which undici pool carries a call: small exchanges, or calls that hold a connection while a body streams. */
export type EndpointPool = 'calls' | 'streams';

/** A request as it travels. `stream` is set only for endpoints whose request streams. */
export interface WireRequest {
  /** Query parameters (undefined ones are left out), percent-encoded in the request target. */
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  /** A small body, covered by the request signature. */
  readonly body?: string | Buffer;
  /** A streamed body of unknown length, followed on the wire by its trailing MAC. */
  readonly stream?: AsyncIterable<Uint8Array>;
  readonly contentType?: string;
}

/** A request as the receiving side decodes it. */
export interface ReceivedRequest {
  readonly query: URLSearchParams;
  /** The small body, when the endpoint's request does not stream (empty when none was sent). */
  readonly body: Buffer;
  /** The streamed body (its MAC checked as it passes), when the endpoint's request streams. */
  readonly stream: AsyncIterable<Uint8Array> | undefined;
}

/** A response as it travels. `stream` is set only (and always) for endpoints whose response streams. */
export interface WireResponse {
  /** 200 unless given (204 for no content). */
  readonly status?: number;
  readonly body?: string | Buffer;
  readonly contentType?: string;
  /** Extra response headers (lower-case names). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The streamed body. */
  readonly stream?: Readable;
  /** Bytes `stream` will deliver, when known: announced to the caller and enforced by the sender. */
  readonly length?: number;
}

/** A response as the calling side decodes it. */
export interface ReceivedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The whole small body (empty for a streamed response). */
  readonly body: Buffer;
  /** The streamed body, checked against `length` (errors rather than ending short). */
  readonly stream: Readable | undefined;
  readonly length: number | undefined;
}

/** Encodes and validates a request. */
export interface RequestCodec<Req> {
  encode(request: Req): WireRequest;
  decode(received: ReceivedRequest): Req;
}

/** Encodes and validates a response; `decode` sees the request it answers and the answering peer's id. */
export interface ResponseCodec<Req, Res> {
  encode(response: Res): WireResponse;
  decode(received: ReceivedResponse, request: Req, peer: string): Res;
  /**
   * Streamed responses: the byte count the caller must receive, from the announced one and the
   * request (e.g. a ranged read knows its length). Throw RpcProtocol when they disagree.
   * The announced length by default.
   */
  expectedLength?(announced: number | undefined, request: Req, peer: string): number | undefined;
}

/** The declaration of one RPC verb. */
export interface Endpoint<Req, Res> {
  /** Short name, as in metrics (`ringstore_rpc_request_duration_seconds{method}`), errors and logs. */
  readonly name: string;
  readonly method: 'GET' | 'POST';
  /** Route, under `/rpc/` (so the RPC auth covers it). */
  readonly path: string;
  readonly pool: EndpointPool;
  /** Which side carries a stream, if any. */
  readonly stream: 'none' | 'request' | 'response';
  /** Largest request body the server reads (ignored for streamed requests). */
  readonly bodyLimit: number;
  readonly request: RequestCodec<Req>;
  readonly response: ResponseCodec<Req, Res>;
}

/** What `defineEndpoint` takes: an endpoint, with `stream` ('none') and `bodyLimit` (4 KiB) optional. */
export type EndpointSpec<Req, Res> = Omit<Endpoint<Req, Res>, 'stream' | 'bodyLimit'> & Partial<Pick<Endpoint<Req, Res>, 'stream' | 'bodyLimit'>>;

/** Default request body limit of an endpoint: small JSON. */
export const DEFAULT_BODY_LIMIT = 4096;

const NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;
const PATH_RE = /^\/rpc\/v\d+\/[a-z0-9/-]+$/;

/** Declares an endpoint, checking its name and path once, at module load. */
export function defineEndpoint<Req, Res>(spec: EndpointSpec<Req, Res>): Endpoint<Req, Res> {
  if (!NAME_RE.test(spec.name)) throw new TypeError(`rpc endpoint name ${JSON.stringify(spec.name)}: expected [a-z][a-z0-9-]*`);
  if (!PATH_RE.test(spec.path)) throw new TypeError(`rpc endpoint ${spec.name}: path ${JSON.stringify(spec.path)} must be /rpc/v<N>/…`);
  const stream = spec.stream ?? 'none';
  if (stream === 'response' && spec.pool !== 'streams') throw new TypeError(`rpc endpoint ${spec.name}: a streamed response needs the 'streams' pool`);
  if (stream === 'request' && spec.pool !== 'streams') throw new TypeError(`rpc endpoint ${spec.name}: a streamed request needs the 'streams' pool`);
  return Object.freeze({ ...spec, stream, bodyLimit: spec.bodyLimit ?? DEFAULT_BODY_LIMIT });
}

/** Who sent a request, as the handler sees it. */
export interface HandlerContext {
  /** Fires when the caller goes away (or, in memory, when the node goes down). */
  readonly signal: AbortSignal;
  /** The verified sender's node id ('' when the transport has none). */
  readonly caller: string;
}

/** Serves one endpoint. */
export type EndpointHandler<Req, Res> = (request: Req, context: HandlerContext) => Promise<Res> | Res;

/** Streamed requests: undoes a handler's result that will not be delivered (e.g. discards a stage whose MAC failed). */
export type EndpointRefusal<Res> = (response: Res, signal: AbortSignal) => Promise<void>;
