/**
 * The shape of a CLI command and the helpers every command shares: help text, argument parsing
 * with `node:util` parseArgs, output (data to stdout, messages to stderr) and exit codes.
 */
import { parseArgs } from 'node:util';
import { CONFIG_KEYS } from '../config/schema.js';
import { closest, formatMembers, formatSize } from '../config/values.js';

/** Process exit codes of every command (swift-ring-builder style). */
export const EXIT = {
  /** Success. */
  ok: 0,
  /** Worked, but something is degraded (a warning the caller may act on). */
  degraded: 1,
  /** Failed: bad usage, bad config, unreachable node. */
  error: 2,
} as const;

/** One option of a command. */
export interface CommandOption {
  /** Long name without dashes (`config`, `s3.listen`). */
  readonly name: string;
  readonly type: 'string' | 'boolean';
  /** One-letter alias. */
  readonly short?: string;
  /** Placeholder for the value in help (`FILE`, `N`). */
  readonly valueName?: string;
  readonly description: string;
  /** Help section heading; options without one are listed under "Options". */
  readonly group?: string;
}

/** A command declaration: everything `--help` shows, and what it does. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Usage line(s) without the leading `ringstore `. */
  readonly usage: string;
  readonly examples: readonly string[];
  readonly options: readonly CommandOption[];
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

/** Writes a line of data to stdout. */
export function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Writes a line of messages (progress, warnings, errors) to stderr. */
export function err(text: string): void {
  process.stderr.write(`${text}\n`);
}

const HELP_OPTION: CommandOption = { name: 'help', type: 'boolean', short: 'h', description: 'Show this help.' };

function optionLabel(option: CommandOption): string {
  const short = option.short !== undefined ? `-${option.short}, ` : '    ';
  const value = option.type === 'string' ? ` ${option.valueName ?? 'VALUE'}` : '';
  return `${short}--${option.name}${value}`;
}

/** The `--help` text of a command: summary, usage, options by group, examples. */
export function formatHelp(command: Command, prefix = 'ringstore'): string {
  const lines = [`${prefix} ${command.name} — ${command.summary}`, '', 'Usage:'];
  for (const usage of command.usage.split('\n')) lines.push(`  ${prefix} ${usage}`);
  const groups = new Map<string, CommandOption[]>();
  for (const option of [...command.options, HELP_OPTION]) {
    const group = option.group ?? 'Options';
    groups.set(group, [...(groups.get(group) ?? []), option]);
  }
  for (const [group, options] of groups) {
    lines.push('', `${group}:`);
    const width = Math.min(40, Math.max(...options.map((o) => optionLabel(o).length)));
    for (const option of options) {
      const label = optionLabel(option);
      lines.push(label.length > width ? `  ${label}\n  ${' '.repeat(width)}  ${option.description}` : `  ${label.padEnd(width)}  ${option.description}`);
    }
  }
  if (command.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const example of command.examples) lines.push(`  ${example}`);
  }
  return lines.join('\n');
}

function defaultText(path: string): string {
  const spec = CONFIG_KEYS.find((k) => k.path === path);
  if (spec === undefined) return '';
  if (spec.default === undefined) return spec.defaultText ?? '';
  if (spec.kind === 'size' && typeof spec.default === 'number') return formatSize(spec.default);
  if (Array.isArray(spec.default)) return spec.default.length === 0 ? '[]' : formatMembers(spec.default);
  return String(spec.default);
}

/**
 * `--config FILE` plus one `--<key.path> VALUE` option per config key, for commands that load
 * the config (`server`, `config print`).
 */
export function configOptions(): CommandOption[] {
  return [
    { name: 'config', type: 'string', short: 'c', valueName: 'FILE', description: 'JSON config file (default: $RINGSTORE_CONFIG).' },
    ...CONFIG_KEYS.map((spec): CommandOption => ({
      name: spec.path,
      type: 'string',
      valueName: spec.kind === 'members' ? 'LIST' : spec.kind === 'bool' ? 'BOOL' : spec.kind.toUpperCase(),
      group: 'Config keys (flags override RINGSTORE_* variables, which override the file; see docs/configuration.md)',
      description: `${spec.doc} [${spec.env}; default ${defaultText(spec.path)}]`,
    })),
  ];
}

/** The config-key flags among parsed values, by key path (for `loadConfig({ flags })`). */
export function configFlags(values: Readonly<Record<string, unknown>>): Record<string, string> {
  const flags: Record<string, string> = {};
  for (const spec of CONFIG_KEYS) {
    const value = values[spec.path];
    if (typeof value === 'string') flags[spec.path] = value;
  }
  return flags;
}

/** Parsed arguments of a command. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * Parses `argv` against the command's options. `--help` prints the help to stdout and ends the
 * command with exit 0; bad usage prints the problem to stderr and ends it with exit 2.
 */
export function parseCommandArgs(command: Command, argv: string[], options: { positionals?: boolean; prefix?: string } = {}): ParsedArgs | { exit: number } {
  const prefix = options.prefix ?? 'ringstore';
  const end = argv.indexOf('--');
  const head = end === -1 ? argv : argv.slice(0, end);
  if (head.includes('--help') || head.includes('-h')) {
    out(formatHelp(command, prefix));
    return { exit: EXIT.ok };
  }
  const spec: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const option of command.options) spec[option.name] = option.short !== undefined ? { type: option.type, short: option.short } : { type: option.type };
  try {
    const parsed = parseArgs({ args: argv, options: spec, allowPositionals: options.positionals ?? false, strict: true });
    return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
  } catch (error) {
    let message = (error as Error).message.split('. To specify')[0] ?? '';
    const unknown = /^Unknown option '--([^']+)'/.exec(message)?.[1];
    const guess =
      unknown !== undefined
        ? closest(
            unknown,
            command.options.map((o) => o.name),
          )
        : undefined;
    if (guess !== undefined) message += ` (did you mean --${guess}?)`;
    err(`${prefix} ${command.name}: ${message}`);
    err(`Run "${prefix} ${command.name} --help" for usage.`);
    return { exit: EXIT.error };
  }
}

/** Parses a whole number option within bounds; undefined (after printing why) when it is not one. */
export function intOption(command: Command, name: string, value: string | boolean | undefined, fallback: number, min: number, max: number): number | undefined {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (Number.isInteger(n) && n >= min && n <= max) return n;
  err(`ringstore ${command.name}: --${name} = ${String(value)}; expected an integer between ${min} and ${max}`);
  return undefined;
}
