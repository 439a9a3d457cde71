/**
 * What the server processes cost during the measured window, from /proc (Linux): CPU
 * (utime + stime of each process, all threads) and bytes written to storage (`write_bytes` of
 * /proc/PID/io), summed over the given processes and their descendants, or over processes
 * whose command line matches a pattern (as shared/bench/cpu-attrib.mjs does). Also the whole
 * machine's busy CPU, so that a noisy neighbour shows up. Elsewhere every figure is null.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';

// USER_HZ: clock ticks per second in /proc/PID/stat on Linux.
const HZ = 100;

/** Which processes count as "the server". */
export type ServerSelector = { readonly pids: readonly number[] } | { readonly match: RegExp };

interface ProcEntry {
  readonly ticks: number;
  /** Start time in ticks since boot: tells a reused PID apart. */
  readonly start: string;
  readonly writeBytes: number;
  readonly cancelledWriteBytes: number;
}

/** A snapshot of the selected processes and the machine. */
export interface ProcSnapshot {
  readonly at: number;
  readonly procs: ReadonlyMap<number, ProcEntry>;
  readonly machineBusy: number;
  readonly machineTotal: number;
}

/** Server and machine cost over a window. */
export interface ServerCost {
  readonly pids: readonly number[];
  /** Percent of one core (100 = one core busy all the window). */
  readonly cpu_pct: number;
  readonly cpu_s: number;
  readonly write_bytes: number;
  readonly cancelled_write_bytes: number;
  /** Busy CPU of the whole machine, percent of one core (max = cores × 100). */
  readonly machine_cpu_pct: number;
  readonly cores: number;
}

function readStat(pid: number): { ticks: number; start: string; ppid: number } | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = st.lastIndexOf(')');
    const f = st.slice(close + 2).split(' ');
    // Fields after "(comm)": state ppid … utime(11) stime(12) … starttime(19).
    return { ticks: Number(f[11]) + Number(f[12]), start: f[19] ?? '', ppid: Number(f[1]) };
  } catch {
    return undefined;
  }
}

function readIo(pid: number): { writeBytes: number; cancelledWriteBytes: number } {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const write = /^write_bytes:\s*(\d+)/m.exec(io);
    const cancelled = /^cancelled_write_bytes:\s*(\d+)/m.exec(io);
    return { writeBytes: Number(write?.[1] ?? 0), cancelledWriteBytes: Number(cancelled?.[1] ?? 0) };
  } catch {
    return { writeBytes: 0, cancelledWriteBytes: 0 };
  }
}

function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return [];
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** The selected processes now: the given PIDs and all their descendants, or every match. */
export function selectProcesses(selector: ServerSelector): number[] {
  const pids = allPids();
  if ('match' in selector) return pids.filter((pid) => pid !== process.pid && pid !== process.ppid && selector.match.test(cmdline(pid)));
  const children = new Map<number, number[]>();
  for (const pid of pids) {
    const st = readStat(pid);
    if (st === undefined) continue;
    const list = children.get(st.ppid);
    if (list === undefined) children.set(st.ppid, [pid]);
    else list.push(pid);
  }
  const out = new Set<number>();
  const stack = selector.pids.filter((pid) => pids.includes(pid));
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (out.has(pid)) continue;
    out.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return [...out].sort((a, b) => a - b);
}

function machine(): { busy: number; total: number } {
  try {
    const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = cpu;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** Reads CPU ticks and I/O counters of the selected processes and the machine. */
export function snapshot(selector: ServerSelector): ProcSnapshot {
  const procs = new Map<number, ProcEntry>();
  for (const pid of selectProcesses(selector)) {
    const st = readStat(pid);
    if (st === undefined) continue;
    procs.set(pid, { ticks: st.ticks, start: st.start, ...readIo(pid) });
  }
  const m = machine();
  return { at: performance.now(), procs, machineBusy: m.busy, machineTotal: m.total };
}

/**
 * The cost between two snapshots. A process present only at the end counts from zero; one gone
 * by the end is not counted (its last figures are unknown).
 */
export function costBetween(before: ProcSnapshot, after: ProcSnapshot): ServerCost {
  const seconds = Math.max(1e-3, (after.at - before.at) / 1000);
  let ticks = 0;
  let writeBytes = 0;
  let cancelled = 0;
  for (const [pid, end] of after.procs) {
    const start = before.procs.get(pid);
    const same = start !== undefined && start.start === end.start;
    ticks += end.ticks - (same ? start.ticks : 0);
    writeBytes += end.writeBytes - (same ? start.writeBytes : 0);
    cancelled += end.cancelledWriteBytes - (same ? start.cancelledWriteBytes : 0);
  }
  const cores = cpus().length;
  const dTotal = after.machineTotal - before.machineTotal;
  return {
    pids: [...after.procs.keys()],
    cpu_pct: Math.round((ticks / HZ / seconds) * 1000) / 10,
    cpu_s: ticks / HZ,
    write_bytes: writeBytes,
    cancelled_write_bytes: cancelled,
    machine_cpu_pct: dTotal > 0 ? Math.round(((after.machineBusy - before.machineBusy) / dTotal) * cores * 1000) / 10 : 0,
    cores,
  };
}
