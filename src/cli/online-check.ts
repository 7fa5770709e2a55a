/**
 * `check --online`: the config against the real systems. For each integration, before any
 * authorisation: the login host answers and knows the app (oauth-probe.ts). For each authorised one: every
 * object exists and is readable (describe), every mapped field and relationship path resolves,
 * `where` is valid SOQL for the org, and the Communications Mining source answers with the token;
 * with `transport: pubsub`, the Pub/Sub endpoint answers and every topic is subscribable.
 */
import type { Logger } from 'pino';
import type { BridgeConfig, IntegrationConfig, ObjectConfig } from '../config/index.ts';
import { fieldsOfMapping } from '../config/fields.ts';
import { BridgeError } from '../errors.ts';
import { createContext } from '../roles/context.ts';
import { DescribeCache } from '../salesforce/describe-cache.ts';
import { resolveFieldPath, type ObjectDescribe } from '../salesforce/describe.ts';
import { NotAuthorizedError } from '../salesforce/errors.ts';
import { SalesforceApiError, type SalesforceRestClient } from '../salesforce/rest-client.ts';
import { createCmClient } from '../sink/client.ts';
import { probeAuthorization } from './oauth-probe.ts';
import { checkPubsubTopics } from './pubsub-check.ts';
import type { RedisClient } from '../store/redis.ts';

export interface OnlineProblem {
  integration: string;
  where: string;
  message: string;
}

export interface OnlineReport {
  lines: string[];
  problems: OnlineProblem[];
}

export async function checkOnline(config: BridgeConfig, redis: RedisClient, logger: Logger): Promise<OnlineReport> {
  const context = createContext({ config, logger, redis });
  const report: OnlineReport = { lines: [], problems: [] };
  try {
    for (const integration of config.integrations)
      await checkIntegration(context, integration, config.server.publicUrl, report);
  } finally {
    await context.close();
  }
  return report;
}

async function checkIntegration(
  context: ReturnType<typeof createContext>,
  integration: IntegrationConfig,
  publicUrl: string,
  report: OnlineReport,
): Promise<void> {
  const { tokens } = context;
  const problem = (where: string, message: string) =>
    report.problems.push({ integration: integration.key, where, message });
  report.lines.push(integration.key);

  const cm = createCmClient({ baseUrl: integration.target.url, token: integration.target.token, timeoutMs: 30_000 });
  try {
    const source = await cm.getSource(integration.target.project, integration.target.source);
    report.lines.push(
      `  target      ${integration.target.project}/${integration.target.source}: reachable (source id ${source.id})`,
    );
  } catch (error) {
    problem(
      'target',
      `Communications Mining source ${integration.target.project}/${integration.target.source}: ${describeError(error)}`,
    );
  }

  const probe = await probeAuthorization(integration, publicUrl);
  if (probe.ok) report.lines.push(`  ${probe.line}`);
  else problem('salesforce', probe.message);

  const parts = context.integrations.get(integration.key);
  if (!parts) throw new Error(`no parts for integration ${integration.key}`);
  const { rest, describes } = parts;
  let session;
  try {
    session = await tokens.session(integration.key);
  } catch (error) {
    if (error instanceof NotAuthorizedError) {
      problem('salesforce', `${error.message}: ${error.hint ?? ''} (the object checks need an authorised integration)`);
      return;
    }
    throw error;
  }
  // The same describe walk the workers use: the object, then every object along its relationship paths.
  for (const object of integration.objects) await checkObject(object, rest, describes, problem, report);
  if (integration.salesforce.transport === 'pubsub')
    await checkPubsubTopics(integration, session, problem, report.lines);
}

async function checkObject(
  object: ObjectConfig,
  rest: SalesforceRestClient,
  describes: DescribeCache,
  problem: (where: string, message: string) => void,
  report: OnlineReport,
): Promise<void> {
  const at = `objects.${object.name}`;
  const lookup = await describes.ensure(object.name, object.fields).catch(() => undefined);
  const root = lookup?.(object.name);
  if (!lookup || !root) {
    problem(at, `${object.name} does not exist or the integration user cannot describe it`);
    return;
  }
  const missing = [...new Set([...fieldsOfMapping(object.comment), ...object.fields])].filter(
    (path) => resolveFieldPath(object.name, path, lookup) === undefined && !isPolymorphicPath(root, path),
  );
  for (const path of missing) problem(`${at}.comment`, `"${path}" is not a readable field of ${object.name}`);

  try {
    const where = object.where ? ` WHERE ${object.where}` : '';
    await rest.query(`SELECT ${object.fields.join(', ')} FROM ${object.name}${where} LIMIT 1`);
    report.lines.push(
      `  ${object.name}  readable; ${object.fields.length} fields${object.where ? ', where clause valid' : ''}`,
    );
  } catch (error) {
    problem(object.where ? `${at}.where` : at, `test query failed: ${describeError(error)}`);
  }
}

/** A path through a polymorphic relationship resolves only per record: accept it when its first hop exists. */
function isPolymorphicPath(root: ObjectDescribe, path: string): boolean {
  const [first, ...rest] = path.split('.');
  if (rest.length === 0 || first === undefined) return false;
  const reference = root.fields.find((f) => f.relationshipName?.toLowerCase() === first.toLowerCase());
  return (reference?.referenceTo?.length ?? 0) > 1;
}

function describeError(error: unknown): string {
  if (error instanceof SalesforceApiError) return `${error.errorCode}: ${error.message}`;
  if (error instanceof BridgeError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
