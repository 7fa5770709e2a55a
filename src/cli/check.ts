/** `sf-cm-bridge check`: validate the config offline and print what it declares (check-run.ts). */
import { CONFIG_HELP, CONFIG_OPTION, type Command } from './command.ts';

export const checkCommand: Command = {
  name: 'check',
  summary: 'validate a config file and print a summary',
  usage: 'sf-cm-bridge check [--config FILE] [--online]',
  help: [
    'Validates the config file offline: YAML, ${VAR} substitution, every key and value, object and',
    'field names, mappings. Exits 0 with a summary, or 2 listing every problem as',
    '"file: path.in.config: what is wrong (line N)".',
    '',
    'With --online it also checks, for every integration, that the Communications Mining source answers',
    'with the token, that the Salesforce login host answers and knows the app (consumer key, callback URL),',
    'and (once the integration is authorised; tokens are read from Redis) that every',
    'object and mapped field exists and is readable in the org and that `where` is valid SOQL there.',
    'Exits 1 when an online check fails.',
    '',
    'Options:',
    CONFIG_HELP,
    '  --online            also check against Salesforce and Communications Mining',
  ].join('\n'),
  options: { ...CONFIG_OPTION, online: { type: 'boolean' } },
  async run({ values }) {
    const { runCheck } = await import('./check-run.ts');
    return runCheck(values);
  },
};
