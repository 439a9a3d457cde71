/**
 * `ringstore scrub`: starts a full scrub pass now (every body re-read and checked; a corrupt copy
 * is replaced from a good replica) on one node (`--node X`) or on every member, through the admin
 * API. With `--wait` it prints a progress line per node every `--interval` until each pass ends.
 * Exit 0 when every pass started (and, with --wait, ended with no corruption left unfound), 1 when
 * a node could not be asked or a pass found corrupt copies, 2 on bad usage or no admin access.
 */
import type { NodeStatus } from '../../admin/status-route.js';
import type { ScrubAnswer, ScrubProgress } from '../../admin/scrub-route.js';
import { describeError } from '../../util/errors.js';
import { ADMIN_OPTIONS, adminCall, resolveAdminTarget, type AdminTarget } from '../admin-client.js';
import { EXIT, err, intOption, out, parseCommandArgs, type Command } from '../command.js';

const MiB = 1024 * 1024;

/** One progress line: partitions, objects and bytes checked, corruptions, rate, ETA. */
export function formatScrubProgress(node: string, p: ScrubProgress): string {
  const pct = ((p.partitionsDone / p.partitionsTotal) * 100).toFixed(1);
  const state = p.running ? 'running' : p.requested > 0 ? 'queued' : 'idle';
  const eta = p.etaMs === undefined ? '' : ` eta ${Math.round(p.etaMs / 1000)}s`;
  return `${node}: ${state} pass ${p.passes + (p.running ? 1 : 0)} ${pct}% partitions, ${p.objectsChecked} objects, ${(p.bytesChecked / MiB).toFixed(1)} MiB checked, ${p.corruptions} corrupt, ${(p.bytesPerSecond / MiB).toFixed(1)} MiB/s${eta}`;
}

/** The `scrub` command. */
export const scrubCommand: Command = {
  name: 'scrub',
  summary: 'start a scrub pass now: re-read every stored body, replace corrupt copies',
  usage: 'scrub [--node X] [--wait] [--json] [--admin URL]',
  examples: ['ringstore scrub --wait                # every node, until each pass ends', 'ringstore scrub --node n2 --json'],
  options: [
    ...ADMIN_OPTIONS,
    { name: 'node', type: 'string', valueName: 'ID', description: 'Only this member (default: every member).' },
    { name: 'wait', type: 'boolean', short: 'w', description: 'Print progress until the passes end.' },
    { name: 'interval', type: 'string', valueName: 'MS', description: 'Milliseconds between progress lines with --wait (default 2000).' },
  ],
  async run(argv) {
    const parsed = parseCommandArgs(scrubCommand, argv);
    if ('exit' in parsed) return parsed.exit;
    const { values } = parsed;
    const intervalMs = intOption(scrubCommand, 'interval', values['interval'], 2000, 100, 3_600_000);
    if (intervalMs === undefined) return EXIT.error;
    const json = values['json'] === true;
    let target: AdminTarget;
    let members: { id: string; address: string }[];
    try {
      target = await resolveAdminTarget(typeof values['admin'] === 'string' ? values['admin'] : undefined);
      const status = await adminCall<NodeStatus>(target, 'GET', '/status');
      members = status.layout.members.map((m) => ({ id: m.id, address: m.address }));
    } catch (error) {
      err(`ringstore scrub: ${describeError(error).replace(/^InvalidArgument: /, '')}`);
      return EXIT.error;
    }
    const only = typeof values['node'] === 'string' ? values['node'] : undefined;
    if (only !== undefined) {
      members = members.filter((m) => m.id === only);
      if (members.length === 0) {
        err(`ringstore scrub: no member ${only} in the layout`);
        return EXIT.error;
      }
    }
    const at = (m: { address: string }): AdminTarget => ({ url: `http://${m.address}`, token: target.token });
    // Start every pass first; a pass that was running when asked is followed by the one asked for.
    const started = await Promise.all(
      members.map(async (m) => {
        try {
          const answer = await adminCall<ScrubAnswer>(at(m), 'POST', '/scrub', {});
          return { ...m, progress: answer.progress, until: answer.progress.passes + (answer.progress.running ? 2 : 1) };
        } catch (error) {
          return { ...m, error: describeError(error) };
        }
      }),
    );
    let failed = started.some((s) => 'error' in s);
    for (const s of started) if ('error' in s) err(`ringstore scrub: ${s.id}: ${s.error}`);
    const running = started.filter((s): s is (typeof started)[number] & { progress: ScrubProgress; until: number } => !('error' in s));
    if (values['wait'] !== true) {
      if (json)
        out(
          JSON.stringify(
            running.map((s) => ({ node: s.id, progress: s.progress })),
            null,
            2,
          ),
        );
      else for (const s of running) out(formatScrubProgress(s.id, s.progress));
      return failed ? EXIT.degraded : EXIT.ok;
    }
    const finals: { node: string; progress: ScrubProgress }[] = [];
    let pending = running;
    while (pending.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      const next: typeof pending = [];
      for (const s of pending) {
        try {
          const { progress } = await adminCall<ScrubAnswer>(at(s), 'GET', '/scrub');
          if (!json) out(formatScrubProgress(s.id, progress));
          if (progress.passes >= s.until) finals.push({ node: s.id, progress });
          else next.push(s);
        } catch (error) {
          failed = true;
          err(`ringstore scrub: ${s.id}: ${describeError(error)}`);
        }
      }
      pending = next;
    }
    if (json) out(JSON.stringify(finals, null, 2));
    const corrupt = finals.some((f) => f.progress.corruptions > 0);
    return failed || corrupt ? EXIT.degraded : EXIT.ok;
  },
};
