/**
 * The Merkle exchange on the wire: the two endpoints (summaries, entries) a peer's
 * `AntiEntropyWorker` calls, declared once with the binary codecs of codec.ts, their handlers
 * (the `MerkleResponder`), and the calling side, a `MerklePeer` over `ReplicaResolver.call`, so
 * the exchange runs the same over HTTP and over the in-memory transport.
 */
import type { Endpoint } from '../rpc/endpoint.js';
import { defineEndpoint } from '../rpc/endpoint.js';
import type { EndpointRegistry } from '../rpc/registry.js';
import type { ReplicaResolver } from '../rpc/transport.js';
import { entriesRequestCodec, entriesResponseCodec, summariesRequestCodec, summariesResponseCodec, type BinaryCodec } from './codec.js';
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

/** Serves the Merkle exchange of this node from `responder`. */
export function mountMerkle(registry: EndpointRegistry, responder: MerkleResponder): EndpointRegistry {
  return registry.mount(merkleSummariesEndpoint, (req) => responder.summaries(req)).mount(merkleEntriesEndpoint, (req) => responder.entries(req));
}

/** The `MerklePeer` of node `id` at `address`, over `resolver`'s generic call. */
export function remoteMerklePeer(resolver: Pick<ReplicaResolver, 'call'>, id: string, address: string): MerklePeer {
  return {
    id,
    summaries: (request, signal) => resolver.call(id, address, merkleSummariesEndpoint, request, signal),
    entries: (request, signal) => resolver.call(id, address, merkleEntriesEndpoint, request, signal),
  };
}
