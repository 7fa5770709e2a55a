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

/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
const FIRST_RFC3339_MS = -62_167_219_200_000;
const LAST_RFC3339_MS = 253_402_300_799_999;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

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
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (day > (month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number))) return undefined; // 2024-02-30
  if (year >= 100) return Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0–99 to 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
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
  // Years outside 0000–9999 come out as ±YYYYYY, which is not RFC 3339.
  return millis >= FIRST_RFC3339_MS && millis <= LAST_RFC3339_MS ? new Date(millis).toISOString() : undefined;
}

/** A date-only value as ISO 8601 `YYYY-MM-DD`, validated; undefined when not a calendar date. */
export function toIsoDate(text: string): string | undefined {
  const m = DATE.exec(text.trim());
  if (!m) return undefined;
  return utcMillis(Number(m[1]), Number(m[2]), Number(m[3])) === undefined ? undefined : m[0];
}
