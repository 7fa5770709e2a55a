/**
 * The sandbox: a simulated Salesforce org and a simulated Communications Mining, started together.
 * Used by `sf-cm-bridge sandbox`, by `sf-cm-bridge demo` and by integration tests. The org and
 * Communications Mining on their own are the package's `./org` and `./cm` entry points.
 */
import { startCommunicationsMining, type SimulatedCommunicationsMining } from './cm/index.ts';
import { DEMO } from './demo.ts';
import { startActivity, type ActivityGenerator } from './org/activity.ts';
import { startSalesforceOrg, type SalesforceOrgOptions, type SimulatedSalesforceOrg } from './org/index.ts';

export { DEMO } from './demo.ts';

export interface SandboxOptions {
  host?: string;
  /** Port of the org; Communications Mining listens on the next one. 0 picks free ports. @defaultValue 0 */
  port?: number;
  /** Simulated email/case changes per minute (0: none). @defaultValue 0 */
  activityPerMinute?: number;
  /** Callback URLs the demo Connected App accepts. @defaultValue the demo bridge's callback */
  redirectUris?: string[];
  /** Extra org options (tests: short token TTLs, small pages…). */
  org?: Partial<SalesforceOrgOptions>;
}

export interface Sandbox {
  org: SimulatedSalesforceOrg;
  cm: SimulatedCommunicationsMining;
  activity: ActivityGenerator | undefined;
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const org = await startSalesforceOrg({
    host,
    port,
    connectedApps: [
      {
        clientId: DEMO.clientId,
        clientSecret: DEMO.clientSecret,
        redirectUris: options.redirectUris ?? [DEMO.redirectUri],
      },
    ],
    ...options.org,
  });
  let cm: SimulatedCommunicationsMining;
  try {
    cm = await startCommunicationsMining({
      host,
      port: port === 0 ? 0 : port + 1,
      basePath: DEMO.cmBasePath,
      tokens: [DEMO.cmToken],
      sources: [{ project: DEMO.cmProject, name: DEMO.cmSource }],
    });
  } catch (error) {
    await org.close();
    throw error;
  }
  const rate = options.activityPerMinute ?? 0;
  const activity = rate > 0 ? startActivity(org.store, { ratePerMinute: rate }) : undefined;
  return {
    org,
    cm,
    activity,
    async close() {
      activity?.stop();
      await Promise.all([cm.close(), org.close()]);
    },
  };
}
