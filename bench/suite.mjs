#!/usr/bin/env node
// The side-by-side suite: ringstore (a local 3-node cluster started for the purpose) against
// OpenStack Swift (shared/peers/swift), test by test, alternating which goes first, all with
// `ringstore bench`; then ringstore's scaling with node count and concurrency; then the neutral
// client shared/bench/s3load.mjs against the same ringstore cluster. Writes a dated markdown
// report and the raw JSON under bench/results/ (or $OUT).
//
//   npm run build && node bench/suite.mjs            # full run, ~20-30 min on the 2-core box
//   DURATION=2 BIG_COUNT=2 LIST_KEYS=200 SCALE_NODES=3 SCALE_CONCURRENCY=1,16 node bench/suite.mjs   # smoke run
//   ONLY="PUT 4KiB,GET 4KiB,PUT 64MiB,GET 64MiB" SCALE_NODES= SCALE_CONCURRENCY= S3LOAD=0 node bench/suite.mjs   # hot-path rows only
//
// Every step is bounded (each bench has --max-time, the clusters are stopped by PID) and the
// suite stops by itself. Settings are environment variables; `node bench/suite.mjs --help` lists them.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(ROOT, 'dist/cli/main.js');
const env = process.env;
const num = (name, fallback) => (env[name] === undefined || env[name] === '' ? fallback : Number(env[name]));
const list = (name, fallback) => (env[name] ?? fallback).split(',').map((s) => s.trim()).filter(Boolean).map(Number);
const S = {
  DURATION: num('DURATION', 20),
  WARMUP: num('WARMUP', 5),
  // Before each run: wait (at most SETTLE_MAX s) until the machine's CPU over 2 s is below
  // SETTLE_PCT % of one core, so one system's background work (Swift's replicators right after
  // it starts, LevelDB compactions after a write test) does not land in the other's figures.
  SETTLE_PCT: num('SETTLE_PCT', 25),
  SETTLE_MAX: num('SETTLE_MAX', 60),
  BIG_COUNT: num('BIG_COUNT', 16),
  LIST_KEYS: num('LIST_KEYS', 10_000),
  MULTIPART: num('MULTIPART', 1),
  SCALE_DURATION: num('SCALE_DURATION', num('DURATION', 20)),
  SCALE_NODES: list('SCALE_NODES', '3,5,7'),
  SCALE_CONCURRENCY: list('SCALE_CONCURRENCY', '1,4,16,64'),
  S3LOAD: num('S3LOAD', 1),
  SWIFT: num('SWIFT', 1),
  SWIFT_DIR: env.SWIFT_DIR ?? '/work/shared/peers/swift',
  SWIFT_ROOT: env.SWIFT_ROOT ?? '/tmp/swift-peer',
  SWIFT_ENDPOINT: env.SWIFT_ENDPOINT ?? 'http://127.0.0.1:18080',
  SWIFT_KEY: env.SWIFT_KEY ?? 'test:tester',
  SWIFT_SECRET: env.SWIFT_SECRET ?? 'testing',
  S3LOAD_DIR: env.S3LOAD_DIR ?? '/work/shared/bench',
  MAX_TIME: num('MAX_TIME', 900),
  OUT: resolve(env.OUT ?? join(ROOT, 'bench/results')),
  // Comma-separated name prefixes of the side-by-side tests to run (e.g. "PUT 4KiB,GET 4KiB,PUT 64MiB,GET 64MiB"); empty runs them all.
  ONLY: env.ONLY ?? '',
};
if (process.argv.includes('--help')) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 12).join('\n').replace(/^\/\/ ?/gm, ''));
  console.log(`\nSettings (environment, current value):\n${Object.entries(S).map(([k, v]) => `  ${k}=${v}`).join('\n')}`);
  process.exit(0);
}
if (!existsSync(MAIN)) {
  console.error(`suite: ${MAIN} is missing; run "npm run build" first`);
  process.exit(2);
}

const log = (text) => process.stderr.write(`[suite ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
const started = new Date();
const stamp = started.toISOString().slice(0, 16).replace(/[-:T]/g, '').replace(/^(\d{8})/, '$1-');
const children = new Set();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    log(`${sig}: stopping the clusters this suite started`);
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    setTimeout(() => process.exit(130), 30_000).unref();
  });
}

// ---------- processes and /proc

function run(cmd, args, opts = {}) {
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      children.delete(child);
      done({ code, stdout, stderr });
    });
  });
}

/** `ringstore bench --serve`: a local cluster; resolves to its JSON line and a stop(). */
async function startCluster(nodes) {
  const child = spawn(process.execPath, [MAIN, 'bench', '--serve', '--nodes', String(nodes), '--max-time', String(4 * 3600)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let errText = '';
  child.stderr.on('data', (d) => (errText = (errText + d).slice(-4000)));
  const line = await new Promise((done) => {
    createInterface({ input: child.stdout }).once('line', done);
    child.once('close', () => done(undefined));
  });
  if (line === undefined) throw new Error(`the ${nodes}-node cluster did not start:\n${errText}`);
  const info = JSON.parse(line);
  const closed = new Promise((done) => child.once('close', done));
  return {
    ...info,
    async stop() {
      child.kill('SIGTERM');
      await closed;
      children.delete(child);
    },
  };
}

function swiftPids() {
  const dir = join(S.SWIFT_ROOT, 'run');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.pid')).map((f) => Number(readFileSync(join(dir, f), 'utf8').trim())).filter((p) => p > 0);
}

async function swiftUp() {
  try {
    const res = await fetch(`${S.SWIFT_ENDPOINT}/healthcheck`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

function ticksOf(pids) {
  // utime + stime of the given processes and all their descendants, and of the whole machine.
  const parent = new Map();
  const ticks = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(f[1]));
      ticks.set(Number(d), Number(f[11]) + Number(f[12]));
    } catch { /* exited */ }
  }
  const selected = new Set(pids.filter((p) => ticks.has(p)));
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) if (selected.has(ppid) && !selected.has(pid)) (selected.add(pid), (grew = true));
  }
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7];
  return { t: Date.now(), sel: [...selected].reduce((s, p) => s + (ticks.get(p) ?? 0), 0), busy, total: busy + cpu[3] + cpu[4] };
}

/** Idle CPU (% of one core) over `seconds` of each system and of the machine. */
async function idleProbe(systems, seconds = 5) {
  const before = Object.fromEntries(Object.entries(systems).map(([k, pids]) => [k, ticksOf(pids)]));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const out = {};
  for (const [k, pids] of Object.entries(systems)) {
    const a = before[k];
    const b = ticksOf(pids);
    out[k] = Math.round(((b.sel - a.sel) / 100 / ((b.t - a.t) / 1000)) * 100);
    out.machine = Math.round(((b.busy - a.busy) / (b.total - a.total)) * os.cpus().length * 100);
  }
  return out;
}

/**
 * Memory of each process, by PID, in MiB: peak resident set (VmHWM), and the resident set now
 * split into anonymous memory and file-backed pages (the node binary, LevelDB's mmapped tables:
 * page cache the kernel can take back). Exited processes are left out.
 */
function peakRss(pids) {
  const out = {};
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
      out[pid] = { peak: Math.round(kib('VmHWM') / 1024), anon: Math.round(kib('RssAnon') / 1024), file: Math.round(kib('RssFile') / 1024) };
    } catch { /* exited */ }
  }
  return out;
}

/**
 * The disk's sequential write ceiling today: 1 GiB with dd and one fdatasync, twice, in the
 * directory the clusters keep their data in. Virtual disks differ from day to day, and a
 * 3-replica PUT cannot go faster than a third of this.
 */
function diskProbe(dir) {
  const file = join(dir, `ringstore-suite-disk-probe-${process.pid}`);
  const rates = [];
  try {
    for (let i = 0; i < 2; i++) {
      const r = spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=1024', 'conv=fdatasync'], { encoding: 'utf8', timeout: 120_000 });
      const m = /copied, ([\d.]+) s/.exec(r.stderr ?? '');
      if (m) rates.push(Math.round(1024 / Number(m[1])));
    }
  } finally {
    rmSync(file, { force: true });
  }
  return rates.length === 0 ? null : { write_mib_s: rates, note: 'dd if=/dev/zero bs=1M count=1024 conv=fdatasync, twice' };
}

/** Waits until the machine is quiet (see SETTLE_PCT); returns the last 2 s reading (% of one core). */
async function settle() {
  const deadline = Date.now() + S.SETTLE_MAX * 1000;
  for (;;) {
    const a = ticksOf([]);
    await new Promise((r) => setTimeout(r, 2000));
    const b = ticksOf([]);
    const pct = Math.round(((b.busy - a.busy) / (b.total - a.total)) * os.cpus().length * 100);
    if (pct <= S.SETTLE_PCT || Date.now() >= deadline) return pct;
  }
}

// ---------- running benches

async function bench(target, name, args) {
  const quiet = await settle();
  const label = `${name} — ${target.name}`;
  const slug = `${name}-${target.name}`.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const argv = [MAIN, 'bench', '--endpoint', target.endpoint, '--access-key', target.key, '--secret', target.secret, '--server-pids', target.pids().join(','),
    '--json', '--quiet', '--label', label, '--max-time', String(S.MAX_TIME), '--out', join(RAW, slug), ...args];
  log(`${label} (machine ${quiet}% of a core before): ringstore bench ${args.join(' ')}`);
  const r = await run(process.execPath, argv);
  try {
    const result = JSON.parse(r.stdout);
    log(`  ${result.ops_per_s} ops/s, ${result.mib_per_s} MiB/s, p99 ${result.p99_ms} ms, errors ${result.errors}`);
    return result;
  } catch {
    log(`  FAILED (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    return { fatal: r.stderr.trim().split('\n').slice(-3).join(' / ') || `exit ${r.code}`, label };
  }
}

let s3loadDir;
function prepareS3load() {
  // shared/bench is read-only: copy the client to a temp dir and reuse this project's undici 7.
  s3loadDir = mkdtempSync(join(os.tmpdir(), 's3load-'));
  for (const f of ['s3load.mjs', 'sigv4.mjs', 'package.json']) copyFileSync(join(S.S3LOAD_DIR, f), join(s3loadDir, f));
  if (existsSync(join(ROOT, 'node_modules/undici'))) symlinkSync(join(ROOT, 'node_modules'), join(s3loadDir, 'node_modules'));
  else spawnSync('npm', ['install', '--no-audit', '--no-fund', '--silent'], { cwd: s3loadDir, stdio: 'inherit' });
}

async function s3load(target, name, args) {
  const quiet = await settle();
  log(`${name} — s3load (machine ${quiet}% of a core before): ${args.join(' ')}`);
  const r = await run(process.execPath, [join(s3loadDir, 's3load.mjs'), '--endpoint', target.endpoint, '--access-key', target.key, '--secret', target.secret, '--label', name, '--max-time', String(S.MAX_TIME), ...args]);
  try {
    const result = JSON.parse(r.stdout.trim().split('\n').pop());
    log(`  ${result.ops_per_s} ops/s, p99 ${result.p99_ms} ms, errors ${result.errors}`);
    return result;
  } catch {
    return { fatal: r.stderr.trim().slice(-300) || `exit ${r.code}` };
  }
}

// ---------- the suite

mkdirSync(S.OUT, { recursive: true });
const day = started.toISOString().slice(0, 10);
const base = existsSync(join(S.OUT, `${day}-suite.md`)) ? `${day}-${stamp.slice(9)}-suite` : `${day}-suite`;
const RAW = join(S.OUT, `${base}-raw`);
mkdirSync(RAW, { recursive: true });
const T = ['--duration', String(S.DURATION), '--warmup', String(S.WARMUP)];
const TESTS = [
  ['PUT 4KiB c=16', ['--op', 'put', '--size', '4KiB', '-c', '16', ...T]],
  ['GET 4KiB c=16', ['--op', 'get', '--size', '4KiB', '-c', '16', ...T]],
  ['PUT 1MiB c=8', ['--op', 'put', '--size', '1MiB', '-c', '8', ...T]],
  ['GET 1MiB c=8', ['--op', 'get', '--size', '1MiB', '-c', '8', ...T]],
  ['PUT 64MiB c=2', ['--op', 'put', '--size', '64MiB', '-c', '2', '--count', String(S.BIG_COUNT)]],
  ['GET 64MiB c=2', ['--op', 'get', '--size', '64MiB', '-c', '2', '--count', String(2 * S.BIG_COUNT)]],
  [`LIST ${S.LIST_KEYS} keys c=4`, ['--op', 'list', '--objects', String(S.LIST_KEYS), '--prefix', `suite-list/${S.LIST_KEYS}`, '-c', '4', '--populate-concurrency', '16', ...T]],
  ['MIXED 70/30 4KiB c=16', ['--op', 'mixed', '--read-ratio', '0.7', '--size', '4KiB', '--prefix', 'suite-mixed', '-c', '16', ...T]],
  ...(S.MULTIPART ? [['MULTIPART 64MiB c=2', ['--op', 'multipart', '--size', '64MiB', '--part-size', '8MiB', '-c', '2', '--count', String(Math.max(1, S.BIG_COUNT / 2)), '--prefix', 'suite-mpu']]] : []),
];
const only = S.ONLY.split(',').map((s) => s.trim()).filter(Boolean);
if (only.length > 0) TESTS.splice(0, TESTS.length, ...TESTS.filter(([name]) => only.some((prefix) => name.startsWith(prefix))));
const bucket = `suite-${stamp}`.toLowerCase();

const report = { started: started.toISOString(), settings: S, machine: {}, idle: null, tests: [], scale_nodes: [], scale_concurrency: [], s3load: [] };
report.machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, mem_gib: Math.round(os.totalmem() / 2 ** 30), kernel: os.release(), node: process.version };
log('disk probe: 2 × 1 GiB sequential write + fdatasync');
report.disk = diskProbe(os.tmpdir());
log(`disk: ${JSON.stringify(report.disk)}`);

let swiftStarted = false;
let main;
try {
  let swift;
  if (S.SWIFT) {
    if (!(await swiftUp())) {
      log('Swift is not running: setup.sh && start.sh (stopped again at the end)');
      for (const script of ['setup.sh', 'start.sh']) {
        const r = spawnSync(join(S.SWIFT_DIR, script), { stdio: ['ignore', 'inherit', 'inherit'] });
        if (r.status !== 0) throw new Error(`${script} failed`);
      }
      swiftStarted = true;
    }
    swift = { name: 'Swift', endpoint: S.SWIFT_ENDPOINT, key: S.SWIFT_KEY, secret: S.SWIFT_SECRET, pids: swiftPids };
  }
  log('starting the ringstore 3-node cluster');
  main = await startCluster(3);
  const ringstore = { name: 'ringstore', endpoint: main.endpoint, key: main.access_key, secret: main.secret_key, pids: () => main.pids };
  report.idle = await idleProbe({ ringstore: main.pids, ...(swift ? { swift: swiftPids() } : {}) });
  log(`idle CPU %: ${JSON.stringify(report.idle)}`);

  for (const [i, [name, args]] of TESTS.entries()) {
    const bArgs = ['--bucket', name.startsWith('LIST') ? 'suite-list' : bucket, ...args];
    const order = swift === undefined ? [ringstore] : i % 2 === 0 ? [ringstore, swift] : [swift, ringstore];
    const row = { name };
    for (const target of order) row[target.name === 'Swift' ? 'swift' : 'ringstore'] = await bench(target, name, bArgs);
    report.tests.push(row);
  }
  report.peak_rss = { ringstore: peakRss(main.pids), ...(swift ? { swift: peakRss(swiftPids()) } : {}) };

  for (const c of S.SCALE_CONCURRENCY) {
    const row = { concurrency: c };
    for (const op of ['put', 'get']) row[op] = await bench(ringstore, `scale c=${c} ${op.toUpperCase()} 4KiB`, ['--bucket', bucket, '--op', op, '--size', '4KiB', '--prefix', 'suite-scale-c', '-c', String(c), '--duration', String(S.SCALE_DURATION), '--warmup', String(S.WARMUP)]);
    report.scale_concurrency.push(row);
  }

  if (S.S3LOAD) {
    prepareS3load();
    const pairs = [['PUT 4KiB c=16', ['--op', 'put', '--size', '4KiB', '--concurrency', '16']], ['GET 4KiB c=16', ['--op', 'get', '--size', '4KiB', '--concurrency', '16']], ['PUT 1MiB c=8', ['--op', 'put', '--size', '1MiB', '--concurrency', '8']], ['GET 1MiB c=8', ['--op', 'get', '--size', '1MiB', '--concurrency', '8']]];
    for (const [name, args] of pairs) {
      const r = await s3load(ringstore, name, ['--bucket', bucket, ...args, '--duration', String(S.DURATION), '--warmup', String(S.WARMUP)]);
      report.s3load.push({ name, s3load: r, bench: report.tests.find((t) => t.name === name)?.ringstore ?? null });
    }
  }
  await main.stop();
  main = undefined;

  for (const n of S.SCALE_NODES) {
    log(`scale: starting a ${n}-node cluster`);
    const cluster = await startCluster(n);
    const target = { name: `ringstore ${n} nodes`, endpoint: cluster.endpoint, key: cluster.access_key, secret: cluster.secret_key, pids: () => cluster.pids };
    const row = { nodes: n };
    for (const op of ['put', 'get']) row[op] = await bench(target, `scale ${n} nodes ${op.toUpperCase()} 4KiB c=16`, ['--bucket', bucket, '--op', op, '--size', '4KiB', '-c', '16', '--duration', String(S.SCALE_DURATION), '--warmup', String(S.WARMUP)]);
    await cluster.stop();
    report.scale_nodes.push(row);
  }
} catch (error) {
  report.fatal = String(error?.message ?? error);
  log(`FATAL: ${report.fatal}`);
} finally {
  await main?.stop();
  if (swiftStarted) spawnSync(join(S.SWIFT_DIR, 'stop.sh'), { stdio: ['ignore', 'inherit', 'inherit'] });
}
report.finished = new Date().toISOString();
for (const t of report.tests) for (const r of [t.ringstore, t.swift]) if (r) delete r.timeline;
writeFileSync(join(S.OUT, `${base}.json`), `${JSON.stringify(report, null, 1)}\n`);
writeFileSync(join(S.OUT, `${base}.md`), markdown(report));
log(`report: ${join(S.OUT, `${base}.md`)} (raw JSON ${join(S.OUT, `${base}.json`)}, per-run result.json/report.txt/chart.svg under ${RAW})`);

// ---------- the report

function markdown(rep) {
  const f = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(d));
  const ok = (r) => r && !r.fatal;
  const ratio = (a, b) => (ok(a) && ok(b) && b.ops_per_s > 0 ? `**${(a.ops_per_s / b.ops_per_s).toFixed(2)}×**` : '–');
  const pair = (a, b, get, d = 1) => `${ok(a) ? f(get(a), d) : 'FAIL'} / ${b === undefined ? '–' : ok(b) ? f(get(b), d) : 'FAIL'}`;
  const errs = (r) => (!r ? '–' : r.fatal ? `FATAL: ${r.fatal.slice(0, 80)}` : String(r.errors + (r.warmup_errors ?? 0) + (r.populate?.errors ?? 0)));
  const verified = (r) => (!ok(r) ? '–' : r.get_ops > 0 ? `${r.verified}/${r.get_ops}` : r.post_verify ? `${r.post_verify.verified}/${r.post_verify.checked} read-back` : r.listed_keys > 0 ? `${r.listed_keys} listed` : '–');
  const L = [];
  L.push(`# ringstore vs OpenStack Swift — suite of ${rep.started.slice(0, 16).replace('T', ' ')} UTC`, '');
  L.push(`Machine: ${rep.machine.cpus} vCPU ${rep.machine.model ?? ''}, ${rep.machine.mem_gib} GiB RAM, kernel ${rep.machine.kernel}, Node ${rep.machine.node}. Client, servers and disk are shared by everything below.`);
  L.push(`Settings: DURATION=${S.DURATION} s (after WARMUP=${S.WARMUP} s), BIG_COUNT=${S.BIG_COUNT}, LIST_KEYS=${S.LIST_KEYS}, SCALE_DURATION=${S.SCALE_DURATION}. Client: \`ringstore bench\` (undici dispatch, SigV4 UNSIGNED-PAYLOAD, keep-alive connections = concurrency, every GET checked by size and content, byte for byte) for both systems.`);
  L.push(`ringstore: a fresh local 3-node cluster (\`ringstore bench --serve --nodes 3\`: N=3, R=W=2, default config). Swift: shared/peers/swift defaults (3 nodes, 3 replicas, proxy 2 workers), endpoint ${S.SWIFT_ENDPOINT}.`);
  if (rep.idle) L.push(`Idle CPU before the tests (5 s, % of one core): ${Object.entries(rep.idle).map(([k, v]) => `${k} ${v}%`).join(', ')}. Both systems stay up during the whole comparison, so each one's idle cost is noise in the other's runs.`);
  if (rep.disk) {
    const best = Math.max(...rep.disk.write_mib_s);
    L.push(`Disk today (${rep.disk.note}): ${rep.disk.write_mib_s.join(' and ')} MiB/s. With 3 replicas, each fsync'd, a PUT stream cannot store more than a third of the best: ${Math.round(best / 3)} MiB/s of payload, for either system.`);
  }
  if (rep.fatal) L.push('', `**The suite stopped early: ${rep.fatal}**`);
  L.push('', '## Side by side (ringstore / Swift)', '');
  L.push(`Before every run the suite waits (up to ${S.SETTLE_MAX} s) until the whole machine uses at most ${S.SETTLE_PCT}% of one core over 2 s, then warms up for ${S.WARMUP} s before measuring.`);
  L.push('Tests alternate which system goes first. Ratio = ringstore ops/s ÷ Swift ops/s (above 1: ringstore is faster). Server CPU is utime+stime of the server processes (ringstore nodes; Swift proxy, storage servers, memcached) over the measured window, per operation. Disk is `write_bytes` (/proc/PID/io) of those processes per payload byte PUT. "Other" is machine CPU used by neither the client nor the servers (kernel threads, neighbours): more than a few % means noise.', '');
  L.push('| test | ops/s | ratio | MiB/s | p50 ms | p99 ms | p99.9 ms | errors | verified | server CPU ms/op | disk bytes/byte | client CPU % | other CPU % |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|');
  for (const t of rep.tests) {
    const a = t.ringstore;
    const b = t.swift;
    L.push(`| ${t.name} | ${pair(a, b, (r) => r.ops_per_s)} | ${ratio(a, b)} | ${pair(a, b, (r) => r.mib_per_s)} | ${pair(a, b, (r) => r.p50_ms)} | ${pair(a, b, (r) => r.p99_ms)} | ${pair(a, b, (r) => r.p999_ms)} | ${errs(a)} / ${errs(b)} | ${verified(a)} / ${verified(b)} | ${pair(a, b, (r) => r.server?.cpu_ms_per_op, 2)} | ${pair(a, b, (r) => r.server?.write_bytes_per_byte_stored, 2)} | ${pair(a, b, (r) => r.client_cpu_pct, 0)} | ${pair(a, b, (r) => r.other_cpu_pct, 0)} |`);
  }
  L.push('', 'LIST: one operation is one ListObjectsV2 page of up to 1,000 keys, walking the whole prefix again and again; MiB/s is XML received. MULTIPART: one operation is a whole upload (create, 8 MiB parts in sequence, complete); each uploaded object is read back and checked afterwards.');
  if (rep.peak_rss) {
    const nodes = Object.values(rep.peak_rss.ringstore ?? {});
    const sw = Object.values(rep.peak_rss.swift ?? {}).map((m) => m.peak);
    L.push('', `Memory after the side-by-side tests. Peak RSS (VmHWM) of the ringstore nodes: ${nodes.map((m) => m.peak).join(' / ')} MiB; their RSS at the end: ${nodes.map((m) => `${m.anon} anonymous + ${m.file} file-backed`).join(' / ')} MiB (file-backed: the node binary and LevelDB's mmapped tables, page cache the kernel can reclaim)${sw.length > 0 ? `. Swift's ${sw.length} processes: largest peak ${Math.max(...sw)} MiB, together ${sw.reduce((x, y) => x + y, 0)} MiB` : ''}.`);
  }
  L.push('', '## Scale: node count (ringstore, 4 KiB, c=16, fresh cluster per size)', '');
  L.push('| nodes | PUT ops/s | PUT p50 / p99 ms | GET ops/s | GET p50 / p99 ms | server CPU ms/op PUT / GET | errors PUT / GET |');
  L.push('|---:|---:|---:|---:|---:|---:|---|');
  const lat = (r) => (ok(r) ? `${f(r.p50_ms)} / ${f(r.p99_ms)}` : '–');
  const rate = (r) => (ok(r) ? f(r.ops_per_s) : 'FAIL');
  const cpuOp = (r) => (ok(r) ? f(r.server?.cpu_ms_per_op, 2) : '–');
  for (const r of rep.scale_nodes) L.push(`| ${r.nodes} | ${rate(r.put)} | ${lat(r.put)} | ${rate(r.get)} | ${lat(r.get)} | ${cpuOp(r.put)} / ${cpuOp(r.get)} | ${errs(r.put)} / ${errs(r.get)} |`);
  L.push('', '## Scale: concurrency (ringstore, 3 nodes, 4 KiB)', '');
  L.push('| concurrency | PUT ops/s | PUT p50 / p99 ms | GET ops/s | GET p50 / p99 ms | errors PUT / GET |');
  L.push('|---:|---:|---:|---:|---:|---|');
  for (const r of rep.scale_concurrency) L.push(`| ${r.concurrency} | ${rate(r.put)} | ${lat(r.put)} | ${rate(r.get)} | ${lat(r.get)} | ${errs(r.put)} / ${errs(r.get)} |`);
  if (rep.s3load.length > 0) {
    L.push('', '## Neutral client: shared/bench/s3load.mjs vs ringstore bench (same ringstore cluster, same workload)', '');
    L.push('s3load ran after the side-by-side tests, against the same 3-node cluster and bucket (its own keys, `s3load/<size>/…`). Its GETs check the length only.', '');
    L.push('| test | ops/s s3load / bench | MiB/s s3load / bench | p50 ms s3load / bench | p99 ms s3load / bench | errors s3load / bench | client CPU % s3load / bench |');
    L.push('|---|---:|---:|---:|---:|---|---:|');
    for (const r of rep.s3load) L.push(`| ${r.name} | ${pair(r.s3load, r.bench, (x) => x.ops_per_s)} | ${pair(r.s3load, r.bench, (x) => x.mib_per_s)} | ${pair(r.s3load, r.bench, (x) => x.p50_ms)} | ${pair(r.s3load, r.bench, (x) => x.p99_ms)} | ${errs(r.s3load)} / ${errs(r.bench)} | ${pair(r.s3load, r.bench, (x) => x.client_cpu_pct, 0)} |`);
  }
  L.push('', `Raw results: \`${base}.json\`; per run \`result.json\`, \`report.txt\` and \`chart.svg\` (throughput and latency per second) under \`${base}-raw/\`. Finished ${rep.finished?.slice(0, 19).replace('T', ' ')} UTC.`, '');
  return L.join('\n');
}
