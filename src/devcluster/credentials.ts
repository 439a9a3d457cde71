/**
 * Credentials of the local dev cluster: generated once, kept in `<data>/dev-credentials.json`
 * (mode 0600) so a restarted dev cluster keeps the same keys and its data stays reachable.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RingstoreError } from '../util/errors.js';

/** The dev cluster's S3 root credentials and cluster secret. */
export interface DevCredentials {
  /** `RS` + 18 upper-case letters and digits, shaped like an AWS access key id. */
  readonly accessKey: string;
  /** 40 letters and digits, like an AWS secret key (without `/` and `+`, so it pastes into shells). */
  readonly secretKey: string;
  /** 32 hex characters. */
  readonly clusterSecret: string;
  /** 40 hex characters: the admin API's bearer token (`ringstore status`, `repair`, `scrub`). */
  readonly adminToken: string;
}

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomString(alphabet: string, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)]!;
  return s;
}

/** Fresh random credentials. */
export function generateDevCredentials(): DevCredentials {
  return {
    accessKey: `RS${randomString(UPPER_ALNUM, 18)}`,
    secretKey: randomString(ALNUM, 40),
    clusterSecret: randomBytes(16).toString('hex'),
    adminToken: randomBytes(20).toString('hex'),
  };
}

function isCredentials(value: unknown): value is Omit<DevCredentials, 'adminToken'> & { adminToken?: string } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['accessKey'] === 'string' &&
    /^[^\s/]{1,128}$/.test(v['accessKey']) &&
    typeof v['secretKey'] === 'string' &&
    /^\S{16,128}$/.test(v['secretKey']) &&
    typeof v['clusterSecret'] === 'string' &&
    v['clusterSecret'].length >= 16 &&
    (v['adminToken'] === undefined || (typeof v['adminToken'] === 'string' && /^[\x21-\x7e]{16,256}$/.test(v['adminToken'])))
  );
}

/**
 * Reads the credentials file, or creates it (mode 0600) with fresh credentials when there is
 * none. A file that exists but is not valid is an error, never silently replaced: the data in
 * the cluster was written under those keys.
 */
export async function loadOrCreateDevCredentials(file: string): Promise<{ credentials: DevCredentials; created: boolean }> {
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new RingstoreError('InvalidConfig', `cannot read dev credentials ${file}: ${(error as Error).message}`);
    }
  }
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!isCredentials(parsed)) {
      throw new RingstoreError('InvalidConfig', `dev credentials ${file} are not valid ({accessKey, secretKey and clusterSecret ≥ 16 characters}); fix or delete the file`);
    }
    if (parsed.adminToken === undefined) {
      // Written before the admin API existed: add a token, keep every other value.
      const credentials: DevCredentials = { accessKey: parsed.accessKey, secretKey: parsed.secretKey, clusterSecret: parsed.clusterSecret, adminToken: generateDevCredentials().adminToken };
      await writeFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
      await chmod(file, 0o600);
      return { credentials, created: false };
    }
    return { credentials: { accessKey: parsed.accessKey, secretKey: parsed.secretKey, clusterSecret: parsed.clusterSecret, adminToken: parsed.adminToken }, created: false };
  }
  const credentials = generateDevCredentials();
  await mkdir(dirname(file), { recursive: true });
  try {
    await writeFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another `ringstore dev` created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateDevCredentials(file);
    throw error;
  }
  // The umask may have narrowed the mode further, never widened it; set it exactly anyway.
  await chmod(file, 0o600);
  return { credentials, created: true };
}

/**
 * The dev cluster's root key: RINGSTORE_ACCESS_KEY / RINGSTORE_SECRET_KEY when both are set
 * (scripts and CI bring their own), else the generated ones of the credentials file. One of
 * the two alone is an error. `source` says which, for the banner.
 */
export function rootKeyFromEnv(env: NodeJS.ProcessEnv, stored: DevCredentials): { credentials: DevCredentials; source: 'environment' | 'generated' } {
  const accessKey = env['RINGSTORE_ACCESS_KEY'];
  const secretKey = env['RINGSTORE_SECRET_KEY'];
  if ((accessKey === undefined || accessKey === '') && (secretKey === undefined || secretKey === '')) return { credentials: stored, source: 'generated' };
  if (accessKey === undefined || accessKey === '' || secretKey === undefined || secretKey === '') {
    throw new RingstoreError('InvalidConfig', 'set both RINGSTORE_ACCESS_KEY and RINGSTORE_SECRET_KEY, or neither (then the dev cluster uses the keys it generated)');
  }
  if (!/^[^\s/]{1,128}$/.test(accessKey)) throw new RingstoreError('InvalidConfig', 'RINGSTORE_ACCESS_KEY must be 1 to 128 characters without spaces or "/"');
  if (!/^\S{1,128}$/.test(secretKey)) throw new RingstoreError('InvalidConfig', 'RINGSTORE_SECRET_KEY must be 1 to 128 characters without spaces');
  return { credentials: { ...stored, accessKey, secretKey }, source: 'environment' };
}
