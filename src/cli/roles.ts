/** The role commands (`api`, later `subscriber`, `worker`, `all`): one process per role or several. */
import { ROLE_NAMES, type RoleName } from '../roles/names.ts';
import { CONFIG_HELP, CONFIG_OPTION, configPath, type Command } from './command.ts';

function roleCommand(name: RoleName | 'all', summary: string, help: string): Command {
  const roles: readonly RoleName[] = name === 'all' ? ROLE_NAMES : [name];
  return {
    name,
    summary,
    usage: `sf-cm-bridge ${name} [--config FILE]`,
    help: [
      help,
      '',
      'Stops gracefully on SIGTERM/SIGINT. Logs JSON lines (pretty on a terminal); LOG_LEVEL sets the level.',
      '',
      'Options:',
      CONFIG_HELP,
    ].join('\n'),
    options: CONFIG_OPTION,
    async run({ values }) {
      // Loaded here, not at the top: the command list and `--help` never load the roles.
      const { startRoles, untilSignal } = await import('../roles/run.ts');
      const running = await startRoles(roles, configPath(values));
      return untilSignal(running.shutdown);
    },
  };
}

export const apiCommand = roleCommand(
  'api',
  'HTTP server: OAuth authorisation, status page, admin API, health',
  "Serves the admin's one-time Salesforce authorisation (/integrations/<project>/<name>/oauth2/authenticate),\nthe status page (/), the admin API (/api), /healthz and /readyz on server.host:server.port.",
);

export const workerCommand = roleCommand(
  'worker',
  'workers: fetch changed records in bulk, convert them to comments, push them',
  'Takes change jobs from the queue of every integration, fetches the records in bulk, converts them\nto Communications Mining comments and pushes them in batches; deletes delete. Stateless: run as many\nworker processes as you like.',
);

export const subscriberCommand = roleCommand(
  'subscriber',
  'Change Data Capture subscriptions (CometD) for every authorised integration',
  'Streams the CDC channels of every `mode: cdc` object of every authorised integration into the change\nqueue, with durable replay positions. One subscriber is active per integration across all replicas\n(a lease in Redis); others stand by and take over.',
);

export const allCommand = roleCommand(
  'all',
  'every role in one process (api + subscriber + worker): the small-deployment default',
  'Runs the api, subscriber and worker roles in one process.',
);
