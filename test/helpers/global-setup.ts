/**
 * Integration tests run the built CLI (`dist/cli/main.js`) as real processes, so build once
 * before they start. `npm ci` already builds (prepare); this keeps `vitest` alone correct too.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, [fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
