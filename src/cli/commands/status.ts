/**
 * `ringstore status`: the cluster at a glance. Asks one node's admin API for its view (layout,
 * liveness), then every member for its own status in parallel, and prints one row per node plus
 * each node's background work (hints, anti-entropy, scrub: whatever sections it reports).
 * Exit 0 when every member answers and is up, 1 when some are down or unreachable, 2 when the
 * first node cannot be asked at all.
 */
import type { NodeStatus } from '../../admin/status-route.js';
import { describeError } from '../../util/errors.js';
import { ADMIN_OPTIONS, adminCall, resolveAdminTarget, type AdminTarget } from '../admin-client.js';
import { EXIT, err, intOption, out, parseCommandArgs, type Command } from '../command.js';
import { formatTable } from '../table.js';

/** One member as the status command reports it. */
export interface MemberRow {
  readonly id: string;
  readonly address: string;
  readonly zone: string;
  readonly capacity: number;
  /** As the first node sees it (up, suspect, down), or `unreachable` when it did not answer us. */
  readonly state: string;
  readonly share: number;
  readonly status?: NodeStatus;
  readonly error?: string;
}

/** Collects the cluster's status through `target`; throws when that node cannot be asked. */
export async function collectStatus(target: AdminTarget, timeoutMs: number): Promise<{ layoutVersion: number; via: string; members: MemberRow[] }> {
  const first = await adminCall<NodeStatus>(target, 'GET', '/status', undefined, timeoutMs);
  const members = await Promise.all(
    first.layout.members.map(async (m): Promise<MemberRow> => {
      const base = { id: m.id, address: m.address, zone: m.zone, capacity: m.capacity, share: m.share };
      if (m.id === first.node) return { ...base, state: m.liveness, status: first };
      try {
        const status = await adminCall<NodeStatus>({ url: `http://${m.address}`, token: target.token }, 'GET', '/status', undefined, timeoutMs);
        return { ...base, state: m.liveness, status };
      } catch (error) {
        return { ...base, state: 'unreachable', error: describeError(error) };
      }
    }),
  );
  return { layoutVersion: first.layout.version, via: first.node, members };
}

function describeSection(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  return Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => typeof v !== 'object' || v === null)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

/** The human-readable table. */
export function formatStatus(report: { layoutVersion: number; via: string; members: readonly MemberRow[] }): string {
  const rows = [['NODE', 'STATE', 'ZONE', 'CAPACITY', 'SHARE', 'ADDRESS', 'UPTIME']];
  for (const m of report.members) {
    const uptime = m.status ? `${Math.round(m.status.uptimeMs / 1000)}s` : '-';
    rows.push([m.id, m.state, m.zone, String(m.capacity), `${(m.share * 100).toFixed(1)}%`, m.address, uptime]);
  }
  const lines = [`layout version ${report.layoutVersion} (as seen by ${report.via})`, ...formatTable(rows)];
  for (const m of report.members) {
    if (m.error !== undefined) lines.push(`  ${m.id}: ${m.error}`);
    for (const [name, value] of Object.entries(m.status ?? {})) {
      if (['node', 's3', 'uptimeMs', 'layout'].includes(name)) continue;
      lines.push(`  ${m.id} ${name}: ${describeSection(value)}`);
    }
  }
  return lines.join('\n');
}

/** The `status` command. */
export const statusCommand: Command = {
  name: 'status',
  summary: 'show every node: state, zone, capacity, ring share, background work',
  usage: 'status [--json] [--watch] [--interval MS] [--admin URL]',
  examples: ['ringstore status                  # in the project directory of `npm start`', 'ringstore status --json', 'RINGSTORE_ADMIN_TOKEN=… ringstore status --admin http://10.0.0.5:9100'],
  options: [
    ...ADMIN_OPTIONS,
    { name: 'watch', type: 'boolean', short: 'w', description: 'Print again every --interval until interrupted.' },
    { name: 'interval', type: 'string', valueName: 'MS', description: 'Milliseconds between prints with --watch (default 2000).' },
    { name: 'timeout', type: 'string', valueName: 'MS', description: 'Give up on a node after this many milliseconds (default 2000).' },
  ],
  async run(argv) {
    const parsed = parseCommandArgs(statusCommand, argv);
    if ('exit' in parsed) return parsed.exit;
    const { values } = parsed;
    const intervalMs = intOption(statusCommand, 'interval', values['interval'], 2000, 100, 3_600_000);
    const timeoutMs = intOption(statusCommand, 'timeout', values['timeout'], 2000, 10, 600_000);
    if (intervalMs === undefined || timeoutMs === undefined) return EXIT.error;
    let target: AdminTarget;
    try {
      target = await resolveAdminTarget(typeof values['admin'] === 'string' ? values['admin'] : undefined);
    } catch (error) {
      err(`ringstore status: ${describeError(error).replace(/^InvalidArgument: /, '')}`);
      return EXIT.error;
    }
    for (;;) {
      let report: Awaited<ReturnType<typeof collectStatus>>;
      try {
        report = await collectStatus(target, timeoutMs);
      } catch (error) {
        err(`ringstore status: ${describeError(error)}`);
        return EXIT.error;
      }
      out(values['json'] === true ? JSON.stringify(report, null, 2) : formatStatus(report));
      const healthy = report.members.every((m) => m.state === 'up');
      if (values['watch'] !== true) return healthy ? EXIT.ok : EXIT.degraded;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      if (values['json'] !== true) out('');
    }
  },
};
