/**
 * `ringstore fsck --data DIR`: the offline check of one stopped node's store (store/fsck.ts).
 * Exit 0 when nothing is damaged (collectable leftovers do not count), 1 when something is,
 * 2 when the check could not run (no store there, or a node is running on it).
 */
import { checkStore, type FsckReport } from '../../node.js';
import { describeError } from '../../util/errors.js';
import { EXIT, err, out, parseCommandArgs, type Command } from '../command.js';

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value.toFixed(1)} ${units[i]!}`;
}

function countBy<T extends string>(items: readonly { kind: T }[]): string {
  const counts = new Map<T, number>();
  for (const item of items) counts.set(item.kind, (counts.get(item.kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${kind} ${n}`).join(', ');
}

/** The human-readable report: summary lines, then one line per problem and per leftover. */
export function formatReport(report: FsckReport): string[] {
  const { problems, leftovers } = report;
  const lines = [
    `fsck ${report.dir}: ${report.records} records (${report.tombstones} tombstones, ${report.multipart} multipart), ${report.blobs} blobs, ${bytes(report.bytesChecked)} checked`,
    problems.length === 0 ? 'problems: none' : `problems: ${problems.length} (${countBy(problems)})`,
    leftovers.length === 0 ? 'collectable: none' : `collectable: ${leftovers.length} files, ${bytes(leftovers.reduce((s, l) => s + l.size, 0))} (${countBy(leftovers)})`,
  ];
  for (const p of problems) {
    const where = p.bucket !== undefined ? ` ${p.bucket}/${p.key ?? ''}` : '';
    const blob = p.blobId !== undefined ? ` blob ${p.blobId}` : '';
    lines.push(`${p.kind}${where}${blob}: ${p.detail}${p.repaired === true ? ' [repaired]' : ''}`);
  }
  for (const l of leftovers) lines.push(`${l.kind} ${l.path} (${bytes(l.size)})${l.removed === true ? ' [removed]' : ''}`);
  return lines;
}

/** The `fsck` command. */
export const fsckCommand: Command = {
  name: 'fsck',
  summary: "check a stopped node's store offline: records, listing copies, blobs, checksums, leftovers",
  usage: 'fsck --data DIR [--json] [--repair]',
  examples: [
    'ringstore fsck --data /var/lib/ringstore          # exit 0 clean, 1 damage found, 2 could not check',
    'ringstore fsck --data ./data/n1 --json',
    'ringstore fsck --data ./data/n1 --repair          # rebuild listing copies, delete leftovers',
  ],
  options: [
    { name: 'data', type: 'string', short: 'd', valueName: 'DIR', description: "The node's data directory (its dataDir); the node must be stopped." },
    { name: 'json', type: 'boolean', description: 'Print the report as one JSON object.' },
    {
      name: 'repair',
      type: 'boolean',
      description: 'Rewrite listing copies from their records, drop stray ones, delete orphan blobs and temp files. Bad bodies are only reported (peers hold good copies).',
    },
  ],
  async run(argv) {
    const parsed = parseCommandArgs(fsckCommand, argv);
    if ('exit' in parsed) return parsed.exit;
    const dir = parsed.values['data'];
    if (typeof dir !== 'string' || dir === '') {
      err('ringstore fsck: --data DIR is required');
      err('Run "ringstore fsck --help" for usage.');
      return EXIT.error;
    }
    let report: FsckReport;
    try {
      report = await checkStore(dir, { repair: parsed.values['repair'] === true });
    } catch (error) {
      err(`ringstore fsck: ${error instanceof Error ? error.message : describeError(error)}`);
      return EXIT.error;
    }
    if (parsed.values['json'] === true) out(JSON.stringify(report));
    else for (const line of formatReport(report)) out(line);
    return report.problems.some((p) => p.repaired !== true) ? EXIT.degraded : EXIT.ok;
  },
};
