/**
 * What a failed ping says about its peer. A crashed process leaves its port closed, so the
 * connect is refused at once (ECONNREFUSED): strong, fast evidence, worth acting on within one
 * confirmation. A hung (SIGSTOPped) one still has its sockets and its listen backlog: its pings
 * are accepted and never answered, so only a timeout tells. Pure: no I/O.
 */

/** `refused`: the peer's port is closed; `timeout`: no answer in time; `failed`: anything else. */
export type PingFailure = 'refused' | 'timeout' | 'failed';

/** The `code`s found on an error, its `details.transportCode`, its causes and (for AggregateError) its first inner error. */
function codesOf(err: unknown, depth = 0): string[] {
  if (typeof err !== 'object' || err === null || depth > 5) return [];
  const o = err as { code?: unknown; name?: unknown; details?: { transportCode?: unknown }; cause?: unknown };
  const own = [o.code, o.details?.transportCode, o.name].filter((c): c is string => typeof c === 'string');
  const inner = err instanceof AggregateError ? codesOf(err.errors[0], depth + 1) : [];
  return [...own, ...inner, ...codesOf(o.cause, depth + 1)];
}

/** Classifies a ping's error (`timedOut`: the detector's own deadline passed). */
export function classifyPingFailure(err: unknown, timedOut: boolean): PingFailure {
  if (timedOut) return 'timeout';
  const codes = codesOf(err);
  if (codes.includes('ECONNREFUSED')) return 'refused';
  if (codes.some((c) => c === 'TimeoutError' || c === 'RpcTimeout' || c === 'UND_ERR_HEADERS_TIMEOUT' || c === 'UND_ERR_CONNECT_TIMEOUT')) return 'timeout';
  return 'failed';
}
