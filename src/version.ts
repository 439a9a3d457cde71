import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The package version, from package.json. */
export const VERSION: string = (require('../package.json') as { version: string }).version;

/** The git commit this build came from, when the build environment says (RINGSTORE_COMMIT). */
export const COMMIT: string = process.env['RINGSTORE_COMMIT'] ?? 'unknown';
