/**
 * `sf-cm-bridge demo`: the sandbox plus every role against it, configured by `config/demo.yaml`.
 * Three ports in a row (bridge, simulated org, simulated Communications Mining), checked before
 * anything starts; a fresh key prefix state on every run, because the sandbox org is new every run
 * (docs/runtime.md, "The demo").
 */
import { createServer } from 'node:net';
import { BridgeError, UsageError } from '../errors.ts';
import { EXIT, type Command } from './command.ts';
import { DEMO_ORG_PORT, intOption, loadBridge, loadSandbox } from './sandbox.ts';

const CONFIG_FILE = 'config/demo.yaml';
const DEFAULT_PREFIX = 'sfcm-demo';

/** A port of the demo is taken: one line that says what to do. */
export class DemoPortInUseError extends BridgeError {
  readonly code = 'BRIDGE_ERR_PORT_IN_USE';

  constructor(port: number) {
    super(
      `port ${port} is in use (another demo or sandbox?): pick free ports with \`sf-cm-bridge demo --port N\` (the bridge on N, the sandbox on N+1 and N+2)`,
    );
  }
}

function isAddressInUse(error: unknown): error is NodeJS.ErrnoException & { port?: number } {
  return (error as NodeJS.ErrnoException | null)?.code === 'EADDRINUSE';
}

/** Resolves when `host:port` can be listened on, rejects with {@link DemoPortInUseError} when not. */
async function assertPortFree(host: string, port: number): Promise<void> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error) => reject(isAddressInUse(error) ? new DemoPortInUseError(port) : error));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/**
 * `--port N` moves every port: `config/demo.yaml` reads them from the environment. A demo on other
 * ports gets its own key prefix too, so two demos on one Redis never share state.
 */
function applyPortOption(port: number | undefined): void {
  if (port === undefined) return;
  process.env.PORT = String(port);
  process.env.SANDBOX_PORT = String(port + 1);
  process.env.SANDBOX_CM_PORT = String(port + 2);
  process.env.DEMO_PREFIX ??= `${DEFAULT_PREFIX}-${port}`;
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'the sandbox plus the bridge against it, with config/demo.yaml',
  usage: 'sf-cm-bridge demo [--port N] [--activity RATE]',
  help: [
    'Starts the sandbox and every bridge role, configured by config/demo.yaml, and prints the URL to',
    'open to authorise the demo integration. Needs a Redis (REDIS_URL, default redis://127.0.0.1:6379).',
    'Every run starts clean: the sandbox org is new, so the demo first deletes what an earlier run left',
    'under its key prefix ("sfcm-demo", or "sfcm-demo-N" with --port N; DEMO_PREFIX overrides).',
    '',
    'Options:',
    `  --port N          the bridge on N, the simulated org on N+1, Communications Mining on N+2`,
    `                    (default ${DEMO_ORG_PORT - 1}, ${DEMO_ORG_PORT}, ${DEMO_ORG_PORT + 1})`,
    '  --activity RATE   simulated email/case changes per minute (default 12)',
  ].join('\n'),
  options: { port: { type: 'string' }, activity: { type: 'string' } },
  async run({ values }) {
    const activityPerMinute = intOption(values.activity, 'activity', 12, 0, 60_000);
    applyPortOption(values.port === undefined ? undefined : intOption(values.port, 'port', 0, 1, 65533));
    const bridge = await loadBridge();
    const config = bridge.loadConfigFile(CONFIG_FILE);
    const integration = config.integrations[0];
    if (!integration) throw new UsageError(`${CONFIG_FILE} declares no integration`);
    const orgPort = Number(new URL(integration.salesforce.loginUrl).port);
    await assertPortFree(config.server.host, config.server.port);
    await assertPortFree('127.0.0.1', orgPort);
    await assertPortFree('127.0.0.1', orgPort + 1);

    const sandboxPackage = await loadSandbox('demo');
    if (!sandboxPackage) return EXIT.usage;
    const { assertRedisReachable, createRedis, deleteKeysUnder } = await loadRedisTools();
    await assertRedisReachable(config.redis);
    const redis = createRedis(config.redis);
    try {
      await deleteKeysUnder(redis, config.redis.prefix);
    } finally {
      await redis.quit().catch(() => redis.disconnect());
    }

    const logger = bridge.createLogger({ base: { role: 'demo' } });
    const shutdown = new bridge.Shutdown(logger);
    try {
      const sandbox = await sandboxPackage.startSandbox({
        port: orgPort,
        activityPerMinute,
        redirectUris: [`${config.server.publicUrl}/external/salesforce/oauth2/callback`],
        org: { autoApprove: false },
      });
      shutdown.onShutdown('sandbox', () => sandbox.close());
      const authenticate = `${config.server.publicUrl}/integrations/${integration.project}/${integration.name}/oauth2/authenticate`;
      process.stdout.write(
        [
          'sf-cm-bridge demo',
          `  1. Authorise: open ${authenticate}`,
          `     sign in to the bridge with the admin token ${config.server.adminToken}`,
          '     then to the simulated Salesforce as integration@sandbox.example.com / sandbox, and Allow.',
          `  2. Status:    ${config.server.publicUrl}/`,
          `  Sandbox org:  ${sandbox.org.url}   Communications Mining: ${sandbox.cm.url}`,
          `  Simulated activity: ${activityPerMinute} changes per minute. Key prefix: ${config.redis.prefix}.`,
          'Press Ctrl-C to stop. The bridge logs follow.',
          '',
        ].join('\n'),
      );
      await bridge.startRoles(bridge.ROLE_NAMES, CONFIG_FILE, shutdown);
    } catch (error) {
      await shutdown.run('start failed');
      if (isAddressInUse(error)) throw new DemoPortInUseError(error.port ?? config.server.port);
      throw error;
    }
    return bridge.untilSignal(shutdown);
  },
};

async function loadRedisTools() {
  const [{ assertRedisReachable, createRedis }, { deleteKeysUnder }] = await Promise.all([
    import('../store/redis.ts'),
    import('../store/prefix-reset.ts'),
  ]);
  return { assertRedisReachable, createRedis, deleteKeysUnder };
}
