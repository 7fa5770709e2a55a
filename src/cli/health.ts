/**
 * `sf-cm-bridge health`: the container health check of every role. Exits 0 when a bridge process on
 * this host (the container or pod) has reported to Redis within the last few seconds, 1 otherwise:
 * a process that hangs, or lost Redis, stops reporting (docs/runtime.md, "Health").
 */
import { ROLE_NAMES } from '../roles/names.ts';
import { UsageError } from '../errors.ts';
import { CONFIG_HELP, CONFIG_OPTION, type Command } from './command.ts';

const ROLES: readonly string[] = [...ROLE_NAMES, 'all'];

export const healthCommand: Command = {
  name: 'health',
  summary: 'exit 0 when a bridge process of this host reports to Redis (container health check)',
  usage: 'sf-cm-bridge health [--role ROLE] [--config FILE]',
  help: [
    'Every bridge process reports its metrics to Redis every 5 s. Exits 0 when a process of this',
    'host (the container or pod: the same host name) has reported within the last 15 s, 1 otherwise,',
    'with one line saying why. Use it as the HEALTHCHECK or liveness probe of the worker and',
    'subscriber roles, which serve no HTTP.',
    '',
    'Options:',
    `  --role ROLE         only a process running this role (${ROLES.join(', ')}); "all" runs every role`,
    CONFIG_HELP,
  ].join('\n'),
  options: { ...CONFIG_OPTION, role: { type: 'string' } },
  async run({ values }) {
    const role = values.role;
    if (role !== undefined && (typeof role !== 'string' || !ROLES.includes(role)))
      throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    const { runHealth } = await import('./health-run.ts');
    return runHealth(values, role);
  },
};
