import { vi } from 'vitest';

/** Captured stdout/stderr of code that writes to process.stdout/stderr. */
export interface Captured {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `fn` with stdout and stderr captured (not printed). */
export async function capture<T>(fn: () => Promise<T>): Promise<Captured & { result: T }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write);
  try {
    const result = await fn();
    return { result, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
