/**
 * Small pure helpers shared by the loader and the validator: reading and writing dotted paths
 * in a config tree, turning environment/flag strings into typed values, sizes with units, the
 * compact members form, and how a value is shown in an error message.
 */
import type { ConfigKeySpec, MemberConfig } from './schema.js';

/** A config tree as read from a file or built by the loader, before validation. */
export type ConfigTree = Record<string, unknown>;

/** True for a plain JSON object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a dotted path, or undefined. */
export function getPath(tree: unknown, path: string): unknown {
  let node: unknown = tree;
  for (const part of path.split('.')) {
    if (!isPlainObject(node)) return undefined;
    node = node[part];
  }
  return node;
}

/** Sets the value at a dotted path, creating intermediate objects. */
export function setPath(tree: ConfigTree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (isPlainObject(next)) {
      node = next;
    } else {
      const created: ConfigTree = {};
      node[part] = created;
      node = created;
    }
  }
  node[parts[parts.length - 1]!] = value;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  ki: 1024,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1000 ** 4,
  tb: 1000 ** 4,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
};

/**
 * Parses a byte size: a whole number of bytes, or a number with a unit (`64KiB`, `5 GiB`,
 * `1.5MB`; binary units are powers of 1024, decimal ones powers of 1000). Undefined if malformed
 * or not a whole number of bytes.
 */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(m[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** A byte count in the largest binary unit that divides it: 5368709120 → "5 GiB". */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (i < units.length - 1 && value !== 0 && value % 1024 === 0) {
    value /= 1024;
    i++;
  }
  return `${value} ${units[i]!}`;
}

/** Parses true/false, yes/no, on/off, 1/0 (any case); undefined otherwise. */
export function parseBool(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(t)) return true;
  if (['false', 'no', 'off', '0'].includes(t)) return false;
  return undefined;
}

/**
 * Parses the members list as given in an environment variable or flag: either a JSON array of
 * `{id, address, zone, capacity}`, or the compact form `id@host:port/zone/capacity,…`
 * (e.g. `n1@10.0.0.1:9100/z1/1,n2@10.0.0.2:9100/z2/1`). Returns the parsed list (still to be
 * validated) or a description of what is malformed.
 */
export function parseMembers(text: string): { members: unknown[] } | { error: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      return Array.isArray(parsed) ? { members: parsed } : { error: 'not a JSON array' };
    } catch (err) {
      return { error: `invalid JSON (${(err as Error).message})` };
    }
  }
  const members: MemberConfig[] = [];
  for (const entry of trimmed
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    const m = /^([^@/\s]+)@([^/\s]+)\/([^/\s]+)\/([^/\s]+)$/.exec(entry);
    if (!m) return { error: `entry "${entry}" is not id@host:port/zone/capacity` };
    const capacity = Number(m[4]);
    if (!Number.isFinite(capacity)) return { error: `entry "${entry}" has a capacity that is not a number` };
    members.push({ id: m[1]!, address: m[2]!, zone: m[3]!, capacity });
  }
  return { members };
}

/** The compact members form `id@address/zone/capacity,…` (see `parseMembers`). */
export function formatMembers(members: readonly MemberConfig[]): string {
  return members.map((m) => `${m.id}@${m.address}/${m.zone}/${m.capacity}`).join(',');
}

/**
 * Converts a string from an environment variable or flag to the key's type where the string
 * is well-formed; a malformed string is returned unchanged so validation reports it with the
 * expected form. Members in a malformed form come back as `{ error }`.
 */
export function fromString(spec: ConfigKeySpec, text: string): { value: unknown } | { error: string } {
  switch (spec.kind) {
    case 'int':
      return { value: /^\s*[+-]?\d+\s*$/.test(text) ? Number(text) : text };
    case 'bool': {
      const b = parseBool(text);
      return { value: b ?? text };
    }
    case 'members': {
      const parsed = parseMembers(text);
      return 'members' in parsed ? { value: parsed.members } : parsed;
    }
    case 'size':
    case 'string':
    case 'hostport':
    case 'enum':
      return { value: text };
  }
}

/** How a value appears in an error message; secrets show only their length. */
export function formatValue(value: unknown, secret = false): string {
  if (value === undefined) return '(not set)';
  if (secret) return typeof value === 'string' ? `[redacted, ${value.length} characters]` : '[redacted]';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The candidate closest to `name` when it is close enough to be a likely typo. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}
