/**
 * A linearizability checker for histories of S3-style operations on registers (one per key),
 * in the style of Porcupine and Knossos: Wing & Gong's search, with Lowe's just-in-time
 * linearization and memoization of (set of ops linearized, register state), and
 * P-compositionality: each key is checked on its own (linearizability is local, Herlihy & Wing).
 *
 * An operation has a call time, a return time and what the client saw. An indeterminate one (a
 * timeout, a crash, a 503 that may have been applied: `unknown`) has no return: it may have
 * taken effect at any point after its call, or never. Operations that are known to have had no
 * effect and observed nothing (409 ConditionalRequestConflict, a refused 503) are left out.
 * Two operations are concurrent unless one returned strictly before the other was called.
 *
 * The search is bounded by a step budget; beyond it the answer is `unknown`, never a guess, so
 * keep histories small (tens of operations per key, a few concurrent at a time). A failure comes
 * with a counter-example shrunk to a minimal failing sub-history (ops removed one at a time as
 * long as the rest still fails and every value read is still written by someone).
 */

/** What a client asked of one key. `value` null is a delete (a tombstone). */
export type RegisterOp =
  | { readonly kind: 'read' }
  | { readonly kind: 'write'; readonly value: string | null }
  /** PUT with `If-None-Match: *`. */
  | { readonly kind: 'put-if-none-match'; readonly value: string }
  /** PUT (or DELETE, value null) with `If-Match: <etag>` (`*`: any existing object). */
  | { readonly kind: 'put-if-match'; readonly etag: string; readonly value: string | null };

/**
 * What the client saw. `ok` (a read's `value`: null when the key was absent), `precondition-failed`
 * (412), `no-such-key` (404 for If-Match on a missing key), `conflict` (409) and `failed` (a refusal
 * that applied nothing), `unknown` (may or may not have happened).
 */
export type OpResult = { readonly status: 'ok'; readonly value?: string | null } | { readonly status: 'precondition-failed' | 'no-such-key' | 'conflict' | 'failed' | 'unknown' };

/** One operation of a history. `ret` undefined: no answer (treated as `unknown`). */
export interface HistoryOp {
  readonly key: string;
  readonly client?: string;
  readonly call: number;
  readonly ret?: number | undefined;
  readonly op: RegisterOp;
  readonly result: OpResult;
}

/** Options of a check. */
export interface CheckOptions {
  /** Search steps allowed per key (default 200,000). */
  readonly budget?: number;
  /** The value every key starts with (default null: absent). */
  readonly initial?: string | null;
  /** The ETag of a value (default: the value itself). */
  readonly etagOf?: (value: string) => string;
}

/** The answer of a check. */
export type CheckResult =
  | { readonly ok: true; readonly steps: number }
  | { readonly ok: false; readonly key: string; readonly ops: readonly HistoryOp[]; readonly description: string; readonly steps: number }
  | { readonly ok: 'unknown'; readonly key: string; readonly reason: string; readonly steps: number };

type State = string | null;

interface Entry {
  readonly kind: 'call' | 'return';
  readonly id: number;
  readonly time: number;
  match?: Entry;
  prev?: Entry | undefined;
  next?: Entry | undefined;
}

/** Whether `op` with `result` can take effect on `state`, and the state after it. */
function step(state: State, op: RegisterOp, result: OpResult, etagOf: (v: string) => string): State | typeof REFUSED {
  const status = result.status === 'unknown' ? 'ok' : result.status;
  switch (op.kind) {
    case 'read':
      return status === 'ok' && (result.status === 'ok' ? (result.value ?? null) : null) === state ? state : REFUSED;
    case 'write':
      return status === 'ok' ? op.value : REFUSED;
    case 'put-if-none-match':
      if (status === 'ok') return state === null ? op.value : REFUSED;
      return status === 'precondition-failed' && state !== null ? state : REFUSED;
    case 'put-if-match': {
      const matches = state !== null && (op.etag === '*' || etagOf(state) === op.etag);
      if (status === 'ok') return matches ? op.value : REFUSED;
      if (status === 'no-such-key') return state === null ? state : REFUSED;
      return status === 'precondition-failed' && state !== null && !matches ? state : REFUSED;
    }
  }
}
const REFUSED = Symbol('refused');

/** Whether an op can be dropped: it had no effect and observed nothing. */
function irrelevant(h: HistoryOp): boolean {
  if (h.result.status === 'conflict' || h.result.status === 'failed') return true;
  return h.op.kind === 'read' && (h.result.status === 'unknown' || h.ret === undefined);
}

interface KeyCheck {
  readonly ok: boolean | 'unknown';
  readonly steps: number;
  /** The most ops linearized at once, and the state then (for the description). */
  readonly deepest: { readonly count: number; readonly state: State; readonly order: readonly number[] };
}

/** Checks one key's history (already filtered). */
function checkKey(ops: readonly HistoryOp[], options: Required<CheckOptions>): KeyCheck {
  const entries: Entry[] = [];
  ops.forEach((h, id) => {
    const call: Entry = { kind: 'call', id, time: h.call };
    const ret: Entry = { kind: 'return', id, time: h.result.status === 'unknown' || h.ret === undefined ? Infinity : h.ret };
    call.match = ret;
    entries.push(call, ret);
  });
  // By time; at equal times calls first, so touching operations count as concurrent.
  entries.sort((a, b) => a.time - b.time || (a.kind === b.kind ? 0 : a.kind === 'call' ? -1 : 1));
  const head: Entry = { kind: 'call', id: -1, time: -Infinity };
  let prev = head;
  for (const e of entries) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  const lift = (e: Entry): void => {
    for (const x of [e, e.match!]) {
      x.prev!.next = x.next;
      if (x.next) x.next.prev = x.prev;
    }
  };
  const unlift = (e: Entry): void => {
    for (const x of [e.match!, e]) {
      x.prev!.next = x;
      if (x.next) x.next.prev = x;
    }
  };

  let remaining = ops.filter((h) => h.result.status !== 'unknown' && h.ret !== undefined).length;
  const determinate = (id: number): boolean => ops[id]!.result.status !== 'unknown' && ops[id]!.ret !== undefined;
  const cache = new Set<string>();
  const stack: { entry: Entry; state: State }[] = [];
  let linearized = 0n;
  let state: State = options.initial;
  let steps = 0;
  let deepest = { count: 0, state, order: [] as number[] };
  let entry = head.next;
  while (remaining > 0) {
    if (++steps > options.budget) return { ok: 'unknown', steps, deepest };
    if (entry === undefined) throw new Error('linearizability: ran off the history (a bug in the checker)');
    if (entry.kind === 'call') {
      const h = ops[entry.id]!;
      const next = step(state, h.op, h.result, options.etagOf);
      if (next !== REFUSED) {
        const lin = linearized | (1n << BigInt(entry.id));
        const key = `${lin.toString(36)}|${next === null ? '' : `=${next}`}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ entry, state });
          state = next;
          linearized = lin;
          lift(entry);
          if (determinate(entry.id)) remaining--;
          if (stack.length > deepest.count) deepest = { count: stack.length, state, order: stack.map((s) => s.entry.id) };
          entry = head.next;
          continue;
        }
      }
      entry = entry.next;
    } else {
      // An op's return is reached before it could be linearized: undo the last choice.
      const top = stack.pop();
      if (top === undefined) return { ok: false, steps, deepest };
      state = top.state;
      linearized &= ~(1n << BigInt(top.entry.id));
      unlift(top.entry);
      if (determinate(top.entry.id)) remaining++;
      entry = top.entry.next;
    }
  }
  return { ok: true, steps, deepest };
}

function describeOp(h: HistoryOp): string {
  const when = `[${h.call}, ${h.ret === undefined || h.result.status === 'unknown' ? '∞' : h.ret}]`;
  const who = h.client === undefined ? '' : `${h.client} `;
  const op = h.op;
  const what =
    op.kind === 'read'
      ? 'read'
      : op.kind === 'write'
        ? op.value === null
          ? 'delete'
          : `write ${JSON.stringify(op.value)}`
        : op.kind === 'put-if-none-match'
          ? `put If-None-Match:* ${JSON.stringify(op.value)}`
          : `${op.value === null ? 'delete' : `put ${JSON.stringify(op.value)}`} If-Match:${op.etag}`;
  const r = h.result;
  const seen = r.status === 'ok' && op.kind === 'read' ? `→ ${r.value === null || r.value === undefined ? 'absent' : JSON.stringify(r.value)}` : `→ ${r.status}`;
  return `${when} ${who}${what} ${seen}`;
}

/** Whether every value read in `ops`, and every ETag an If-Match matched, is written by one of them (or is the initial value). */
function readsExplained(ops: readonly HistoryOp[], options: Required<CheckOptions>): boolean {
  const written = new Set<State>([options.initial, null]);
  const etags = new Set<string>();
  for (const h of ops) if (h.op.kind !== 'read') written.add(h.op.value);
  for (const v of written) if (v !== null) etags.add(options.etagOf(v));
  return ops.every((h) => {
    if (h.result.status !== 'ok') return true;
    if (h.op.kind === 'read') return written.has(h.result.value ?? null);
    return h.op.kind !== 'put-if-match' || h.op.etag === '*' || etags.has(h.op.etag);
  });
}

/** Shrinks a failing history to one where removing any further op makes it pass (or unexplained). */
function shrink(ops: readonly HistoryOp[], options: Required<CheckOptions>): HistoryOp[] {
  let current = [...ops];
  for (let i = current.length - 1; i >= 0; i--) {
    const without = current.filter((_, j) => j !== i);
    if (!readsExplained(without, options)) continue;
    if (checkKey(without, options).ok === false) current = without;
  }
  return current;
}

/** Checks a whole history, key by key. */
export function checkLinearizable(history: readonly HistoryOp[], options: CheckOptions = {}): CheckResult {
  const opts: Required<CheckOptions> = { budget: options.budget ?? 200_000, initial: options.initial ?? null, etagOf: options.etagOf ?? ((v) => v) };
  const byKey = new Map<string, HistoryOp[]>();
  for (const h of history) {
    if (h.ret !== undefined && h.ret < h.call) throw new Error(`linearizability: an op returns before its call (${describeOp(h)})`);
    if (irrelevant(h)) continue;
    const list = byKey.get(h.key) ?? [];
    list.push(h);
    byKey.set(h.key, list);
  }
  let steps = 0;
  for (const [key, ops] of byKey) {
    if (ops.length > 1000) return { ok: 'unknown', key, reason: `${ops.length} operations on one key: too many to check`, steps };
    const result = checkKey(ops, opts);
    steps += result.steps;
    if (result.ok === 'unknown') return { ok: 'unknown', key, reason: `step budget (${opts.budget}) exhausted`, steps };
    if (result.ok === false) {
      const minimal = shrink(ops, opts).sort((a, b) => a.call - b.call);
      const small = checkKey(minimal, opts);
      const prefix = small.deepest.order.map((id) => describeOp(minimal[id]!));
      const description = [
        `key ${JSON.stringify(key)}: not linearizable; a minimal failing sub-history (${minimal.length} of ${ops.length} ops):`,
        ...minimal.map((h) => `  ${describeOp(h)}`),
        `longest linearizable prefix (${prefix.length} ops), ending in state ${small.deepest.state === null ? 'absent' : JSON.stringify(small.deepest.state)}:`,
        ...prefix.map((d) => `  ${d}`),
      ].join('\n');
      return { ok: false, key, ops: minimal, description, steps };
    }
  }
  return { ok: true, steps };
}
