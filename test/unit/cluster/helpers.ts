/** Shared builders for the cluster unit tests: a membership over a small layout and a logger that records. */
import { Membership } from '../../../src/cluster/membership.js';
import { createHasher } from '../../../src/ring/hasher.js';
import type { Layout, Member } from '../../../src/ring/layout.js';
import type { Logger } from '../../../src/util/logger.js';

/** A member n<i> at sim:<i> in zone z<i>, capacity 1, active, unless `fields` says otherwise. */
export function memberOf(id: string, fields: Partial<Member> = {}): Member {
  return { id, address: `sim:${id}`, zone: `z-${id}`, capacity: 1, state: 'active', ...fields };
}

/** A layout of the given ids. */
export function layoutOf(ids: readonly string[], version = 1): Layout {
  return { version, members: ids.map((id) => memberOf(id)) };
}

/** A membership as seen from `selfId`. */
export async function membershipOf(selfId: string, ids: readonly string[], version = 1): Promise<Membership> {
  return new Membership({ selfId, layout: layoutOf(ids, version), hasher: await createHasher(), vnodesPerUnit: 8 });
}

/** One logged line. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly obj: Record<string, unknown>;
  readonly msg: string | undefined;
}

/** A logger that keeps every line (children share the list). */
export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const make = (): Logger & { lines: LogLine[] } => ({
    lines,
    debug: (obj, msg) => lines.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }),
    info: (obj, msg) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
    child: () => make(),
  });
  return make();
}
