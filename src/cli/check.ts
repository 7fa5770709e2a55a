/** `sf-cm-bridge check`: validate the config offline and print what it declares. */
import { formatDuration, loadConfigFile, type BridgeConfig } from '../config/index.ts';
import { CONFIG_HELP, CONFIG_OPTION, configPath, EXIT, type Command } from './command.ts';

/** Values from config/example.yaml that must never reach production. */
const EXAMPLE_SECRETS = ['example-admin-token-change-me', 'ZXhhbXBsZS1rZXktY2hhbmdlLW1lLTMyLWJ5dGVzISE='];

export const checkCommand: Command = {
  name: 'check',
  summary: 'validate a config file and print a summary',
  usage: 'sf-cm-bridge check [--config FILE]',
  help: [
    'Validates the config file offline: YAML, ${VAR} substitution, every key and value, object and',
    'field names, mappings. Exits 0 with a summary, or 2 listing every problem as',
    '"file: path.in.config: what is wrong (line N)".',
    '',
    'Options:',
    CONFIG_HELP,
  ].join('\n'),
  options: CONFIG_OPTION,
  async run({ values }) {
    const config = loadConfigFile(configPath(values));
    process.stdout.write(summarize(config));
    return EXIT.ok;
  },
};

export function summarize(config: BridgeConfig): string {
  const lines = [`${config.file}: OK — ${config.integrations.length} integration(s)`];
  for (const integration of config.integrations) {
    lines.push(
      '',
      `${integration.key}`,
      `  salesforce  ${integration.salesforce.loginUrl} (API ${integration.salesforce.apiVersion}${integration.salesforce.pkce ? ', PKCE' : ''})`,
      `  target      ${integration.target.url} → ${integration.target.project}/${integration.target.source}`,
      `  reconcile   every ${formatDuration(integration.reconcile.every)}, lookback ${formatDuration(integration.reconcile.lookback)}`,
    );
    for (const object of integration.objects) {
      const source = object.mode === 'cdc' ? `cdc ${object.channel}` : 'poll';
      const extras = [object.where ? `where ${object.where}` : '', object.backfill ? `backfill ${formatDuration(object.backfill)}` : '']
        .filter(Boolean)
        .join(', ');
      lines.push(`  ${object.name}  (${source}${extras ? `; ${extras}` : ''})`, `    fields: ${object.fields.join(', ')}`);
    }
  }
  const warnings = exampleSecretWarnings(config);
  if (warnings.length > 0) lines.push('', ...warnings.map((w) => `warning: ${w}`));
  return `${lines.join('\n')}\n`;
}

function exampleSecretWarnings(config: BridgeConfig): string[] {
  const out: string[] = [];
  if (EXAMPLE_SECRETS.includes(config.server.adminToken)) out.push('server.adminToken is the example value: set BRIDGE_ADMIN_TOKEN');
  if (EXAMPLE_SECRETS.includes(config.secrets.encryptionKey)) {
    out.push('secrets.encryptionKey is the example key: set BRIDGE_ENCRYPTION_KEY (openssl rand -base64 32)');
  }
  return out;
}
