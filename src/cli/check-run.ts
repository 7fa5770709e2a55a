/**
 * What `sf-cm-bridge check` does when it runs (the command and its help are in check.ts): loaded
 * only then, so the command list and `--help` start without loading the bridge.
 */
import { formatDuration, loadConfigFile, secretValues, type BridgeConfig } from '../config/index.ts';
import { createLogger, SecretScrubber } from '../logging.ts';
import { assertRedisReachable, createRedis } from '../store/redis.ts';
import { configPath, EXIT } from './command.ts';
import { checkOnline } from './online-check.ts';

/** Values from config/example.yaml that must never reach production. */
const EXAMPLE_SECRETS = ['example-Hq4vT9zL2wN7xK3pR8mC5yB1sD6fJ0gA', 'mA3JaxUuntqTj0tvbLtUkoS3hvJ/hO/YIlDg+Kq0kiw='];

export async function runCheck(values: Record<string, string | boolean | undefined>): Promise<number> {
  const config = loadConfigFile(configPath(values));
  process.stdout.write(summarize(config));
  if (values.online !== true) return EXIT.ok;

  const scrubber = new SecretScrubber();
  scrubber.add(...secretValues(config));
  const logger = createLogger({ scrubber, level: 'warn' });
  await assertRedisReachable(config.redis);
  const redis = createRedis(config.redis);
  try {
    const report = await checkOnline(config, redis, logger);
    const out = ['', 'online checks:', ...report.lines.map((line) => `  ${line}`)];
    for (const problem of report.problems)
      out.push(`  problem: ${problem.integration}: ${problem.where}: ${problem.message}`);
    out.push(report.problems.length === 0 ? '  all online checks passed' : `  ${report.problems.length} problem(s)`);
    process.stdout.write(scrubber.scrub(`${out.join('\n')}\n`));
    return report.problems.length === 0 ? EXIT.ok : EXIT.failure;
  } finally {
    redis.disconnect();
  }
}

export function summarize(config: BridgeConfig): string {
  const lines = [`${config.file}: OK — ${config.integrations.length} integration(s)`];
  for (const integration of config.integrations) {
    lines.push(
      '',
      integration.key,
      `  salesforce  ${integration.salesforce.loginUrl} (API ${integration.salesforce.apiVersion}${integration.salesforce.pkce ? ', PKCE' : ''})`,
      `  target      ${integration.target.url} → ${integration.target.project}/${integration.target.source}`,
      `  reconcile   every ${formatDuration(integration.reconcile.every)}, lookback ${formatDuration(integration.reconcile.lookback)}`,
    );
    for (const object of integration.objects) {
      const source = object.mode === 'cdc' ? `cdc ${object.channel}` : 'poll';
      const extras = [
        object.where ? `where ${object.where}` : '',
        object.backfill ? `backfill ${formatDuration(object.backfill)}` : '',
      ]
        .filter(Boolean)
        .join(', ');
      lines.push(
        `  ${object.name}  (${source}${extras ? `; ${extras}` : ''})`,
        `    fields: ${object.fields.join(', ')}`,
      );
    }
  }
  const warnings = exampleSecretWarnings(config);
  if (warnings.length > 0) lines.push('', ...warnings.map((w) => `warning: ${w}`));
  return `${lines.join('\n')}\n`;
}

function exampleSecretWarnings(config: BridgeConfig): string[] {
  const out: string[] = [];
  if (EXAMPLE_SECRETS.includes(config.server.adminToken))
    out.push('server.adminToken is the example value: set BRIDGE_ADMIN_TOKEN');
  if (EXAMPLE_SECRETS.includes(config.secrets.encryptionKey)) {
    out.push('secrets.encryptionKey is the example key: set BRIDGE_ENCRYPTION_KEY (openssl rand -base64 32)');
  }
  for (const path of config.inlineSecrets) {
    out.push(
      `${path} is written in the file: pass it from the environment instead (${path
        .split('.')
        .pop()
        ?.replace(/\[\d+\]$/, '')}: \${SOME_VARIABLE})`,
    );
  }
  return out;
}
