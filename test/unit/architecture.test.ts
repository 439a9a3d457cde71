/**
 * The folder layout is the architecture: an import may only point down the layers. This reads
 * every source file and checks each relative import against the table in docs/architecture.md,
 * and checks the table itself: every row names a part that exists, and its "may import" edges
 * have no cycle (so "down" means something).
 */
import { describe, it, expect } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/** Which top-level parts each part may import (values); `type` = type-only imports allowed too. */
const ALLOWED: Record<string, { values: string[]; types?: string[] }> = {
  cli: { values: ['node.ts', 'config', 'util', 'bench', 'devcluster', 'version.ts'], types: ['admin', 'ring', 'store', 'metrics'] },
  bench: { values: ['s3', 'devcluster', 'config', 'util', 'version.ts'] },
  devcluster: { values: ['config', 'util'] },
  'node.ts': { values: ['*'] },
  'version.ts': { values: [] },
  s3: { values: ['model', 'replication', 'util'], types: ['config', 'metrics', 'ring', 'store'] },
  admin: { values: ['model', 'cluster', 'replication', 'antientropy', 'ring', 'util'], types: ['config', 'metrics', 'store'] },
  model: { values: ['replication', 'cluster', 'ring', 'util'], types: ['store', 'metrics'] },
  replication: { values: ['cluster', 'consensus', 'rpc', 'ring', 'store', 'util'], types: ['metrics'] },
  antientropy: { values: ['cluster', 'rpc', 'ring', 'store', 'util'], types: ['metrics'] },
  handoff: { values: ['antientropy', 'cluster', 'rpc', 'ring', 'store', 'util'], types: ['metrics'] },
  cluster: { values: ['rpc', 'ring', 'store', 'util'], types: ['metrics'] },
  rpc: { values: ['util'], types: ['store', 'config', 'metrics'] },
  consensus: { values: ['util'] },
  ring: { values: ['util'] },
  store: { values: ['util'], types: ['metrics'] },
  metrics: { values: [] },
  config: { values: ['util'] },
  util: { values: [] },
};

/** Cycles the table knowingly allows, each as the sorted pair of its parts (none: bench and cli share the devcluster kit below them). */
const KNOWN_CYCLES: string[] = [];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function partOf(file: string): string {
  return relative(SRC, file).split('/')[0]!;
}

const IMPORT = /^(import|export)\s+(type\s+)?[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm;

describe('layering', () => {
  const violations: string[] = [];
  for (const file of files(SRC)) {
    const from = partOf(file);
    const rule = ALLOWED[from];
    if (!rule) {
      violations.push(`${relative(SRC, file)}: folder "${from}" has no row in the layer table`);
      continue;
    }
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = partOf(resolve(dirname(file), m[3]!.replace(/\.js$/, '.ts')));
      if (target === from || rule.values.includes('*') || rule.values.includes(target)) continue;
      if (m[2] && rule.types?.includes(target)) continue;
      violations.push(`${relative(SRC, file)} imports ${m[2] ? 'types from ' : ''}${target}`);
    }
  }

  it('every import points down the layers', () => {
    expect(violations).toEqual([]);
  });
});

/** The parts a row may import, values and types alike; `*` (the composition root) is left out: nothing lists it back but the cli above it. */
function edges(part: string): string[] {
  const rule = ALLOWED[part]!;
  return [...rule.values, ...(rule.types ?? [])].filter((t) => t !== '*' && t !== part);
}

/** Every cycle of the table, each named once by its parts in order from the smallest. */
function cycles(): string[] {
  const found = new Set<string>();
  const walk = (path: string[]): void => {
    for (const next of edges(path[path.length - 1]!)) {
      if (!(next in ALLOWED)) continue;
      const at = path.indexOf(next);
      if (at >= 0) {
        const loop = path.slice(at);
        const start = loop.indexOf([...loop].sort()[0]!);
        found.add([...loop.slice(start), ...loop.slice(0, start)].join(' ↔ '));
      } else walk([...path, next]);
    }
  };
  for (const part of Object.keys(ALLOWED)) walk([part]);
  return [...found].sort();
}

describe('the layer table', () => {
  it('has a row only for parts that exist, and names only parts that have a row', () => {
    const missing = Object.keys(ALLOWED).filter((part) => !existsSync(join(SRC, part)));
    const unknown = Object.keys(ALLOWED).flatMap((part) =>
      edges(part)
        .filter((t) => !(t in ALLOWED))
        .map((t) => `${part} → ${t}`),
    );
    expect({ missing, unknown }).toEqual({ missing: [], unknown: [] });
  });

  it('has no cycle but the known ones', () => {
    expect(cycles()).toEqual(KNOWN_CYCLES);
  });

  it('finds a cycle that is planted in it', () => {
    ALLOWED['util']!.values.push('store');
    try {
      expect(cycles()).toContain('store ↔ util');
    } finally {
      ALLOWED['util']!.values.pop();
    }
  });
});
