/**
 * `ReplicaApi` as calls of the replica endpoints (replica-endpoints.ts) to one peer. The HTTP
 * client and the in-memory transport both hand out this facade over their own `call`, so a
 * coordinator gets the same answers (and the same errors) from either. Heads and commits can go
 * through per-peer `CallBatcher`s, so that the queries of one event-loop turn share one call.
 */
import type { Readable } from 'node:stream';
import type { ByteRange, CommitBody, CommitResult, HeadOptions, HeadResult, ListOptions, ObjectMeta, ObjectRecord, ReplicaApi, SideWrite, StagedBody } from '../store/types.js';
import type { Version } from '../util/clock.js';
import { CallBatcher } from './call-batcher.js';
import type { Endpoint } from './endpoint.js';
import {
  MAX_COMMIT_BATCH,
  MAX_HEAD_BATCH,
  MAX_INLINE_COMMIT_BYTES,
  commitsEndpoint,
  discardEndpoint,
  headsEndpoint,
  listEndpoint,
  readEndpoint,
  stageEndpoint,
  type CommitQuery,
  type HeadQuery,
} from './replica-endpoints.js';

/** Calls endpoints of one peer. */
export interface PeerCaller {
  /** The peer's node id. */
  readonly peer: string;
  /** The peer's address ("host:port"). */
  readonly address: string;
  request<Req, Res>(endpoint: Endpoint<Req, Res>, request: Req, signal?: AbortSignal): Promise<Res>;
}

/**
 * Head and commit calls open at once to one peer; more queries wait and go out together
 * (call-batcher.ts). Two keeps one exchange on the wire while the next batch forms.
 */
const HEAD_CALLS_PER_PEER = 2;
const COMMIT_CALLS_PER_PEER = 2;

/** The batched calls to one peer. */
export interface ReplicaBatchers {
  readonly heads: CallBatcher<HeadQuery, HeadResult | undefined>;
  readonly commits: CallBatcher<CommitQuery, CommitResult>;
}

/** Batchers of heads and commits to `peer`; keep one per peer, shared by its replicas. */
export function replicaBatchers(peer: PeerCaller): ReplicaBatchers {
  return {
    heads: new CallBatcher<HeadQuery, HeadResult | undefined>((queries) => peer.request(headsEndpoint, queries), { maxInFlight: HEAD_CALLS_PER_PEER, maxBatch: MAX_HEAD_BATCH }),
    commits: new CallBatcher<CommitQuery, CommitResult>((commits) => peer.request(commitsEndpoint, commits), {
      maxInFlight: COMMIT_CALLS_PER_PEER,
      maxBatch: MAX_COMMIT_BATCH,
      maxWeight: MAX_INLINE_COMMIT_BYTES,
      weight: (c) => (c.body.kind === 'inline' ? c.body.data.byteLength : 0),
    }),
  };
}

/** One query sent as a batch of one. */
async function single<Q, A>(peer: PeerCaller, endpoint: Endpoint<readonly Q[], ReadonlyArray<A | Error>>, query: Q, signal: AbortSignal | undefined): Promise<A> {
  const [answer] = await peer.request(endpoint, [query], signal);
  if (answer instanceof Error) throw answer;
  return answer as A;
}

/** A peer's `ReplicaApi` over endpoint calls. */
export class RemoteReplica implements ReplicaApi {
  readonly #peer: PeerCaller;
  readonly #batchers: ReplicaBatchers | undefined;

  /** Without `batchers`, every head and commit is a call of its own. */
  constructor(peer: PeerCaller, batchers?: ReplicaBatchers) {
    this.#peer = peer;
    this.#batchers = batchers;
  }

  /** The peer's node id. */
  get peerId(): string {
    return this.#peer.peer;
  }

  /** The peer's address ("host:port"). */
  get address(): string {
    return this.#peer.address;
  }

  stage(body: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<StagedBody> {
    return this.#peer.request(stageEndpoint, { body }, signal);
  }

  commit(meta: ObjectMeta, body: CommitBody, signal?: AbortSignal, sideWrites?: readonly SideWrite[]): Promise<CommitResult> {
    const query: CommitQuery = sideWrites === undefined || sideWrites.length === 0 ? { meta, body } : { meta, body, sideWrites };
    return this.#batchers === undefined ? single(this.#peer, commitsEndpoint, query, signal) : this.#batchers.commits.call(query, signal);
  }

  discard(id: string, signal?: AbortSignal): Promise<void> {
    return this.#peer.request(discardEndpoint, { id }, signal);
  }

  head(bucket: string, key: string, options: HeadOptions = {}, signal?: AbortSignal): Promise<HeadResult | undefined> {
    const query = options.inlineUpTo === undefined ? { bucket, key } : { bucket, key, inlineUpTo: options.inlineUpTo };
    return this.#batchers === undefined ? single(this.#peer, headsEndpoint, query, signal) : this.#batchers.heads.call(query, signal);
  }

  async read(bucket: string, key: string, version: Version, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    const answer = await this.#peer.request(readEndpoint, { bucket, key, version, ...(range === undefined ? {} : { range }) }, signal);
    return answer.body;
  }

  list(bucket: string, options: ListOptions, signal?: AbortSignal): Promise<ObjectRecord[]> {
    return this.#peer.request(listEndpoint, { bucket, options }, signal);
  }
}
