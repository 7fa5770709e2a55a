/**
 * What the status page and the admin API show about each integration. One function builds it so the
 * page and the JSON can never disagree. Only non-secret fields are read: the token record itself is
 * never decrypted here.
 */
import type { BridgeConfig, IntegrationConfig } from '../config/index.ts';
import type { AuthStatus, TokenStore } from '../salesforce/token-store.ts';

export interface ObjectView {
  name: string;
  mode: 'cdc' | 'poll';
  /** Filled by the subscriber and reconciliation once they run. */
  lastEventAt?: string;
  lastReconcileAt?: string;
  /** Changes waiting in the queue for this object. */
  backlog: number;
  error?: string;
}

export interface IntegrationView {
  project: string;
  name: string;
  auth: AuthStatus;
  objects: ObjectView[];
}

export async function integrationView(integration: IntegrationConfig, tokens: TokenStore): Promise<IntegrationView> {
  const auth = await tokens.status(integration.key);
  return {
    project: integration.project,
    name: integration.name,
    auth,
    objects: integration.objects.map((object) => ({ name: object.name, mode: object.mode, backlog: 0 })),
  };
}

export function integrationViews(config: BridgeConfig, tokens: TokenStore): Promise<IntegrationView[]> {
  return Promise.all(config.integrations.map((integration) => integrationView(integration, tokens)));
}

export function findIntegration(config: BridgeConfig, project: string, name: string): IntegrationConfig | undefined {
  return config.integrations.find((i) => i.project === project && i.name === name);
}

/** `/integrations/<project>/<name>/oauth2/authenticate` */
export function authenticatePath(integration: { project: string; name: string }): string {
  return `/integrations/${encodeURIComponent(integration.project)}/${encodeURIComponent(integration.name)}/oauth2/authenticate`;
}
