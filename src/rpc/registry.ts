/**
 * The endpoints one node serves, with their handlers. Subsystems mount theirs here (each in a
 * file beside its code); the koa server (server.ts) and the in-memory transport (transport.ts)
 * both serve exactly what a registry holds, so there is one list of verbs per node.
 */
import { RingstoreError } from '../util/errors.js';
import type { Endpoint, EndpointHandler, EndpointRefusal } from './endpoint.js';

/** One mounted endpoint. */
export interface Mounted<Req, Res> {
  readonly endpoint: Endpoint<Req, Res>;
  readonly handler: EndpointHandler<Req, Res>;
  /** Streamed requests: undoes an answer that will not be sent because the body's MAC failed. */
  readonly refuse?: EndpointRefusal<Res>;
}

/** Options of one mount. */
export interface MountOptions<Res> {
  readonly refuse?: EndpointRefusal<Res>;
}

/** Endpoints and their handlers, by path. */
export class EndpointRegistry {
  readonly #byPath = new Map<string, Mounted<unknown, unknown>>();

  /** Serves `endpoint` with `handler`. A path can be mounted once. */
  mount<Req, Res>(endpoint: Endpoint<Req, Res>, handler: EndpointHandler<Req, Res>, options: MountOptions<Res> = {}): this {
    if (this.#byPath.has(endpoint.path)) throw new RingstoreError('InvalidArgument', `rpc endpoint ${endpoint.path} is mounted twice`, { path: endpoint.path });
    const mounted: Mounted<Req, Res> = { endpoint, handler, ...(options.refuse === undefined ? {} : { refuse: options.refuse }) };
    this.#byPath.set(endpoint.path, mounted as unknown as Mounted<unknown, unknown>);
    return this;
  }

  /** The handler of `endpoint`; RpcProtocol (as for an unknown route over HTTP) when it is not mounted. */
  get<Req, Res>(endpoint: Endpoint<Req, Res>): Mounted<Req, Res> {
    const mounted = this.#byPath.get(endpoint.path);
    if (mounted?.endpoint !== endpoint) {
      throw new RingstoreError('RpcProtocol', `no route ${endpoint.method} ${endpoint.path}`, { path: endpoint.path });
    }
    return mounted as unknown as Mounted<Req, Res>;
  }

  /** Every mounted endpoint, in mount order. */
  all(): ReadonlyArray<Mounted<unknown, unknown>> {
    return [...this.#byPath.values()];
  }
}
