/**
 * Request limits per client address of the routes anyone can reach (docs/security.md, "Limits").
 * Kept in each api process's memory: a Redis counter would itself be a write per anonymous request.
 * With N replicas a client gets N times the budget, which still stops a flood from one client.
 */
export const WEB_RATE_LIMIT = { max: 30, timeWindow: 60_000 } as const;
export const LOGIN_RATE_LIMIT = { max: 20, timeWindow: 60_000 } as const;

/** Route options that apply a limit. */
export const limited = (limit: { max: number; timeWindow: number }) => ({ config: { rateLimit: limit } });
