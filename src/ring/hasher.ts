/**
 * The 64-bit hash that places tokens and keys on the ring (xxHash64 via xxhash-wasm, loaded by
 * util/hash64.ts). It is passed into the ring rather than imported there, so the ring stays
 * synchronous and pure: only creating the hasher is async, because the wasm module has to be
 * instantiated.
 */
import { loadHash64, type Hash64 } from '../util/hash64.js';

/** A 64-bit string hash: the same input gives the same unsigned 64-bit value on every node. */
export type Hasher = Hash64;

/** Instantiates (once per process) the xxHash64 hasher every ring on every node uses. */
export function createHasher(): Promise<Hasher> {
  return loadHash64();
}
