/**
 * Typed wrappers of the bridge's Lua scripts (`src/store/lua/<name>-<numKeys>.lua`).
 * Scripts are registered per connection with ioredis' `defineCommand` (EVALSHA with EVAL fallback).
 */
import { readFileSync } from 'node:fs';
import type { RedisClient } from './redis.ts';

const scriptCache = new Map<string, string>();

function load(name: string): string {
  let source = scriptCache.get(name);
  if (source === undefined) {
    source = readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
    scriptCache.set(name, source);
  }
  return source;
}

type ScriptRunner = (...args: (string | number)[]) => Promise<unknown>;

/** `numberOfKeys` undefined: a variadic script (`-n`), called with the key count first. */
function command(redis: RedisClient, name: string, numberOfKeys?: number): ScriptRunner {
  const commandName = `sfcm_${name.replaceAll('-', '_')}`;
  const target = redis as unknown as Record<string, ScriptRunner | undefined>;
  if (!target[commandName])
    redis.defineCommand(commandName, { ...(numberOfKeys === undefined ? {} : { numberOfKeys }), lua: load(name) });
  const run = target[commandName];
  if (!run) throw new Error(`script ${name} could not be registered`);
  return run.bind(redis);
}

/** Delete `lockKey` only if it still holds `owner`. */
export async function releaseLock(redis: RedisClient, lockKey: string, owner: string): Promise<boolean> {
  return (await command(redis, 'release-lock-1', 1)(lockKey, owner)) === 1;
}

/** Set `key` to `replacement` only if it still equals `expected`. */
export async function compareAndSet(
  redis: RedisClient,
  key: string,
  expected: string,
  replacement: string,
): Promise<boolean> {
  return (await command(redis, 'compare-and-set-1', 1)(key, expected, replacement)) === 1;
}

/** Move a channel's replay position forward to `replayId` (never backwards). */
export async function advanceReplay(
  redis: RedisClient,
  replayKey: string,
  channel: string,
  replayId: number,
): Promise<boolean> {
  return (await command(redis, 'advance-replay-1', 1)(replayKey, channel, replayId)) === 1;
}

/** Lock the free records of an object and read their pushed versions: per id, [taken, stored version]. */
export async function lockAndRead(
  redis: RedisClient,
  locksKey: string,
  versionsKey: string,
  owner: string,
  ttlMs: number,
  ids: readonly string[],
): Promise<Array<[boolean, string | null]>> {
  if (ids.length === 0) return [];
  const flat = (await command(redis, 'lock-and-read-2', 2)(locksKey, versionsKey, owner, ttlMs, ...ids)) as Array<
    number | string | null
  >;
  return ids.map((_, i) => [flat[2 * i] === 1, (flat[2 * i + 1] as string | null | undefined) ?? null]);
}

/** Write register entries and release the locks we still hold; returns the written ids whose lock was no longer ours. */
export async function writeAndRelease(
  redis: RedisClient,
  locksKey: string,
  versionsKey: string,
  owner: string,
  writes: ReadonlyArray<readonly [string, string]>,
  releaseOnly: readonly string[],
): Promise<string[]> {
  if (writes.length === 0 && releaseOnly.length === 0) return [];
  return (await command(redis, 'write-and-release-2', 2)(
    locksKey,
    versionsKey,
    owner,
    writes.length,
    ...writes.flat(),
    ...releaseOnly,
  )) as string[];
}

/** Extend the locks among `ids` that `owner` still holds. */
export async function extendHeld(
  redis: RedisClient,
  locksKey: string,
  owner: string,
  ttlMs: number,
  ids: readonly string[],
): Promise<number> {
  if (ids.length === 0) return 0;
  return (await command(redis, 'extend-held-1', 1)(locksKey, owner, ttlMs, ...ids)) as number;
}

/**
 * Record `replica` as live in a membership (`liveKey`: last heartbeats, `joinedKey`: join times;
 * not seen for `ttlMs`: gone) and return the live replicas, oldest first.
 */
export async function replicaHeartbeat(
  redis: RedisClient,
  liveKey: string,
  joinedKey: string,
  replica: string,
  ttlMs: number,
): Promise<string[]> {
  return (await command(redis, 'replica-heartbeat-2', 2)(liveKey, joinedKey, replica, ttlMs)) as string[];
}

/** BullMQ's keys of one queue that `changesWaiting` reads (all in the integration's slot: docs/redis.md). */
export interface WaitingQueueKeys {
  wait: string;
  paused: string;
  prioritized: string;
  /** `<prefix>:bull:<queue>:`, the prefix of each job's hash. */
  jobPrefix: string;
}

/** Changes (not jobs) in a change queue's jobs that no worker has taken yet: one round trip, no job decoded. */
export async function changesWaiting(redis: RedisClient, keys: WaitingQueueKeys): Promise<number> {
  return (await command(redis, 'changes-waiting-3', 3)(
    keys.wait,
    keys.paused,
    keys.prioritized,
    keys.jobPrefix,
  )) as number;
}
