/**
 * `ringstore repair`: starts a full anti-entropy pass now on one node (`--node X`) or on every
 * member, through each node's admin API (`POST /admin/v1/repair`). With `--wait` it polls
 * `GET /admin/v1/repair` and keeps one progress line current (partitions compared of the total,
 * keys and bytes repaired, rate, ETA) until every pass has ended. Exit 0 when every pass was
 * started (and, with --wait, ended with every peer compared and every copy made), 1 when some
 * node could not be asked or its pass skipped peers or failed copies, 2 on bad usage or when the
 * first node cannot be asked at all.
 */
import type { AntiEntropyProgress, RepairStatus } from '../../admin/repair-route.js';
import type { NodeStatus } from '../../admin/status-route.js';
import { describeError } from '../../util/errors.js';
import { ADMIN_OPTIONS, adminCall, resolveAdminTarget, type AdminTarget } from '../admin-client.js';
import { EXIT, err, intOption, out, parseCommandArgs, type Command } from '../command.js';

/** One node's repair as the command tracks it. */
export interface NodeRepair {
  readonly node: string;
  readonly address: string;
  /** The pass serving the request has ended when `progress.passes` reaches this. */
  untilPass?: number;
  progress?: AntiEntropyProgress;
  error?: string;
  done: boolean;
}

/** Totals over the nodes, for the progress line. */
export interface RepairTotals {
  readonly nodes: number;
  readonly done: number;
  readonly failed: number;
  readonly partitionsCompared: number;
  readonly partitionsTotal: number;
  readonly keysRepaired: number;
  readonly bytesRepaired: number;
  readonly bytesPerSecond: number;
  readonly partitionsPerSecond: number;
  /** The longest ETA of the passes still running. */
  readonly etaMs?: number;
  readonly peersSkipped: number;
  readonly repairFailures: number;
}

/** Sums the nodes' progress. */
export function repairTotals(repairs: readonly NodeRepair[]): RepairTotals {
  let etaMs: number | undefined;
  const sum = (f: (p: AntiEntropyProgress) => number): number => repairs.reduce((n, r) => n + (r.progress ? f(r.progress) : 0), 0);
  for (const r of repairs) if (!r.done && r.progress?.etaMs !== undefined) etaMs = Math.max(etaMs ?? 0, r.progress.etaMs);
  return {
    nodes: repairs.length,
    done: repairs.filter((r) => r.done).length,
    failed: repairs.filter((r) => r.error !== undefined).length,
    partitionsCompared: sum((p) => p.partitionsCompared),
    partitionsTotal: sum((p) => p.partitionsTotal),
    keysRepaired: sum((p) => p.keysRepaired),
    bytesRepaired: sum((p) => p.bytesRepaired),
    bytesPerSecond: sum((p) => (p.running ? p.bytesPerSecond : 0)),
    partitionsPerSecond: sum((p) => (p.running ? p.partitionsPerSecond : 0)),
    peersSkipped: sum((p) => p.peersSkipped),
    repairFailures: sum((p) => p.repairFailures),
    ...(etaMs === undefined ? {} : { etaMs }),
  };
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

function duration(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The progress line: `2/3 nodes done  partitions 131072/196608 (66.7%)  keys 812  bytes 812.0 MiB  152.3 MiB/s  ETA 4s`. */
export function formatRepairLine(t: RepairTotals): string {
  const pct = t.partitionsTotal > 0 ? ((100 * t.partitionsCompared) / t.partitionsTotal).toFixed(1) : '0.0';
  const parts = [
    `${t.done}/${t.nodes} nodes done`,
    `partitions ${t.partitionsCompared}/${t.partitionsTotal} (${pct}%)`,
    `keys ${t.keysRepaired}`,
    `bytes ${size(t.bytesRepaired)}`,
    `${size(t.bytesPerSecond)}/s`,
    `${Math.round(t.partitionsPerSecond)} partitions/s`,
    `ETA ${t.done === t.nodes ? '0s' : t.etaMs === undefined ? '?' : duration(t.etaMs)}`,
  ];
  if (t.failed > 0) parts.push(`${t.failed} unreachable`);
  if (t.peersSkipped > 0) parts.push(`${t.peersSkipped} peers skipped`);
  if (t.repairFailures > 0) parts.push(`${t.repairFailures} copies failed`);
  return parts.join('  ');
}

/** The `repair` command. */
export const repairCommand: Command = {
  name: 'repair',
  summary: 'run a full anti-entropy pass now (compare replicas, copy what differs), optionally waiting for it',
  usage: 'repair [--node ID] [--wait] [--json] [--admin URL]',
  examples: [
    'ringstore repair --wait              # every node, in the project directory of `npm start`',
    'ringstore repair --node n2 --wait',
    'RINGSTORE_ADMIN_TOKEN=… ringstore repair --admin http://10.0.0.5:9100 --json',
  ],
  options: [
    ...ADMIN_OPTIONS,
    { name: 'node', type: 'string', valueName: 'ID', description: 'Repair on this member only (default: every member).' },
    { name: 'wait', type: 'boolean', short: 'w', description: 'Wait until every pass has ended, printing progress.' },
    { name: 'interval', type: 'string', valueName: 'MS', description: 'Milliseconds between progress polls with --wait (default 1000).' },
    { name: 'timeout', type: 'string', valueName: 'MS', description: 'Give up on one admin call after this many milliseconds (default 5000).' },
  ],
  async run(argv) {
    const parsed = parseCommandArgs(repairCommand, argv);
    if ('exit' in parsed) return parsed.exit;
    const { values } = parsed;
    const intervalMs = intOption(repairCommand, 'interval', values['interval'], 1000, 50, 3_600_000);
    const timeoutMs = intOption(repairCommand, 'timeout', values['timeout'], 5000, 10, 600_000);
    if (intervalMs === undefined || timeoutMs === undefined) return EXIT.error;
    const json = values['json'] === true;
    let target: AdminTarget;
    let first: NodeStatus;
    try {
      target = await resolveAdminTarget(typeof values['admin'] === 'string' ? values['admin'] : undefined);
      first = await adminCall<NodeStatus>(target, 'GET', '/status', undefined, timeoutMs);
    } catch (error) {
      err(`ringstore repair: ${describeError(error).replace(/^InvalidArgument: /, '')}`);
      return EXIT.error;
    }
    const only = typeof values['node'] === 'string' ? values['node'] : undefined;
    const members = first.layout.members.filter((m) => only === undefined || m.id === only);
    if (members.length === 0) {
      err(`ringstore repair: no member ${String(only)} in layout version ${first.layout.version} (members: ${first.layout.members.map((m) => m.id).join(', ')})`);
      return EXIT.error;
    }
    const call = <T>(r: NodeRepair, method: 'GET' | 'POST', body?: unknown): Promise<T> =>
      adminCall<T>(r.node === first.node ? target : { url: `http://${r.address}`, token: target.token }, method, '/repair', body, timeoutMs);
    const repairs: NodeRepair[] = members.map((m) => ({ node: m.id, address: m.address, done: false }));
    await Promise.all(
      repairs.map(async (r) => {
        try {
          const answer = await call<RepairStatus>(r, 'POST', {});
          if (answer.untilPass !== undefined) r.untilPass = answer.untilPass;
          r.progress = answer.progress;
        } catch (error) {
          r.error = describeError(error);
          r.done = true;
        }
      }),
    );
    if (values['wait'] === true) {
      const tty = process.stderr.isTTY;
      let lastPrinted = 0;
      while (repairs.some((r) => !r.done)) {
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
        await Promise.all(
          repairs
            .filter((r) => !r.done)
            .map(async (r) => {
              try {
                const answer = await call<RepairStatus>(r, 'GET');
                r.progress = answer.progress;
                r.done = r.untilPass !== undefined && answer.progress.passes >= r.untilPass;
              } catch (error) {
                r.error = describeError(error);
                r.done = true;
              }
            }),
        );
        const line = formatRepairLine(repairTotals(repairs));
        if (json) continue;
        if (tty) process.stderr.write(`\r\x1b[K${line}`);
        else if (Date.now() - lastPrinted >= 5000) {
          err(line);
          lastPrinted = Date.now();
        }
      }
      if (tty && !json) process.stderr.write('\n');
    }
    const totals = repairTotals(repairs);
    if (json) out(JSON.stringify({ waited: values['wait'] === true, totals, nodes: repairs }, null, 2));
    else {
      for (const r of repairs) {
        if (r.error !== undefined) out(`${r.node}: ${r.error}`);
        else if (values['wait'] !== true) out(`${r.node}: full pass requested (it ends at pass #${String(r.untilPass)}; follow with "ringstore repair --node ${r.node} --wait" or "ringstore status")`);
      }
      if (values['wait'] === true) out(formatRepairLine(totals));
    }
    const clean = totals.failed === 0 && (values['wait'] !== true || (totals.peersSkipped === 0 && totals.repairFailures === 0));
    return clean ? EXIT.ok : EXIT.degraded;
  },
};
