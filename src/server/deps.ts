/** What the Fastify app is built from: every dependency passed in, no module-level clients. */
import type { BridgeContext } from '../roles/context.ts';

/** The app is built from a role context (everything but its lifecycle) plus the process's readiness. */
export type AppDeps = Omit<BridgeContext, 'close'> & {
  /** Extra readiness checks of the process (e.g. "role started"); Redis and config are always checked. */
  readiness?: () => Record<string, boolean>;
};

/** `<publicUrl>/external/salesforce/oauth2/callback`: must match the app's Callback URL byte for byte. */
export function redirectUri(publicUrl: string): string {
  return `${publicUrl}/external/salesforce/oauth2/callback`;
}
