/**
 * A Config for in-process tests: the built-in defaults with the given values laid over
 * them, so a test names only what it cares about and never drifts when a key is added.
 */
import { defaultTree } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { isPlainObject } from '../../src/config/values.js';

/** Recursively optional, for config overrides. */
export type ConfigOverrides = { [K in keyof Config]?: Config[K] extends readonly unknown[] ? Config[K] : Config[K] extends object ? Partial<Config[K]> : Config[K] };

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isPlainObject(v) && isPlainObject(out[k]) ? merge(out[k], v) : v;
  return out;
}

/**
 * Defaults < each of `layers` in turn. Not validated: in-process tests use transport addresses
 * (`sim:0`) a real node's config would refuse.
 */
export function testConfig(...layers: ConfigOverrides[]): Config {
  return layers.reduce<Record<string, unknown>>((tree, layer) => merge(tree, layer as Record<string, unknown>), defaultTree() as Record<string, unknown>) as unknown as Config;
}
