import { describe, expect, it } from 'vitest';
import { toCsv } from './csv.ts';

describe('toCsv', () => {
  it('quotes what needs quoting and keeps numbers and empty cells', () => {
    expect(toCsv(['name', 'count'], [['a,b', 3], ['say "hi"', null]])).toBe('name,count\r\n"a,b",3\r\n"say ""hi""",\r\n');
  });
  it('neutralises spreadsheet formulas in text cells', () => {
    expect(toCsv(['name'], [['=HYPERLINK("x")'], ['-1']])).toBe(`name\r\n"'=HYPERLINK(""x"")"\r\n'-1\r\n`);
    expect(toCsv(['n'], [[-1]])).toBe('n\r\n-1\r\n');
  });
});
