/**
 * `sf-cm-bridge backfill <project>/<integration> [--object X] [--since ISO]`: put existing records
 * into the change queue (the workers push them). Resumable: run it again after a crash and
 * it continues from each object's checkpoint. A progress bar with rate and ETA on a terminal, log
 * lines otherwise. Above `backfill.bulkAbove` records an object is read with a Bulk API 2.0 query
 * job instead of REST paging. What it does is in backfill-run.ts, loaded only when it runs.
 */
import { CONFIG_HELP, CONFIG_OPTION, type Command } from './command.ts';

export const backfillCommand: Command = {
  name: 'backfill',
  summary: 'push existing records (initial load), resumable',
  usage: 'sf-cm-bridge backfill <project>/<integration> [--object X] [--since ISO] [--config FILE]',
  help: [
    'Queues the records of every object of the integration (or one) for the workers to fetch and push.',
    'Unchanged comments are not pushed again. Interrupted (Ctrl-C, crash)? Run the same command again: it',
    "continues from each object's checkpoint. Run a worker (or `all`) to push.",
    'Counts the records first (SOQL COUNT()): above backfill.bulkAbove (default 50,000) an object is read',
    'with one Bulk API 2.0 query job, page by page; otherwise with REST query paging in SystemModstamp order.',
    "A failed or aborted bulk job stops the command (exit 1) with Salesforce's message; running it again",
    'creates a new job and keeps what was already queued.',
    "Waits while the Salesforce API usage is above the governor's threshold (80 % of the daily allocation).",
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
    const { parseBackfillArgs, runBackfillCommand } = await import('./backfill-run.ts');
    return runBackfillCommand(values, parseBackfillArgs(values, positionals));
  },
};
