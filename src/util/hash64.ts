/**
 * xxHash64 (seed 0) through xxhash-wasm, one instance per process. It lives in util/ because
 * ring/ (token and key positions) and store/ (the partition of a key, Merkle leaf digests) must
 * use the same hash and may not import each other. Only loading is async: the wasm module has to
 * be instantiated; hashing after that is synchronous.
 */
import xxhash from 'xxhash-wasm';

/** A 64-bit string hash: the same input gives the same unsigned 64-bit value on every node. */
export interface Hash64 {
  /** xxHash64 (seed 0) of the UTF-8 encoding of `input`, as an unsigned bigint in [0, 2^64). */
  h64(input: string): bigint;
}

// One wasm instance per process is enough: the hash has no state between calls.
let shared: Promise<Hash64> | undefined;

/** Instantiates (once per process) the xxHash64 hasher. */
export function loadHash64(): Promise<Hash64> {
  shared ??= xxhash().then((api) => {
    const h64 = api.h64;
    return { h64: (input: string) => h64(input) };
  });
  return shared;
}
