import { describe, expect, it } from 'vitest';
import { formatTable } from '../../../src/cli/table.js';

describe('formatTable', () => {
  it('pads every column to its widest cell, two spaces apart, without trailing spaces', () => {
    expect(
      formatTable([
        ['ID', 'NAME', 'X'],
        ['RK0123', 'alice', 'no'],
        ['R', 'bo', ''],
      ]),
    ).toEqual(['ID      NAME   X', 'RK0123  alice  no', 'R       bo']);
  });
  it('indents each line and is empty for no rows', () => {
    expect(formatTable([['a', 'b']], '  ')).toEqual(['  a  b']);
    expect(formatTable([])).toEqual([]);
  });
});
