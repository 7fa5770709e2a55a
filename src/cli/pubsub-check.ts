/**
 * `check --online` for `salesforce.transport: pubsub`: the Pub/Sub endpoint answers with the
 * integration's token, and every `mode: cdc` object's topic exists and is subscribable by the
 * integration user (GetTopic, docs/salesforce.md#pubsub-service-and-messages).
 */
import type { IntegrationConfig } from '../config/index.ts';
import { PubsubCallError } from '../salesforce/pubsub/errors.ts';
import { PubsubClient } from '../salesforce/pubsub/pubsub-client.ts';
import type { SalesforceSession } from '../salesforce/session.ts';

export async function checkPubsubTopics(
  integration: IntegrationConfig,
  session: SalesforceSession,
  problem: (where: string, message: string) => void,
  lines: string[],
): Promise<void> {
  const endpoint = integration.salesforce.pubsubUrl;
  const client = new PubsubClient({
    url: endpoint,
    accessToken: session.accessToken,
    instanceUrl: session.instanceUrl,
    tenantId: session.orgId,
  });
  try {
    for (const object of integration.objects.filter((o) => o.mode === 'cdc')) {
      const at = `objects.${object.name}`;
      try {
        const topic = await client.getTopic(object.channel);
        if (topic.canSubscribe) lines.push(`  ${object.name}  Pub/Sub topic ${object.channel} subscribable`);
        else
          problem(
            at,
            `Pub/Sub topic ${object.channel}: the integration user may not subscribe (enable Change Data Capture for ${object.name}, grant View All Data)`,
          );
      } catch (error) {
        const unreachable = error instanceof PubsubCallError && error.kind === 'transient';
        problem(
          unreachable ? 'salesforce.pubsubUrl' : at,
          unreachable
            ? `Pub/Sub endpoint ${endpoint} does not answer: ${error.message}`
            : `Pub/Sub topic ${object.channel}: ${error instanceof Error ? error.message : String(error)}`,
        );
        if (unreachable) return;
      }
    }
  } finally {
    client.close();
  }
}
