/** A bridge wired to a sandbox org, for integration tests: real Redis, real HTTP, the real app. */
import type { Logger } from 'pino';
import { loadConfigText, type BridgeConfig } from '../../src/config/index.ts';
import { createLogger, SecretScrubber } from '../../src/logging.ts';
import { createContext, type BridgeContext } from '../../src/roles/context.ts';
import {
  startSalesforceOrg,
  type AppPolicies,
  type SalesforceOrgOptions,
  type SimulatedSalesforceOrg,
} from '@sf-cm-bridge/sandbox/org';
import { VALID_KEY } from './config-text.ts';
import { testRedis, type TestRedis } from './redis.ts';

export const PUBLIC_URL = 'http://127.0.0.1:8080';
export const CLIENT_ID = '3MVG9TestBridgeConsumerKey';
export const CLIENT_SECRET = 'test-consumer-secret-123';
export const ADMIN_TOKEN = 'q9nH9NoISFw3riYpDUAakuuyUKt0vRYgPCQHBz2I';

export interface BridgeHarness {
  org: SimulatedSalesforceOrg;
  config: BridgeConfig;
  context: BridgeContext;
  redis: TestRedis;
  /** Every log line written, to assert that no secret leaks. */
  logLines: string[];
  logger: Logger;
  /** Another process's view: a second context on its own Redis connection. */
  secondContext(): BridgeContext;
  close(): Promise<void>;
}

export interface BridgeConfigOptions {
  pkce?: boolean;
  /** Communications Mining base URL and token (default: an unreachable placeholder). */
  cmUrl?: string;
  cmToken?: string;
  /** YAML of `objects:` entries, indented by 6 spaces. */
  objects?: string;
  /** Public URL of the bridge (default PUBLIC_URL). */
  publicUrl?: string;
  /** Extra `server:` lines, each indented by 2 spaces. */
  server?: string;
  /** Where Redis is: the `redis:` lines other than `prefix`, each indented by 2 spaces (default: the test Redis). */
  redis?: string;
  /** `salesforce.transport` and, for pubsub, the org's `pubsubUrl` (default: cometd). */
  transport?: { kind: 'cometd' } | { kind: 'pubsub'; url: string };
}

export const DEFAULT_OBJECTS_YAML = `      EmailMessage:
        comment: { body: TextBody }`;

export function bridgeConfigYaml(orgUrl: string, prefix: string, options: BridgeConfigOptions = {}): string {
  return `
redis:
${options.redis ?? '  url: redis://127.0.0.1:6379'}
  prefix: "${prefix}"
server:
  publicUrl: ${options.publicUrl ?? PUBLIC_URL}
  adminToken: ${ADMIN_TOKEN}
${options.server ?? ''}
secrets:
  encryptionKey: ${VALID_KEY}
integrations:
  - project: acme
    name: emails
    salesforce:
      loginUrl: ${orgUrl}
      clientId: ${CLIENT_ID}
      clientSecret: ${CLIENT_SECRET}
      pkce: ${options.pkce === false ? 'false' : 'true'}
${options.transport?.kind === 'pubsub' ? `      transport: pubsub\n      pubsubUrl: "${options.transport.url}"` : ''}
    target: { url: "${options.cmUrl ?? 'http://127.0.0.1:9/reinfer_'}", token: ${options.cmToken ?? 'cm-token-value'}, project: acme, source: emails }
    objects:
${options.objects ?? DEFAULT_OBJECTS_YAML}
`;
}

export async function startBridgeHarness(
  options: BridgeConfigOptions & {
    org?: Partial<SalesforceOrgOptions>;
    oauthStateTtlMs?: number;
    rotateRefreshTokens?: boolean;
    /** External Client App policies of the org's app (default: open). */
    policies?: AppPolicies;
    /** Stream over the org's Pub/Sub API instead of CometD. */
    pubsub?: boolean;
  } = {},
): Promise<BridgeHarness> {
  const org = await startSalesforceOrg({
    autoApprove: true,
    connectedApps: [
      {
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        redirectUris: [`${PUBLIC_URL}/external/salesforce/oauth2/callback`],
        rotateRefreshTokens: options.rotateRefreshTokens ?? false,
        ...(options.policies ? { policies: options.policies } : {}),
      },
    ],
    ...options.org,
  });
  const redis = testRedis();
  const config = loadConfigText(
    bridgeConfigYaml(org.url, redis.prefix, {
      ...options,
      ...(options.pubsub ? { transport: { kind: 'pubsub', url: org.pubsubUrl } } : {}),
    }),
    'test.yaml',
    {},
  );
  const logLines: string[] = [];
  const scrubber = new SecretScrubber();
  const logger = createLogger({
    destination: { write: (line: string) => void logLines.push(line) },
    scrubber,
    level: 'debug',
  });
  const contexts: BridgeContext[] = [];
  const make = (connection = redis.redis) => {
    const context = createContext({
      config,
      logger,
      redis: connection,
      scrubber,
      ...(options.oauthStateTtlMs ? { oauthStateTtlMs: options.oauthStateTtlMs } : {}),
    });
    contexts.push(context);
    return context;
  };
  return {
    org,
    config,
    context: make(),
    redis,
    logLines,
    logger,
    secondContext: () => make(redis.connect()),
    async close() {
      await Promise.all(contexts.map((context) => context.close()));
      await redis.cleanup();
      await org.close();
    },
  };
}
