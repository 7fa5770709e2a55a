/**
 * One subscriber streaming many integrations bound to several orgs: 20 integrations over 4 sandbox
 * orgs (each org its own host, org id, user and Connected App), 5 integrations per org, each with a
 * source of its own, over each transport. Every change of an org reaches the sources of that org's integrations, and no
 * other source.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCommunicationsMining, type SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import {
  startSalesforceOrgFleet,
  type SimulatedSalesforceOrg,
  type SimulatedSalesforceOrgFleet,
} from '@sf-cm-bridge/sandbox/org';
import { loadConfigText } from '../../src/config/index.ts';
import { createContext, type BridgeContext } from '../../src/roles/context.ts';
import { startSubscriberRole, type SubscriberRole } from '../../src/roles/subscriber.ts';
import { startWorkerRole } from '../../src/roles/worker.ts';
import { buildApp } from '../../src/server/app.ts';
import { Shutdown } from '../../src/shutdown.ts';
import { ADMIN_TOKEN, PUBLIC_URL } from '../helpers/bridge.ts';
import { VALID_KEY } from '../helpers/config-text.ts';
import { adminBrowser, CALLBACK_PATH, salesforceApproves } from '../helpers/oauth.ts';
import { eventually, testRedis, type TestRedis } from '../helpers/redis.ts';
import { CASE_CHANNEL, FAST, PUBSUB_KEEPALIVE_MS, TRANSPORTS, type TestTransport } from './harness.ts';

const ORGS = 4;
const INTEGRATIONS = 20;
const CM_TOKEN = 'cm-many-integrations-token';
const name = (i: number) => `t${String(i).padStart(2, '0')}`;
/** Integration i is bound to org i % ORGS. */
const orgOf = (i: number) => i % ORGS;

function configYaml(
  fleet: SimulatedSalesforceOrgFleet,
  cmUrl: string,
  redis: TestRedis,
  transport: TestTransport,
): string {
  const integrations = Array.from({ length: INTEGRATIONS }, (_, i) => {
    const { identity, org } = fleet.orgs[orgOf(i)] ?? { identity: undefined, org: undefined };
    if (!identity) throw new Error(`no org for integration ${i}`);
    return `  - project: acme
    name: ${name(i)}
    salesforce: { loginUrl: "${org.url}", clientId: ${identity.connectedApp.clientId}, clientSecret: ${identity.connectedApp.clientSecret}${
      transport === 'pubsub' ? `, transport: pubsub, pubsubUrl: "${org.pubsubUrl}"` : ''
    } }
    target: { url: "${cmUrl}", token: ${CM_TOKEN}, project: acme, source: ${name(i)} }
    objects:
      Case:
        comment: { subject: Subject, body: Description }
`;
  });
  return `
redis: { url: "${redis.url}", prefix: "${redis.prefix}" }
server: { publicUrl: ${PUBLIC_URL}, adminToken: ${ADMIN_TOKEN} }
secrets: { encryptionKey: ${VALID_KEY} }
integrations:
${integrations.join('')}`;
}

/** Authorise each integration through the real app, 10 per app instance (its per-address limits). */
async function authoriseAll(context: BridgeContext): Promise<void> {
  for (let first = 0; first < INTEGRATIONS; first += 10) {
    const app = await buildApp(context);
    try {
      const browser = await adminBrowser(app);
      for (let i = first; i < Math.min(INTEGRATIONS, first + 10); i++) {
        const start = await browser.get(`/integrations/acme/${name(i)}/oauth2/authenticate`);
        expect(start.statusCode).toBe(302);
        const callback = await salesforceApproves(String(start.headers.location));
        expect(callback.pathname).toBe(CALLBACK_PATH);
        expect((await browser.get(callback.pathname + callback.search)).statusCode).toBe(200);
      }
    } finally {
      await app.close();
    }
  }
}

describe.each(TRANSPORTS)('one subscriber, 20 integrations over 4 orgs, over %s', (transport) => {
  let fleet: SimulatedSalesforceOrgFleet;
  let cm: SimulatedCommunicationsMining;
  let redis: TestRedis;
  let context: BridgeContext;
  let shutdown: Shutdown;
  let subscriber: SubscriberRole;

  beforeAll(async () => {
    fleet = await startSalesforceOrgFleet({
      count: ORGS,
      redirectUris: [`${PUBLIC_URL}${CALLBACK_PATH}`],
      autoApprove: true,
      cometdTimeoutSeconds: 1,
      pubsubKeepaliveMs: PUBSUB_KEEPALIVE_MS,
    });
    cm = await startCommunicationsMining({
      basePath: '/t/reinfer_',
      tokens: [CM_TOKEN],
      sources: Array.from({ length: INTEGRATIONS }, (_, i) => ({ project: 'acme', name: name(i) })),
    });
    redis = testRedis();
    const config = loadConfigText(configYaml(fleet, cm.url, redis, transport), 'many.yaml', {});
    context = createContext({ config, logger: pino({ level: 'silent' }), redis: redis.redis });
    await authoriseAll(context);
    shutdown = new Shutdown(pino({ level: 'silent' }));
    const workerContext = createContext({ config, logger: pino({ level: 'silent' }), redis: redis.connect() });
    await startWorkerRole(workerContext, shutdown, { sinkRetry: { baseDelayMs: 10, maxDelayMs: 50 } });
    shutdown.onShutdown('worker context', () => workerContext.close());
    subscriber = await startSubscriberRole(context, shutdown, FAST);
  }, 60_000);

  afterAll(async () => {
    await shutdown.run('test over');
    await context.close();
    await redis.cleanup();
    await cm.close();
    await fleet.close();
  });

  it('binds each integration to its own org', async () => {
    for (let i = 0; i < INTEGRATIONS; i++) {
      const status = await context.tokens.store.status(`acme/${name(i)}`);
      expect(status).toMatchObject({ state: 'authorized', org: fleet.orgs[orgOf(i)]?.identity.orgId });
    }
  });

  it("streams every integration: each org's changes reach exactly its integrations' sources", async () => {
    // Every org holds one Case subscription (CometD) or Subscribe call (Pub/Sub) per integration bound
    // to it, all from this one process.
    const caseSubscriptions = (org: SimulatedSalesforceOrg) =>
      transport === 'cometd'
        ? org.streaming.counters().subscriptions.filter((s) => s.channel === CASE_CHANNEL).length
        : (org.pubsub.counters().openStreams[CASE_CHANNEL] ?? 0);
    await eventually(() => fleet.orgs.every(({ org }) => caseSubscriptions(org) === INTEGRATIONS / ORGS), 30_000, 100);
    for (let i = 0; i < INTEGRATIONS; i++)
      expect(subscriber.subscriber.stream(`acme/${name(i)}`)?.state).toBe('streaming');

    const created = fleet.orgs.map(({ org, identity }) =>
      Array.from({ length: 3 }, (_, n) =>
        String(org.store.create('Case', { Subject: `org ${identity.index} case ${n}`, Description: `body ${n}` }).Id),
      ),
    );
    const held = (i: number) =>
      cm.control
        .comments('acme', name(i))
        .map((c) => c.comment.id)
        .sort();
    await eventually(
      () => Array.from({ length: INTEGRATIONS }, (_, i) => held(i).length === 3).every(Boolean),
      45_000,
      200,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${JSON.stringify(Array.from({ length: INTEGRATIONS }, (_, i) => held(i)))}`);
    });
    for (let i = 0; i < INTEGRATIONS; i++) expect(held(i)).toEqual([...(created[orgOf(i)] ?? [])].sort());
  }, 60_000);
});
