/**
 * A streaming CSV parser for Bulk API 2.0 results (docs/salesforce.md#bulk-job-states-and-results):
 * rows come out as the bytes arrive, so a page of any size is never held whole in memory.
 *
 * RFC 4180 as Salesforce writes it: a field holding the delimiter, a quote or a line break is
 * double-quoted with inner quotes doubled; lines end with LF or CRLF; an empty field is null (the
 * caller decides what null means).
 */

/** Parses `chunks` into rows; each yielded array holds the rows completed by one chunk (possibly none). */
export async function* csvRowBatches(
  chunks: AsyncIterable<Uint8Array | string>,
  delimiter = ',',
): AsyncGenerator<string[][]> {
  const parser = new CsvParser(delimiter);
  const decoder = new TextDecoder('utf-8', { fatal: false });
  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    const rows = parser.push(text);
    if (rows.length > 0) yield rows;
  }
  const rows = parser.push(decoder.decode());
  const last = parser.end();
  if (last) rows.push(last);
  if (rows.length > 0) yield rows;
}

/** Incremental CSV state machine: `push` text, collect complete rows, `end` flushes the last one. */
export class CsvParser {
  #field = '';
  #row: string[] = [];
  #inQuotes = false;
  /** A quote seen inside a quoted field: the next char decides (`""` or end of quotes). */
  #quotePending = false;
  /** Anything seen for the current row (an empty last line is no row). */
  #rowStarted = false;
  #pendingCR = false;

  constructor(private readonly delimiter: string) {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r')
      throw new Error(`CSV delimiter must be one character other than a quote or line break: ${delimiter}`);
  }

  push(text: string): string[][] {
    const rows: string[][] = [];
    const d = this.delimiter;
    let i = 0;
    const n = text.length;
    while (i < n) {
      if (this.#pendingCR) {
        this.#pendingCR = false;
        if (text[i] === '\n') {
          i++;
          continue;
        }
      }
      if (this.#quotePending) {
        this.#quotePending = false;
        if (text[i] === '"') {
          this.#field += '"';
          i++;
          continue;
        }
        this.#inQuotes = false;
      }
      if (this.#inQuotes) {
        const quote = text.indexOf('"', i);
        if (quote === -1) {
          this.#field += text.slice(i);
          return rows;
        }
        this.#field += text.slice(i, quote);
        this.#quotePending = true;
        i = quote + 1;
        continue;
      }
      const c = text[i];
      if (c === '"') {
        this.#inQuotes = true;
        this.#rowStarted = true;
        i++;
      } else if (c === d) {
        this.#row.push(this.#field);
        this.#field = '';
        this.#rowStarted = true;
        i++;
      } else if (c === '\n' || c === '\r') {
        if (this.#rowStarted || this.#field !== '') {
          this.#row.push(this.#field);
          rows.push(this.#row);
        }
        this.#row = [];
        this.#field = '';
        this.#rowStarted = false;
        this.#pendingCR = c === '\r';
        i++;
      } else {
        // Plain run up to the next special character: one slice instead of char-by-char appends.
        let j = i + 1;
        while (j < n) {
          const x = text[j];
          if (x === d || x === '\n' || x === '\r' || x === '"') break;
          j++;
        }
        this.#field += text.slice(i, j);
        this.#rowStarted = true;
        i = j;
      }
    }
    return rows;
  }

  /** The last row when the text did not end with a line break; throws on an unterminated quote. */
  end(): string[] | undefined {
    if (this.#inQuotes && !this.#quotePending) throw new Error('CSV ends inside a quoted field');
    if (!this.#rowStarted && this.#field === '') return undefined;
    const row = [...this.#row, this.#field];
    this.#row = [];
    this.#field = '';
    this.#rowStarted = false;
    this.#inQuotes = false;
    this.#quotePending = false;
    return row;
  }
}
