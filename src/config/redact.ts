/**
 * Redaction of secrets for display (`ringstore config print`, startup logs).
 */
import { CONFIG_KEYS } from './schema.js';
import { getPath, isPlainObject, setPath, type ConfigTree } from './values.js';

/** What a redacted secret reads as. */
export const REDACTED = '[redacted]';

/**
 * A deep copy of `config` (a `Config` or an unvalidated tree of the same shape) with every
 * secret key that has a value replaced by "[redacted]". Unset and empty secrets are left as
 * they are, so a missing secret still shows as missing.
 */
export function redactConfig<T extends object>(config: T): T {
  const copy = structuredClone(config);
  if (!isPlainObject(copy)) return copy;
  for (const spec of CONFIG_KEYS) {
    if (!spec.secret) continue;
    const value = getPath(copy, spec.path);
    if (value !== undefined && value !== '') setPath(copy as ConfigTree, spec.path, REDACTED);
  }
  return copy;
}
