/**
 * Salesforce dates and datetimes → RFC 3339. The REST API writes datetimes as
 * `2024-05-20T20:49:32.000+0000` (no colon in the offset, docs/salesforce.md#query-and-queryall), CDC
 * events as `…Z`, and dates as `2024-05-20`. Communications Mining wants RFC 3339 with `Z` or `±hh:mm`
 * (docs/communications-mining.md#comment-fields).
 *
 * Everything is rendered in UTC with milliseconds, so the same instant always renders the same string
 * whatever offset Salesforce used.
 */

const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function utcMillis(
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
  ms = 0,
): number | undefined {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0–99 to 1900–1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  if (date.getUTCDate() !== day) return undefined; // 2024-02-30 rolled over
  return date.getTime();
}

/** Milliseconds since the epoch of a Salesforce datetime or date (a date is midnight UTC), or undefined when not one. */
export function parseSalesforceDateTime(text: string): number | undefined {
  const value = text.trim();
  const dateOnly = DATE.exec(value);
  if (dateOnly) return utcMillis(Number(dateOnly[1]), Number(dateOnly[2]), Number(dateOnly[3]));
  const m = DATETIME.exec(value);
  if (!m) return undefined;
  // Sub-millisecond digits are dropped (Salesforce has none; the CM sandbox accepts any precision).
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const local = utcMillis(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0), ms);
  if (local === undefined) return undefined;
  if (m[8] !== undefined) return local;
  const offsetHours = Number(m[10]);
  const offsetMinutes = Number(m[11]);
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const offset = (offsetHours * 60 + offsetMinutes) * 60_000;
  return m[9] === '+' ? local - offset : local + offset;
}

/** RFC 3339 in UTC with milliseconds (`2024-05-20T20:49:32.000Z`), or undefined when `text` is not a date/datetime. */
export function toRfc3339(text: string): string | undefined {
  const millis = parseSalesforceDateTime(text);
  if (millis === undefined) return undefined;
  const iso = new Date(millis).toISOString();
  // Years outside 0000–9999 come out as ±YYYYYY, which is not RFC 3339.
  return /^\d{4}-/.test(iso) ? iso : undefined;
}

/** A date-only value as ISO 8601 `YYYY-MM-DD`, validated; undefined when not a calendar date. */
export function toIsoDate(text: string): string | undefined {
  const m = DATE.exec(text.trim());
  if (!m) return undefined;
  return utcMillis(Number(m[1]), Number(m[2]), Number(m[3])) === undefined ? undefined : m[0];
}
