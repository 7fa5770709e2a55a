/**
 * `sf-cm-bridge backfill <project>/<integration> [--object X] [--since ISO]`: put existing records
 * into the change queue (the workers fetch and push them). Resumable: run it again after a crash and
 * it continues from each object's checkpoint. A progress bar with rate and ETA on a terminal, log
 * lines otherwise. What it does is in backfill-run.ts, loaded only when it runs.
 */
import { parseDuration } from '../config/duration.ts';
import { UsageError } from '../errors.ts';
import { CONFIG_HELP, CONFIG_OPTION, type Command } from './command.ts';

export const backfillCommand: Command = {
  name: 'backfill',
  summary: 'push existing records (initial load), resumable',
  usage: 'sf-cm-bridge backfill <project>/<integration> [--object X] [--since ISO] [--config FILE]',
  help: [
    'Queues the records of every object of the integration (or one) for the workers to fetch and push,',
    'in SystemModstamp order. Unchanged comments are not pushed again. Interrupted (Ctrl-C, crash)? Run the',
    "same command again: it continues from each object's checkpoint. Run a worker (or `all`) to push.",
    "Waits while the Salesforce API usage is above the governor's threshold (80 % of the daily allocation).",
    'Uses REST query paging (Bulk API 2.0 is not implemented).',
    '',
    'Options:',
    '  --object, -o NAME    only this object (default: every object of the integration)',
    '  --since, -s WHEN     only records changed since WHEN: an ISO 8601 time (2024-05-01T00:00:00Z)',
    '                       or a duration back from now (30d, 12h); default: every record',
    CONFIG_HELP,
  ].join('\n'),
  options: { ...CONFIG_OPTION, object: { type: 'string', short: 'o' }, since: { type: 'string', short: 's' } },
  positionals: true,
  async run({ values, positionals }) {
    const request = parseBackfillArgs(values, positionals);
    const { runBackfillCommand } = await import('./backfill-run.ts');
    return runBackfillCommand(values, request);
  },
};

export interface BackfillRequest {
  integration: string;
  object?: string;
  since: number | null;
}

/** Positionals and options → what to backfill; a UsageError (exit 2) says what is wrong. */
export function parseBackfillArgs(
  values: Record<string, string | boolean | undefined>,
  positionals: string[],
  now = Date.now(),
): BackfillRequest {
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0
        ? 'name the integration: <project>/<integration>'
        : `one integration only, got ${positionals.join(' ')}`,
    );
  const integration = positionals[0] ?? '';
  if (!/^[^/\s]+\/[^/\s]+$/.test(integration)) throw new UsageError(`"${integration}" is not <project>/<integration>`);
  const object = typeof values.object === 'string' ? values.object : undefined;
  return { integration, ...(object !== undefined ? { object } : {}), since: parseSince(values.since, now) };
}

function parseSince(value: string | boolean | undefined, now: number): number | null {
  if (value === undefined || value === false) return null;
  if (typeof value !== 'string' || value === '')
    throw new UsageError('--since needs a value: an ISO 8601 time or a duration such as 30d');
  const duration = parseDuration(value);
  if (duration !== undefined && duration > 0) return now - duration;
  // Date-only or date-time with a zone: anything else is ambiguous about the time zone.
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new UsageError(`--since "${value}" is neither an ISO 8601 time (2024-05-01T00:00:00Z) nor a duration (30d)`);
}
