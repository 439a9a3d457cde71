/**
 * The Merkle exchange on the wire: the two endpoints (summaries, entries) a peer's
 * `AntiEntropyWorker` calls, and the nudge a node sends a peer it sees come back up ("pull from me
 * now": every node pulls what it lacks, so a returning node is asked rather than pushed to), declared once with the binary codecs of codec.ts, their handlers
 * (the `MerkleResponder`), and the calling side, a `MerklePeer` over `ReplicaResolver.call`, so
 * the exchange runs the same over HTTP and over the in-memory transport.
 */
import type { Endpoint } from '../rpc/endpoint.js';
import { defineEndpoint } from '../rpc/endpoint.js';
import type { EndpointRegistry } from '../rpc/registry.js';
import type { ReplicaResolver } from '../rpc/transport.js';
import { protocol } from '../rpc/wire.js';
import type { BinaryCodec } from '../util/binary-codec.js';
import { entriesRequestCodec, entriesResponseCodec, summariesRequestCodec, summariesResponseCodec } from './codec.js';
import type { MerkleResponder } from './responder.js';
import type { EntriesRequest, EntriesResponse, MerklePeer, SummariesRequest, SummariesResponse } from './types.js';

const BYTES_TYPE = 'application/octet-stream';

/** Largest request body of either endpoint: 1,024 tree nodes or partitions plus an id or a cursor. */
const MERKLE_BODY_LIMIT = 64 * 1024;

function declare<Req, Res>(name: string, path: string, request: BinaryCodec<Req>, response: BinaryCodec<Res>): Endpoint<Req, Res> {
  return defineEndpoint<Req, Res>({
    name,
    method: 'POST',
    path,
    pool: 'calls',
    bodyLimit: MERKLE_BODY_LIMIT,
    request: {
      encode: (req) => ({ body: Buffer.from(request.encode(req)), contentType: BYTES_TYPE }),
      decode: (received) => request.decode(received.body),
    },
    response: {
      encode: (res) => ({ body: Buffer.from(response.encode(res)), contentType: BYTES_TYPE }),
      decode: (received) => response.decode(received.body),
    },
  });
}

/** `POST /rpc/v1/merkle/summaries`: the 16 child summaries of each listed tree node, over the partitions shared with the caller. */
export const merkleSummariesEndpoint = declare<SummariesRequest, SummariesResponse>('merkle-summaries', '/rpc/v1/merkle/summaries', summariesRequestCodec, summariesResponseCodec);

/** `POST /rpc/v1/merkle/entries`: the entries (key, version, tombstone, storage, size) of the listed partitions, paged. */
export const merkleEntriesEndpoint = declare<EntriesRequest, EntriesResponse>('merkle-entries', '/rpc/v1/merkle/entries', entriesRequestCodec, entriesResponseCodec);

/** A nudge: the sender just saw this node come back up, and asks it to pull from the sender now. */
export interface NudgeRequest {
  readonly from: string;
}

/** `POST /rpc/v1/merkle/nudge` (body: the sender's node id) → 204. */
export const merkleNudgeEndpoint = defineEndpoint<NudgeRequest, void>({
  name: 'merkle-nudge',
  method: 'POST',
  path: '/rpc/v1/merkle/nudge',
  pool: 'calls',
  request: {
    encode: (req) => ({ body: req.from, contentType: 'text/plain' }),
    decode: (received) => {
      const from = received.body.toString('utf8');
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(from)) throw protocol('merkle nudge: expected a node id');
      return { from };
    },
  },
  response: {
    encode: () => ({ status: 204 }),
    decode: (received) => {
      if (received.status !== 204) throw protocol(`merkle nudge answer: expected 204, got ${received.status}`);
    },
  },
});

/**
 * Serves the Merkle exchange of this node from `responder`; `onNudge(peer)` is called when a peer
 * asks this node to pull from it (the anti-entropy worker's `exchangeWith`).
 */
export function mountMerkle(registry: EndpointRegistry, responder: MerkleResponder, onNudge: (peer: string) => void = () => {}): EndpointRegistry {
  return registry
    .mount(merkleSummariesEndpoint, (req) => responder.summaries(req))
    .mount(merkleEntriesEndpoint, (req) => responder.entries(req))
    .mount(merkleNudgeEndpoint, (req) => onNudge(req.from));
}

/** The `MerklePeer` of node `id` at `address`, over `resolver`'s generic call. */
export function remoteMerklePeer(resolver: Pick<ReplicaResolver, 'call'>, id: string, address: string): MerklePeer {
  return {
    id,
    summaries: (request, signal) => resolver.call(id, address, merkleSummariesEndpoint, request, signal),
    entries: (request, signal) => resolver.call(id, address, merkleEntriesEndpoint, request, signal),
  };
}
