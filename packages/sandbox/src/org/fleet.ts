/**
 * Several simulated orgs side by side, as Salesforce serves many customers: each org is its own My
 * Domain host (its own port here), with its own org id, integration user, Connected App, records,
 * change events and tokens. Logging in at an org's URL returns that org's `instance_url` and an
 * identity URL naming that org, and a token of one org is refused by every other
 * (docs/salesforce.md#oauth-20-web-server-flow). Record ids carry a pod of their own per org, so no
 * two orgs ever hand out the same id.
 *
 * `startSalesforceOrg()` stays the single org the tests mostly use; this is for tests and benchmarks
 * with many integrations (`npm run bench:tenants`).
 */
import type { ConnectedAppConfig, OrgUser } from './oauth.ts';
import { createIdGenerator } from './ids.ts';
import { startSalesforceOrg, type SalesforceOrgOptions, type SimulatedSalesforceOrg } from './server.ts';

/** Who one org of a fleet is: derived from its index, so a test can name it before it starts. */
export interface FleetOrgIdentity {
  index: number;
  orgId: string;
  /** The org's integration user (the one auto-approve logs in as). */
  user: OrgUser;
  /** The org's own Connected App: its consumer key and secret are known to this org only. */
  connectedApp: ConnectedAppConfig;
  /** 2-char pod of the org's record ids. */
  pod: string;
}

export interface SalesforceOrgFleetOptions extends Omit<SalesforceOrgOptions, 'users' | 'connectedApps' | 'idPod'> {
  count: number;
  /** Callback URLs every org's Connected App accepts. */
  redirectUris: string[];
  /** Orgs started at once (each is an HTTP server). @defaultValue 20 */
  concurrency?: number;
}

export interface SimulatedSalesforceOrgFleet {
  orgs: Array<{ identity: FleetOrgIdentity; org: SimulatedSalesforceOrg }>;
  close(): Promise<void>;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Pods `Fa`…: apart from the single org's default `5f`. */
const FIRST_POD = 15 * 62 + 36;

/** Org `index` of a fleet whose Connected Apps accept `redirectUris`. */
export function fleetOrgIdentity(index: number, redirectUris: string[]): FleetOrgIdentity {
  const podNumber = FIRST_POD + index;
  if (!Number.isInteger(index) || index < 0 || podNumber >= 62 * 62) throw new Error(`no fleet org ${index}`);
  const pod = BASE62.charAt(Math.floor(podNumber / 62)) + BASE62.charAt(podNumber % 62);
  const newId = createIdGenerator({ pod, start: 1_000_000 });
  const orgId = newId('00D');
  const name = `org${String(index).padStart(3, '0')}`;
  return {
    index,
    orgId,
    pod,
    user: {
      id: newId('005'),
      username: `integration@${name}.sandbox.example.com`,
      password: `${name}-password`,
      orgId,
      displayName: `Integration User ${name}`,
      email: `integration@${name}.sandbox.example.com`,
    },
    connectedApp: {
      clientId: `3MVG9Fleet${name}ConsumerKey`,
      clientSecret: `${name}-consumer-secret`,
      redirectUris,
    },
  };
}

export async function startSalesforceOrgFleet(
  options: SalesforceOrgFleetOptions,
): Promise<SimulatedSalesforceOrgFleet> {
  const { count, redirectUris, concurrency = 20, ...orgOptions } = options;
  const orgs: SimulatedSalesforceOrgFleet['orgs'] = [];
  const close = async () => {
    await Promise.all(orgs.map(({ org }) => org.close()));
  };
  try {
    for (let first = 0; first < count; first += concurrency) {
      const indexes = Array.from({ length: Math.min(concurrency, count - first) }, (_, i) => first + i);
      const started = await Promise.allSettled(
        indexes.map(async (index) => {
          const identity = fleetOrgIdentity(index, redirectUris);
          const org = await startSalesforceOrg({
            ...orgOptions,
            users: [identity.user],
            connectedApps: [identity.connectedApp],
            idPod: identity.pod,
          });
          orgs.push({ identity, org });
        }),
      );
      const failed = started.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    }
  } catch (error) {
    await close();
    throw error;
  }
  orgs.sort((a, b) => a.identity.index - b.identity.index);
  return { orgs, close };
}
