/** The streaming CSV parser of Bulk API 2.0 results (src/salesforce/bulk/csv-rows.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvParser, csvRowBatches } from '../../src/salesforce/bulk/csv-rows.ts';

async function parse(chunks: Array<string | Uint8Array>, delimiter = ','): Promise<string[][]> {
  const rows: string[][] = [];
  async function* source() {
    yield* chunks;
  }
  for await (const batch of csvRowBatches(source(), delimiter)) rows.push(...batch);
  return rows;
}

/** What Salesforce writes: quoted when the value holds the delimiter, a quote or a line break. */
function write(rows: string[][], delimiter = ',', newline = '\n'): string {
  const cell = (v: string) => (v.includes(delimiter) || /["\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  return rows.map((row) => row.map(cell).join(delimiter) + newline).join('');
}

describe('csv rows', () => {
  it('quoted delimiters, doubled quotes, line breaks inside quotes, empty fields, CRLF', async () => {
    const text = 'Id,Subject,Body\r\n001,"a, b","He said ""hi""\nthen left"\r\n002,,\r\n003,"",x';
    expect(await parse([text])).toEqual([
      ['Id', 'Subject', 'Body'],
      ['001', 'a, b', 'He said "hi"\nthen left'],
      ['002', '', ''],
      ['003', '', 'x'],
    ]);
  });

  it('a row split anywhere across chunks, even inside a multi-byte character or a doubled quote', async () => {
    const text = 'Id,Name\n001,"Zoë ""the"" 😀, Ltd"\n002,plain\n';
    const bytes = new TextEncoder().encode(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(await parse([bytes.slice(0, cut), bytes.slice(cut)])).toEqual([
        ['Id', 'Name'],
        ['001', 'Zoë "the" 😀, Ltd'],
        ['002', 'plain'],
      ]);
    }
  });

  it('round-trips whatever Salesforce writes, in any chunking and with any delimiter', async () => {
    const value = fc.string({ unit: fc.constantFrom('a', 'é', ',', '|', '"', '\n', '\r', ' ', '😀'), maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(value, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom(',', '|', '\t'),
        fc.constantFrom('\n', '\r\n'),
        fc.array(fc.nat(), { maxLength: 4 }),
        async (rows, delimiter, newline, cuts) => {
          const text = write(rows, delimiter, newline);
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...points].map((start, i) => text.slice(start, [...points, text.length][i]));
          expect(await parse(chunks, delimiter)).toEqual(rows);
        },
      ),
    );
  });

  it('an unterminated quote is an error, not a silent row', () => {
    const parser = new CsvParser(',');
    parser.push('Id\n"001');
    expect(() => parser.end()).toThrow(/inside a quoted field/);
  });
});
