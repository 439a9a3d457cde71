/** npm start's root key: RINGSTORE_ACCESS_KEY / RINGSTORE_SECRET_KEY when both are set, the generated ones when neither is. */
import { describe, it, expect } from 'vitest';
import { generateDevCredentials, rootKeyFromEnv } from '../../../src/devcluster/credentials.js';

describe('rootKeyFromEnv', () => {
  const stored = generateDevCredentials();
  it('uses the generated keys when neither variable is set', () => {
    expect(rootKeyFromEnv({}, stored)).toEqual({ credentials: stored, source: 'generated' });
  });
  it('uses both variables when set, keeping the cluster secret and admin token', () => {
    const r = rootKeyFromEnv({ RINGSTORE_ACCESS_KEY: 'CIKEY', RINGSTORE_SECRET_KEY: 'ci-secret-0123456789' }, stored);
    expect(r).toEqual({ credentials: { ...stored, accessKey: 'CIKEY', secretKey: 'ci-secret-0123456789' }, source: 'environment' });
  });
  it.each([[{ RINGSTORE_ACCESS_KEY: 'ONLY' }], [{ RINGSTORE_SECRET_KEY: 'only-secret-0123456789' }], [{ RINGSTORE_ACCESS_KEY: 'a/b', RINGSTORE_SECRET_KEY: 'x' }]])('refuses %j', (env) => {
    expect(() => rootKeyFromEnv(env, stored)).toThrow(expect.objectContaining({ code: 'InvalidConfig' }));
  });
});
