/**
 * Every top-level command of the `ringstore` CLI, in the order `ringstore --help` lists them.
 * A new command is one module under commands/ and one line here.
 */
import type { Command } from '../command.js';
import { benchCommand } from './bench.js';
import { configCommand } from './config.js';
import { devCommand } from './dev.js';
import { fsckCommand } from './fsck.js';
import { healthCommand } from './health.js';
import { keyCommand } from './key.js';
import { scrubCommand } from './scrub.js';
import { repairCommand } from './repair.js';
import { serverCommand } from './server.js';
import { statusCommand } from './status.js';

/** The command table. */
export const COMMANDS: readonly Command[] = [serverCommand, devCommand, statusCommand, keyCommand, repairCommand, scrubCommand, configCommand, healthCommand, fsckCommand, benchCommand];
