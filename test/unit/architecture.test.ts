/**
 * The folder layout is the architecture: an import may only point down the layers. This reads
 * every source file and checks each relative import against the table in docs/architecture.md.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/** Which top-level parts each part may import (values); `type` = type-only imports allowed too. */
const ALLOWED: Record<string, { values: string[]; types?: string[] }> = {
  cli: { values: ['node.ts', 'config', 'util', 'bench', 'devcluster', 'version.ts'], types: ['ring', 'store', 'metrics'] },
  bench: { values: ['s3', 'devcluster', 'config', 'util', 'version.ts'] },
  devcluster: { values: ['config', 'util'] },
  'node.ts': { values: ['*'] },
  'version.ts': { values: [] },
  s3: { values: ['replication', 'util'], types: ['config', 'metrics', 'ring', 'store'] },
  admin: { values: ['cluster', 'replication', 'antientropy', 'ring', 'util'], types: ['config', 'metrics', 'store'] },
  replication: { values: ['cluster', 'rpc', 'ring', 'store', 'util'], types: ['metrics'] },
  antientropy: { values: ['cluster', 'rpc', 'ring', 'store', 'util'], types: ['metrics'] },
  cluster: { values: ['rpc', 'ring', 'store', 'util'], types: ['metrics'] },
  rpc: { values: ['util'], types: ['store', 'config', 'metrics'] },
  ring: { values: ['util'] },
  store: { values: ['util'], types: ['metrics'] },
  metrics: { values: [] },
  config: { values: ['util'] },
  util: { values: [] },
};

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
