/**
 * What the status page and the admin API show about each integration. One function builds it so the
 * page and the JSON can never disagree. Only non-secret fields are read: the token record itself is
 * never decrypted here.
 */
import { readBackfillCheckpoint, type BackfillCheckpoint } from '../reconcile/backfill.ts';
import type { BridgeConfig, IntegrationConfig } from '../config/index.ts';
import type { RedisClient } from '../store/redis.ts';
import type { ChangeQueue } from '../queue/change-queue.ts';
import type { DeadLetterStore } from '../store/dead-letters.ts';
import { integrationKeys } from '../store/keys.ts';
import type { AuthStatus, TokenStore } from '../auth/token-store.ts';
import { TargetPauseStore, type TargetPauseState } from '../store/target-pause.ts';
import { redirectUri } from '../config/index.ts';
import { explainOAuthError, readmeLink } from './oauth-errors.ts';

/** Why Salesforce refused the refresh, in the admin's words (docs/salesforce-oauth.md). */
export interface AuthErrorView {
  code: string;
  description: string;
  cause: string;
  fix: string;
  /** README section with the steps. */
  help: string;
}

/** The token status as shown: the raw OAuth error replaced by its explanation. */
export type AuthView = Omit<AuthStatus, 'oauthError'> & { error?: AuthErrorView };

export interface ObjectView {
  name: string;
  mode: 'cdc' | 'poll';
  /** Filled by the subscriber and reconciliation once they run. */
  lastEventAt?: string;
  lastReconcileAt?: string;
  /** Seconds from the commit of the last change seen on the channel to now (cdc objects). */
  lagSeconds?: number;
  /** Changes waiting in the queue for this object. */
  backlog: number;
  error?: string;
  /** The last backfill of the object, when one ran: how, how far, and its error (a failed bulk job…). */
  backfill?: BackfillView;
}

export interface BackfillView {
  mode: 'rest' | 'bulk' | 'counting';
  enqueued: number;
  total?: number;
  startedAt: string;
  finishedAt?: string;
  error?: string;
}

export interface IntegrationView {
  project: string;
  name: string;
  auth: AuthView;
  objects: ObjectView[];
  /** Changes waiting for workers (all objects). */
  backlog: number;
  deadLetters: number;
  /** Whether Communications Mining accepts the bridge's pushes, or why they are paused. */
  target: { state: 'ok' } | TargetPauseState;
}

/** Where the views read from: the token status, queues, dead letters and per-object state. */
export interface StatusSources {
  redis: RedisClient;
  config: BridgeConfig;
  tokens: { store: TokenStore };
  queues: ReadonlyMap<string, ChangeQueue>;
  deadLetters: DeadLetterStore;
}

export async function integrationView(
  integration: IntegrationConfig,
  sources: StatusSources,
): Promise<IntegrationView> {
  const keys = integrationKeys(sources.config.redis.prefix, integration.key);
  const [auth, backlog, deadLetters, objectStates, backfills, targetPause] = await Promise.all([
    sources.tokens.store.status(integration.key),
    sources.queues.get(integration.key)?.backlog() ?? Promise.resolve(0),
    sources.deadLetters.count(integration.key),
    Promise.all(integration.objects.map((object) => sources.redis.hgetall(keys.objectState(object.name)))),
    Promise.all(
      integration.objects.map((object) =>
        readBackfillCheckpoint(sources.redis, sources.config.redis.prefix, integration.key, object.name),
      ),
    ),
    new TargetPauseStore(sources.redis, sources.config.redis.prefix).read(integration.key),
  ]);
  return {
    project: integration.project,
    name: integration.name,
    auth: authView(auth, integration, sources.config),
    objects: integration.objects.map((object, index) => {
      const state = objectStates[index] ?? {};
      return {
        name: object.name,
        mode: object.mode,
        ...(state.lastEventAt ? { lastEventAt: state.lastEventAt } : {}),
        ...(state.lastReconcileAt ? { lastReconcileAt: state.lastReconcileAt } : {}),
        ...(state.lastCommitAt && Number.isFinite(Date.parse(state.lastCommitAt))
          ? { lagSeconds: Math.max(0, Math.round((Date.now() - Date.parse(state.lastCommitAt)) / 1000)) }
          : {}),
        // Per-object backlog needs a scan of the queue; the integration total is below.
        backlog: 0,
        ...(state.error ? { error: state.error } : {}),
        ...(backfills[index] ? { backfill: backfillView(backfills[index]) } : {}),
      };
    }),
    backlog,
    deadLetters,
    target: targetPause ?? { state: 'ok' },
  };
}

function backfillView(checkpoint: BackfillCheckpoint): BackfillView {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    mode: checkpoint.mode ?? 'counting',
    enqueued: checkpoint.enqueued,
    ...(checkpoint.total !== undefined ? { total: checkpoint.total } : {}),
    startedAt: iso(checkpoint.startedAt),
    ...(checkpoint.finishedAt !== undefined ? { finishedAt: iso(checkpoint.finishedAt) } : {}),
    ...(checkpoint.lastError !== undefined ? { error: checkpoint.lastError } : {}),
  };
}

function authView(status: AuthStatus, integration: IntegrationConfig, config: BridgeConfig): AuthView {
  const { oauthError, ...rest } = status;
  if (!oauthError || status.state !== 'needs_reauth') return rest;
  const context = {
    stage: 'refresh' as const,
    redirectUri: redirectUri(config.server.publicUrl),
    loginUrl: integration.salesforce.loginUrl,
  };
  const explanation = explainOAuthError(oauthError.code, oauthError.description, context);
  return {
    ...rest,
    error: {
      code: oauthError.code,
      description: oauthError.description,
      cause: explanation.cause,
      fix: explanation.fix,
      help: readmeLink(explanation.anchor),
    },
  };
}

export function integrationViews(sources: StatusSources): Promise<IntegrationView[]> {
  return Promise.all(sources.config.integrations.map((integration) => integrationView(integration, sources)));
}

export function findIntegration(config: BridgeConfig, project: string, name: string): IntegrationConfig | undefined {
  return config.integrations.find((i) => i.project === project && i.name === name);
}

/** `/integrations/<project>/<name>/oauth2/authenticate` */
export function authenticatePath(integration: { project: string; name: string }): string {
  return `/integrations/${encodeURIComponent(integration.project)}/${encodeURIComponent(integration.name)}/oauth2/authenticate`;
}
