#!/usr/bin/env node
/**
 * The `ringstore` executable (package.json "bin"). Runs the CLI and exits with its code.
 */
import { runCli } from './run.js';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// A finished command must not be held open by a leftover handle (a keep-alive socket, a timer
// in a dependency); the unref'd timer fires only if something is still keeping the loop alive.
setTimeout(() => process.exit(code), 2000).unref();
