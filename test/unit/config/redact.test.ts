import { describe, expect, it } from 'vitest';
import { REDACTED, redactConfig } from '../../../src/config/redact.js';
import { validateConfig } from '../../../src/config/validate.js';
import { validTree } from './fixtures.js';

describe('redactConfig', () => {
  it('replaces every secret and keeps everything else', () => {
    const config = validateConfig(validTree());
    const redacted = redactConfig(config);
    expect(redacted.s3.secretKey).toBe(REDACTED);
    expect(redacted.rpc.secret).toBe(REDACTED);
    expect(redacted.s3.accessKey).toBe(config.s3.accessKey);
    expect({ ...redacted, s3: { ...redacted.s3, secretKey: 'x' }, rpc: { ...redacted.rpc, secret: 'x' } }).toEqual({
      ...config,
      s3: { ...config.s3, secretKey: 'x' },
      rpc: { ...config.rpc, secret: 'x' },
    });
    expect(JSON.stringify(redacted)).not.toContain(config.rpc.secret);
  });

  it('does not change its input', () => {
    const config = validateConfig(validTree());
    const secret = config.rpc.secret;
    redactConfig(config);
    expect(config.rpc.secret).toBe(secret);
  });

  it('leaves unset and empty secrets visible as such in an unvalidated tree', () => {
    const redacted = redactConfig({ s3: { secretKey: '' }, rpc: {} });
    expect(redacted).toEqual({ s3: { secretKey: '' }, rpc: {} });
  });
});
