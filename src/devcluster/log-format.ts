/**
 * Compact rendering of a dev child's pino JSON lines: `[n1] info  node started s3=127.0.0.1:9000`.
 * Lines that are not pino JSON are shown as they are, behind the node prefix.
 */

const LEVELS: Readonly<Record<number, string>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

// Fields every line carries or that the prefix already shows.
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'node', 'nodeId', 'v']);

const MAX_FIELD = 160;

function fieldText(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  else if (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string') text = JSON.stringify((value as { message: string }).message);
  else text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_FIELD ? `${text.slice(0, MAX_FIELD - 3)}...` : text;
}

/** `[id] level msg key=value …` for a pino line, `[id] line` for anything else. */
export function formatLogLine(nodeId: string, line: string): string {
  const prefix = `[${nodeId}]`;
  if (!line.startsWith('{')) return `${prefix} ${line}`;
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return `${prefix} ${line}`;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return `${prefix} ${line}`;
  const fields = record as Record<string, unknown>;
  const levelValue = fields['level'];
  const level = typeof levelValue === 'number' ? (LEVELS[levelValue] ?? String(levelValue)) : typeof levelValue === 'string' ? levelValue : '?';
  const msg = typeof fields['msg'] === 'string' ? fields['msg'] : '';
  const extras = Object.entries(fields)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${fieldText(v)}`);
  return [prefix, level.padEnd(5), msg, ...extras].filter((part) => part !== '').join(' ');
}

/** The last `max` lines of a node's output, kept for reporting why it failed. */
export class LineTail {
  readonly #lines: string[] = [];
  readonly #max: number;

  constructor(max = 40) {
    this.#max = max;
  }

  /** Remembers one line, forgetting the oldest beyond `max`. */
  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#max) this.#lines.shift();
  }

  /** The last `n` lines remembered (all by default). */
  last(n = this.#max): string[] {
    return this.#lines.slice(-n);
  }
}
