import { randomBytes } from 'node:crypto';

/** Source of randomness, injected so that a simulation can be deterministic. */
export interface Random {
  /** A float in [0, 1). */
  float(): number;
  /** `n` random bytes as lowercase hex (ids for blobs, requests, uploads). */
  hex(bytes: number): string;
}

export const cryptoRandom: Random = {
  float: () => Math.random(),
  hex: (bytes) => randomBytes(bytes).toString('hex'),
};

/**
 * A deterministic `Random` from a 32-bit seed (mulberry32): the same seed gives the same
 * sequence, so a benchmark's key choices or a simulation's schedule can be replayed.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    float: () => next() / 2 ** 32,
    hex: (bytes) => Array.from({ length: bytes }, () => (next() & 0xff).toString(16).padStart(2, '0')).join(''),
  };
}
