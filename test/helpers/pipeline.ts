/** The simulated Communications Mining plus a sandbox org with the integration already authorised. */
import { startCommunicationsMining, type SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import type { SalesforceOrgOptions } from '@sf-cm-bridge/sandbox/org';
import { startBridgeHarness, type BridgeHarness } from './bridge.ts';
import { authorise } from './oauth.ts';

export interface AuthorisedPipeline {
  harness: BridgeHarness;
  cm: SimulatedCommunicationsMining;
  close(): Promise<void>;
}

export async function startAuthorisedPipeline(options: {
  objects: string;
  cmToken: string;
  basePath?: string;
  org?: Partial<SalesforceOrgOptions>;
  /** Stream over the org's Pub/Sub API instead of CometD. */
  pubsub?: boolean;
}): Promise<AuthorisedPipeline> {
  const cm = await startCommunicationsMining({
    basePath: options.basePath ?? '/org/tenant/reinfer_',
    tokens: [options.cmToken],
    sources: [{ project: 'acme', name: 'emails' }],
  });
  const harness = await startBridgeHarness({
    cmUrl: cm.url,
    cmToken: options.cmToken,
    objects: options.objects,
    ...(options.org ? { org: options.org } : {}),
    ...(options.pubsub ? { pubsub: true } : {}),
  });
  await authorise(harness.context);
  return {
    harness,
    cm,
    async close() {
      await harness.close();
      await cm.close();
    },
  };
}
