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
