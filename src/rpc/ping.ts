/**
 * The liveness ping, declared in one file with its handler, as every endpoint beyond the replica
 * verbs is: the failure detector asks it of each peer, and its answer carries the peer's clock
 * for the skew estimate (cluster/clock-skew.ts).
 */
import type { Clock } from '../util/clock.js';
import { RingstoreError } from '../util/errors.js';
import { defineEndpoint } from './endpoint.js';
import type { EndpointRegistry } from './registry.js';
import { asObject, int, parseJson, str } from './wire.js';

/** The answer to `GET /rpc/v1/ping`. */
export interface PingResult {
  readonly nodeId: string;
  /** The answering node's wall clock (ms), for skew diagnostics. */
  readonly time: number;
}

/** Validates a ping answer. */
export function parsePingResult(v: unknown): PingResult {
  const o = asObject(v, 'ping');
  return { nodeId: str(o, 'nodeId', 'ping'), time: int(o, 'time', 'ping') };
}

/** `GET /rpc/v1/ping` → JSON `{nodeId, time}`. */
export const pingEndpoint = defineEndpoint<void, PingResult>({
  name: 'ping',
  method: 'GET',
  path: '/rpc/v1/ping',
  pool: 'calls',
  request: { encode: () => ({}), decode: () => undefined },
  response: {
    encode: (answer) => ({ body: JSON.stringify({ nodeId: answer.nodeId, time: answer.time }), contentType: 'application/json' }),
    decode: (received) => parsePingResult(parseJson(received.body, 'ping')),
  },
});

/** Answers pings as node `nodeId` on `clock`. */
export function mountPing(registry: EndpointRegistry, nodeId: string, clock: Clock): EndpointRegistry {
  return registry.mount(pingEndpoint, () => ({ nodeId, time: clock.now() }));
}

/** A ping answer from `peerId`, or PeerUnavailable when another node answered at `address`. */
export function checkPingAnswer(answer: PingResult, peerId: string, address: string): PingResult {
  if (answer.nodeId !== peerId) {
    throw new RingstoreError('PeerUnavailable', `${address} is node ${answer.nodeId}, expected ${peerId}`, { peer: peerId, address, answered: answer.nodeId });
  }
  return answer;
}
