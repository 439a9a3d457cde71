/**
 * Debian's S3 command-line clients, configured for a test cluster: the AWS CLI v2 by environment
 * (no config files of the machine's user), s3cmd by a config file in the test's temp dir.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ACCESS_KEY, SECRET_KEY } from './cluster.js';

export const AWS = '/usr/bin/aws';
export const S3CMD = '/usr/bin/s3cmd';

const run = promisify(execFile);

/** A runner of `aws --endpoint-url <endpoint> …` that resolves to its stdout. */
export function awsCli(endpoint: () => string, dir: () => string, options: { timeoutMs?: number } = {}): (...args: string[]) => Promise<string> {
  return async (...args) => {
    const { stdout } = await run(AWS, ['--endpoint-url', endpoint(), ...args], {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY: SECRET_KEY,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_PAGER: '',
        AWS_CONFIG_FILE: join(dir(), 'none'),
        AWS_SHARED_CREDENTIALS_FILE: join(dir(), 'none'),
      },
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  };
}

/** Writes an s3cmd config for path-style plain-HTTP SigV4 against `host` (127.0.0.1:port). */
export async function writeS3cmdConfig(path: string, host: string, keys: { accessKey: string; secretKey: string } = { accessKey: ACCESS_KEY, secretKey: SECRET_KEY }): Promise<void> {
  await writeFile(
    path,
    [
      '[default]',
      `access_key = ${keys.accessKey}`,
      `secret_key = ${keys.secretKey}`,
      `host_base = ${host}`,
      `host_bucket = ${host}`,
      'use_https = False',
      'signature_v2 = False',
      'bucket_location = us-east-1',
      'check_ssl_certificate = False',
      '',
    ].join('\n'),
  );
}
