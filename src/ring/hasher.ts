/**
 * The 64-bit hash that places tokens and keys on the ring (xxHash64 via xxhash-wasm).
 * It is passed into the ring rather than imported there, so the ring stays synchronous and
 * pure: only creating the hasher is async, because the wasm module has to be instantiated.
 */
import xxhash from 'xxhash-wasm';

/** A 64-bit string hash: the same input gives the same unsigned 64-bit value on every node. */
export interface Hasher {
  /** xxHash64 (seed 0) of the UTF-8 encoding of `input`, as an unsigned bigint in [0, 2^64). */
  h64(input: string): bigint;
}

// One wasm instance per process is enough: the hash has no state between calls.
let shared: Promise<Hasher> | undefined;

/** Instantiates (once per process) the xxHash64 hasher every ring on every node uses. */
export function createHasher(): Promise<Hasher> {
  shared ??= xxhash().then((api) => {
    const h64 = api.h64;
    return { h64: (input: string) => h64(input) };
  });
  return shared;
}
