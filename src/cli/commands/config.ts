/**
 * `ringstore config print`: the effective config (defaults < file < env < flags) as JSON with
 * secrets redacted, the Swift `swift-config` idea. Problems go to stderr (exit 2) after the JSON,
 * so a broken config can still be inspected.
 */
import { resolveConfig } from '../../config/load.js';
import { redactConfig } from '../../config/redact.js';
import { CONFIG_KEYS } from '../../config/schema.js';
import { checkConfig } from '../../config/validate.js';
import { formatValue, getPath, setPath } from '../../config/values.js';
import { describeError } from '../../util/errors.js';
import { EXIT, configFlags, configOptions, err, formatHelp, out, parseCommandArgs, type Command } from '../command.js';

/** The known keys of an unvalidated tree, in table order (unknown keys are reported, not shown). */
function ordered(tree: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of CONFIG_KEYS) {
    const value = getPath(tree, spec.path);
    if (value !== undefined) setPath(out, spec.path, value);
  }
  return out;
}

/** `config print`. */
export const configPrintCommand: Command = {
  name: 'config print',
  summary: 'print the effective config as JSON, secrets redacted',
  usage: 'config print [--config FILE] [--sources] [--<key.path> VALUE …]',
  examples: ['ringstore config print --config config/example.json', 'RINGSTORE_REPLICATION_FACTOR=2 ringstore config print -c cluster.json --sources'],
  options: [{ name: 'sources', type: 'boolean', description: 'Print one line per key with its value and where it came from, instead of JSON.' }, ...configOptions()],
  async run(argv) {
    const parsed = parseCommandArgs(configPrintCommand, argv);
    if ('exit' in parsed) return parsed.exit;
    const file = typeof parsed.values['config'] === 'string' ? parsed.values['config'] : undefined;
    let resolved;
    try {
      resolved = resolveConfig({ file, env: process.env, flags: configFlags(parsed.values) });
    } catch (error) {
      err(describeError(error));
      return EXIT.error;
    }
    const check = checkConfig(resolved.tree, resolved.sources, { skip: resolved.problemPaths });
    const shown = redactConfig(check.config ?? ordered(resolved.tree));
    if (parsed.values['sources'] === true) {
      for (const spec of CONFIG_KEYS) {
        const value = getPath(shown, spec.path);
        out(`${spec.path} = ${formatValue(value)}  (${resolved.sources[spec.path] ?? 'default'})`);
      }
    } else {
      out(JSON.stringify(shown, null, 2));
    }
    for (const warning of [...resolved.warnings, ...check.warnings]) err(`warning: ${warning}`);
    const problems = [...resolved.problems, ...check.problems];
    if (problems.length === 0) return EXIT.ok;
    err(`invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):`);
    for (const problem of problems) err(`  ${problem}`);
    return EXIT.error;
  },
};

const SUBCOMMANDS: readonly Command[] = [configPrintCommand];

/** The `config` command group. */
export const configCommand: Command = {
  name: 'config',
  summary: 'inspect the configuration (config print)',
  usage: 'config <print> [options]',
  examples: ['ringstore config print --config config/example.json'],
  options: [],
  async run(argv) {
    const [sub, ...rest] = argv;
    const command = SUBCOMMANDS.find((c) => c.name === `config ${sub ?? ''}`);
    if (command !== undefined) return command.run(rest);
    const help = `${formatHelp(configCommand)}\n\nCommands:\n${SUBCOMMANDS.map((c) => `  ${c.name.padEnd(14)}  ${c.summary}`).join('\n')}`;
    if (sub === '--help' || sub === '-h') {
      out(help);
      return EXIT.ok;
    }
    err(sub === undefined ? 'ringstore config: missing command' : `ringstore config: unknown command "${sub}"`);
    err(help);
    return EXIT.error;
  },
};
