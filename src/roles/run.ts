/**
 * Running roles as a process: config → logger → Redis (fail fast with a hint) → context → roles,
 * then wait for SIGTERM/SIGINT and close in reverse order.
 */
import { loadConfigFile, secretValues, type BridgeConfig } from '../config/index.ts';
import { createLogger, SecretScrubber, type Logger } from '../logging.ts';
import { assertRedisReachable, createRedis } from '../store/redis.ts';
import { Shutdown } from '../shutdown.ts';
import { processReportsKey, ProcessReporter } from '../metrics/process-reports.ts';
import { createContext, type BridgeContext } from './context.ts';
import { HeapGovernor, softLimitFromEnv } from './heap-governor.ts';
import { ROLE_NAMES, type RoleName } from './names.ts';

export { ROLE_NAMES, type RoleName } from './names.ts';

/** The `role` label of a process's own metrics: the command it runs. */
function roleLabel(roles: readonly RoleName[]): string {
  return roles.length === ROLE_NAMES.length ? 'all' : roles.join('+');
}

/**
 * Each role's code is loaded only by a process that runs it: a worker never loads the HTTP server,
 * which keeps an idle process small (docs/runtime.md, "Build").
 */
const ROLES: Record<RoleName, (context: BridgeContext, shutdown: Shutdown) => Promise<unknown>> = {
  api: async (context, shutdown) => (await import('./api.ts')).startApiRole(context, shutdown),
  subscriber: async (context, shutdown) => (await import('./subscriber.ts')).startSubscriberRole(context, shutdown),
  worker: async (context, shutdown) => (await import('./worker.ts')).startWorkerRole(context, shutdown),
};

export interface RunningProcess {
  config: BridgeConfig;
  context: BridgeContext;
  logger: Logger;
  shutdown: Shutdown;
}

/** Start `roles` in this process; resolves once they run (the process then lives until a signal). */
export async function startRoles(
  roles: readonly RoleName[],
  configFile: string,
  shutdown?: Shutdown,
): Promise<RunningProcess> {
  const config = loadConfigFile(configFile);
  const scrubber = new SecretScrubber();
  scrubber.add(...secretValues(config));
  const logger = createLogger({ scrubber, base: { process: roles.join('+') } });
  const processShutdown = shutdown ?? new Shutdown(logger);
  // Before anything starts: a SIGTERM while the roles start up (a worker may already be pushing)
  // waits for them to finish starting, then closes every one, instead of killing the process mid-batch.
  processShutdown.installSignalHandlers();
  const startup = (async () => {
    await assertRedisReachable(config.redis);
    const redis = createRedis(config.redis);
    processShutdown.onShutdown('redis', async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
    const context = createContext({ config, logger, redis, scrubber });
    processShutdown.onShutdown('queues', () => context.close());
    for (const role of roles) await ROLES[role](context, processShutdown);
    // Last to start, first to stop: the heartbeat lasts as long as the roles run.
    const reporter = new ProcessReporter(redis, processReportsKey(config.redis.prefix), roleLabel(roles));
    await reporter.start();
    processShutdown.onShutdown('process report', () => reporter.close());
    // Garbage of a burst collected near the live size, not at V8's machine-sized default (heap-governor.ts).
    const softLimit = softLimitFromEnv(process.env.SFCM_MEMORY_SOFT_LIMIT_MB);
    if (softLimit !== undefined) {
      const governor = new HeapGovernor({ softLimitBytes: softLimit });
      governor.start();
      processShutdown.onShutdown('heap governor', async () => governor.stop());
    }
    return { config, context, logger, shutdown: processShutdown };
  })();
  processShutdown.startingUp(startup);
  return startup;
}

/** Keep the process alive until a signal; the signal handler exits. */
export function untilSignal(shutdown: Shutdown): Promise<number> {
  shutdown.installSignalHandlers();
  return new Promise<number>(() => {
    /* resolved never: Shutdown exits the process */
  });
}
