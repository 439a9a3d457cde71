#!/usr/bin/env node
/**
 * `npm run sim -- …`: loads the simulator's TypeScript through Vite (the transform vitest uses;
 * the repo has no other TS runner) and runs test/sim/cli.ts with the arguments.
 */
import { createServer } from 'vite';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const server = await createServer({ root, configFile: false, logLevel: 'error', server: { middlewareMode: true, hmr: false, watch: null }, appType: 'custom', optimizeDeps: { noDiscovery: true, include: [] } });
let code = 1;
try {
  const cli = await server.ssrLoadModule('/test/sim/cli.ts');
  code = await cli.main(process.argv.slice(2));
} finally {
  await server.close();
}
process.exit(code);
