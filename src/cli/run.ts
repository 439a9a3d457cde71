/**
 * The `ringstore` command line: finds the command named by the first argument and runs it.
 * Kept apart from main.ts so that tests can run the CLI in-process.
 */
import { VERSION } from '../version.js';
import { EXIT, err, out } from './command.js';
import { COMMANDS } from './commands/index.js';
import type { Command } from './command.js';

/** The top-level help: every command with its summary. */
export function mainHelp(commands: readonly Command[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `ringstore ${VERSION} — a Dynamo-style distributed object store with an S3 API`,
    '',
    'Usage:',
    '  ringstore <command> [options]',
    '  ringstore <command> --help',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -h, --help     Show this help.',
    '  -v, --version  Print the version.',
    '',
    'Exit codes: 0 ok, 1 degraded, 2 error. Data goes to stdout, messages to stderr.',
    'Configuration: docs/configuration.md; "ringstore config print" shows the effective config.',
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: string[], commands: readonly Command[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    if (topic !== undefined) return topic.run(['--help']);
    out(mainHelp(commands));
    return EXIT.ok;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    out(VERSION);
    return EXIT.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    err(name === undefined ? 'ringstore: missing command' : `ringstore: unknown command "${name}"`);
    err(mainHelp(commands));
    return EXIT.error;
  }
  return command.run(rest);
}
