import { describe, expect, it } from 'vitest';
import { configCommand, configPrintCommand } from '../../../src/cli/commands/config.js';
import { COMMANDS } from '../../../src/cli/commands/index.js';
import { runCli } from '../../../src/cli/run.js';
import { CONFIG_KEYS } from '../../../src/config/schema.js';
import { capture } from './capture.js';

describe('ringstore --help', () => {
  it('lists every command with its summary on stdout, exit 0', async () => {
    const { result, stdout, stderr } = await capture(() => runCli(['--help']));
    expect(result).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('Usage:');
    for (const command of COMMANDS) expect(stdout).toContain(`  ${command.name.padEnd(6)}  ${command.summary}`);
  });

  it('prints help and exits 2 for an unknown or missing command, on stderr', async () => {
    const unknown = await capture(() => runCli(['frobnicate']));
    expect(unknown.result).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain('ringstore: unknown command "frobnicate"');
    expect(unknown.stderr).toContain('Commands:');
    const missing = await capture(() => runCli([]));
    expect(missing.result).toBe(2);
    expect(missing.stderr).toContain('ringstore: missing command');
  });

  it('prints the version', async () => {
    const { result, stdout } = await capture(() => runCli(['--version']));
    expect(result).toBe(0);
    expect(stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('"help <command>" is the command\'s --help', async () => {
    const { result, stdout } = await capture(() => runCli(['help', 'server']));
    expect(result).toBe(0);
    expect(stdout).toContain('ringstore server — ');
  });
});

describe.each(COMMANDS.map((c) => [c.name, c]))('ringstore %s --help', (name, command) => {
  it('prints summary, usage, options and examples to stdout, exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const { result, stdout, stderr } = await capture(() => command.run([flag]));
      expect(result).toBe(0);
      expect(stderr).toBe('');
      expect(stdout).toContain(`ringstore ${name} — ${command.summary}`);
      expect(stdout).toContain(`Usage:\n  ringstore ${command.usage.split('\n')[0]!}`);
      for (const option of command.options) expect(stdout).toContain(`--${option.name}`);
      expect(stdout).toContain('--help');
      if (command.examples.length > 0) expect(stdout).toContain(`Examples:\n  ${command.examples[0]!}`);
    }
  });

  it('is reachable through runCli', async () => {
    const { result, stdout } = await capture(() => runCli([name, '--help']));
    expect(result).toBe(0);
    expect(stdout).toContain(`ringstore ${name} — `);
  });
});

describe('command options', () => {
  it('server and config print accept every config key as a flag', async () => {
    const { stdout } = await capture(() => runCli(['server', '--help']));
    for (const spec of CONFIG_KEYS) expect(stdout).toContain(`--${spec.path} `);
    for (const spec of CONFIG_KEYS) expect(configPrintCommand.options.some((o) => o.name === spec.path)).toBe(true);
  });

  it('rejects an unknown option with exit 2 and a suggestion', async () => {
    const { result, stderr } = await capture(() => runCli(['server', '--s3.lisen', 'x']));
    expect(result).toBe(2);
    expect(stderr).toContain("ringstore server: Unknown option '--s3.lisen' (did you mean --s3.listen?)");
    expect(stderr).toContain('Run "ringstore server --help" for usage.');
  });

  it('config lists its subcommands in --help, and config print has its own help', async () => {
    const group = await capture(() => configCommand.run(['--help']));
    expect(group.result).toBe(0);
    expect(group.stdout).toContain('Commands:\n  config print');
    const print = await capture(() => runCli(['config', 'print', '--help']));
    expect(print.result).toBe(0);
    expect(print.stdout).toContain('ringstore config print — print the effective config as JSON, secrets redacted');
    const bad = await capture(() => runCli(['config', 'show']));
    expect(bad.result).toBe(2);
    expect(bad.stderr).toContain('ringstore config: unknown command "show"');
  });
});
