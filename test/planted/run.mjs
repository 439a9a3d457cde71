#!/usr/bin/env node
/**
 * Plants each one-line change of mutations.mjs in a fresh copy of the working tree, one at a time,
 * runs the tests named for it (or the whole suite with --full), and reports which tests failed.
 * Every planted change must make at least one test fail: a change nobody notices is a rule the
 * suite does not guard. `npm run test:planted [-- --full] [-- --only id,id]`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mutations } from './mutations.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const full = args.includes('--full');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? new Set(args[onlyAt + 1].split(',')) : undefined;
const selected = mutations.filter((m) => !only || only.has(m.id));
const untargeted = selected.filter((m) => m.tests.length === 0);
if (!full && untargeted.length > 0) throw new Error(`no tests named for ${untargeted.map((m) => m.id).join(', ')}: name them or use --full`);

/** A copy of the working tree (tracked and untracked, not ignored files) sharing node_modules. */
function copyTree() {
  const dir = mkdtempSync(join(tmpdir(), 'ringstore-planted-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) if (existsSync(join(root, file))) cpSync(join(root, file), join(dir, file), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function plant(dir, m) {
  const path = join(dir, m.file);
  const text = readFileSync(path, 'utf8');
  const at = text.indexOf(m.from);
  if (at < 0 || text.indexOf(m.from, at + 1) >= 0) throw new Error(`${m.id}: the text to replace must occur exactly once in ${m.file}`);
  writeFileSync(path, text.slice(0, at) + m.to + text.slice(at + m.from.length));
}

const rows = [];
for (const m of selected) {
  const dir = copyTree();
  try {
    plant(dir, m);
    const needsBuild = full || m.tests.some((t) => t.startsWith('test/integration/') || t.startsWith('test/fault/'));
    if (needsBuild) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
    const report = join(dir, 'planted-report.json');
    const started = Date.now();
    const run = spawnSync('npx', ['vitest', 'run', ...(full ? [] : m.tests), '--reporter=json', `--outputFile=${report}`], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
    const seconds = Math.round((Date.now() - started) / 1000);
    const failed = existsSync(report)
      ? JSON.parse(readFileSync(report, 'utf8')).testResults.flatMap((f) =>
          f.assertionResults.filter((a) => a.status === 'failed').map((a) => `${f.name.slice(dir.length + 1)} › ${a.fullName}`),
        )
      : [];
    const caught = run.status !== 0;
    rows.push({ id: m.id, rule: m.rule, caught, failed, seconds });
    console.log(`${caught ? 'CAUGHT  ' : 'MISSED  '} ${m.id} (${seconds} s): ${m.rule}`);
    for (const f of failed.slice(0, 5)) console.log(`           ${f}`);
    if (failed.length > 5) console.log(`           … and ${failed.length - 5} more`);
    if (caught && failed.length === 0) console.log(run.stderr.split('\n').slice(-15).join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const missed = rows.filter((r) => !r.caught);
console.log(`\n${rows.length - missed.length} of ${rows.length} planted changes caught${missed.length ? `; missed: ${missed.map((r) => r.id).join(', ')}` : ''}`);
process.exitCode = missed.length === 0 ? 0 : 1;
