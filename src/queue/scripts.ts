/**
 * Typed wrappers of the bridge's Lua scripts (`src/queue/lua/<name>-<numKeys>.lua`).
 * Scripts are registered per connection with ioredis' `defineCommand` (EVALSHA with EVAL fallback).
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

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
function command(redis: Redis, name: string, numberOfKeys?: number): ScriptRunner {
  const commandName = `sfcm_${name.replaceAll('-', '_')}`;
  const target = redis as unknown as Record<string, ScriptRunner | undefined>;
  if (!target[commandName]) redis.defineCommand(commandName, { ...(numberOfKeys === undefined ? {} : { numberOfKeys }), lua: load(name) });
  const run = target[commandName];
  if (!run) throw new Error(`script ${name} could not be registered`);
  return run.bind(redis);
}

/** Delete `lockKey` only if it still holds `owner`. */
export async function releaseLock(redis: Redis, lockKey: string, owner: string): Promise<boolean> {
  return (await command(redis, 'release-lock-1', 1)(lockKey, owner)) === 1;
}

/** Set `key` to `replacement` only if it still equals `expected`. */
export async function compareAndSet(redis: Redis, key: string, expected: string, replacement: string): Promise<boolean> {
  return (await command(redis, 'compare-and-set-1', 1)(key, expected, replacement)) === 1;
}

/** Move a channel's replay position forward to `replayId` (never backwards). */
export async function advanceReplay(redis: Redis, replayKey: string, channel: string, replayId: number): Promise<boolean> {
  return (await command(redis, 'advance-replay-1', 1)(replayKey, channel, replayId)) === 1;
}

/** Take each lock that is free; returns, per key, whether we hold it now. */
export async function lockRecords(redis: Redis, lockKeys: readonly string[], owner: string, ttlMs: number): Promise<boolean[]> {
  if (lockKeys.length === 0) return [];
  const result = (await command(redis, 'lock-records-n')(lockKeys.length, ...lockKeys, owner, ttlMs)) as number[];
  return result.map((taken) => taken === 1);
}

/** Release the locks among `lockKeys` that `owner` still holds. */
export async function releaseRecordLocks(redis: Redis, lockKeys: readonly string[], owner: string): Promise<number> {
  if (lockKeys.length === 0) return 0;
  return (await command(redis, 'release-locks-n')(lockKeys.length, ...lockKeys, owner)) as number;
}

/** Extend the lifetime of the locks among `lockKeys` that `owner` still holds. */
export async function extendRecordLocks(redis: Redis, lockKeys: readonly string[], owner: string, ttlMs: number): Promise<number> {
  if (lockKeys.length === 0) return 0;
  return (await command(redis, 'extend-locks-n')(lockKeys.length, ...lockKeys, owner, ttlMs)) as number;
}
