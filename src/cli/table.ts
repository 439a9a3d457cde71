/** Plain-text tables for the CLI: columns padded to their widest cell, two spaces apart. */

/** The lines of `rows` (the first is usually the header), each prefixed by `indent`, trailing spaces trimmed. */
export function formatTable(rows: readonly (readonly string[])[], indent = ''): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row) => `${indent}${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd());
}
