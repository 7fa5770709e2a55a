/**
 * Whether an integration's pushes are paused because Communications Mining refused the bridge
 * (401/403: credentials; 404: no such project or source). Kept in Redis, so every worker process
 * stops pushing at once, the status page and `/metrics` show it, and a probe in any process
 * lifts it (docs/errors.md, "Target refused").
 */
import type { RedisClient } from './redis.ts';
import { integrationKeys } from './keys.ts';

export interface TargetPauseState {
  state: 'paused';
  /** What CM answered, in words an admin can act on (never the token). */
  reason: string;
  /** When the pause began (ISO). */
  since: string;
}

export class TargetPauseStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /** Pause (or keep paused, with the latest reason); `since` stays the first refusal's time. */
  async pause(integration: string, reason: string, now = Date.now()): Promise<void> {
    const key = integrationKeys(this.prefix, integration).targetPause();
    await this.redis.multi().hsetnx(key, 'since', new Date(now).toISOString()).hset(key, 'reason', reason).exec();
  }

  async read(integration: string): Promise<TargetPauseState | undefined> {
    const { reason, since } = await this.redis.hgetall(integrationKeys(this.prefix, integration).targetPause());
    return reason && since ? { state: 'paused', reason, since } : undefined;
  }

  /** Resume pushes. Returns whether it was paused. */
  async resume(integration: string): Promise<boolean> {
    return (await this.redis.del(integrationKeys(this.prefix, integration).targetPause())) === 1;
  }

  /** Whether this caller may probe now: one probe per interval across every process. */
  async claimProbe(integration: string, intervalMs: number): Promise<boolean> {
    return (
      (await this.redis.set(
        integrationKeys(this.prefix, integration).targetProbeLock(),
        '1',
        'PX',
        intervalMs,
        'NX',
      )) === 'OK'
    );
  }
}
